"""The gate: the one function every operation on an existing document passes through.

get, update, delete, submit, cancel, explain_access, the per-DocType tools and any later tool that
addresses a document by name call `open_document`; no tool checks document rules on its own. It
loads the document as the caller and applies, in this order:

1. ERPNext's DocType-level permission for the operation (the caller's roles);
2. the profile's rule for the operation;
3. the document, loaded as the caller: missing, or not readable in ERPNext (User Permissions,
   sharing, ownership) → "not found";
4. the profile's Read conditions (the read scope): outside them the document does not exist for
   the agent, whatever the operation → the same "not found", byte for byte;
5. ERPNext's document-level permission for the operation (e.g. write on a document one may read);
6. the operation's own conditions (update: the stored document; delete: Delete conditions; submit /
   cancel: their own, else Update's);
7. approval (check_approval): a call the profile makes wait for a person stops here with
   ApprovalRequired, unless it runs under an approval of exactly this call. Create and update have
   no stored document to open: their writes (server/tools/writes.py, conversions.py) call
   check_approval on the document as ERPNext saved it (totals computed, so "grand_total > 10000"
   means what it says), inside the call's savepoint, which server/app.py rolls back when it raises;
   every path asks this one function.

Steps 1-2 say nothing about any document, so their refusals are no oracle; everything that depends
on the document comes after the read scope, so a hidden document never leaks through a message.

The read scope is asked twice and both must agree: the policy engine evaluates the conditions on the
loaded document, and the backend asks the database with the same conditions as list filters (so a
get, update or delete never reaches a document that list_generic_documents would not show, whatever
the collation thinks of case, accents or trailing spaces).

Pure: no Frappe import. It speaks to the DataBackend interface, so tier 1 runs this very code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from erpnext_mcp.data.backend import DataBackend
from erpnext_mcp.exceptions import ApprovalRequired, NotFound, PermissionDenied

# The ERPNext permission type each profile operation needs.
ERPNEXT_PTYPE = {
	"read": "read",
	"create": "create",
	"update": "write",
	"delete": "delete",
	"submit": "submit",
	"cancel": "cancel",
}


def not_found(doctype: str, name: str) -> NotFound:
	"""The one refusal for a document that does not exist, is not readable, or is outside the scope."""
	return NotFound(f"{doctype} {name} was not found, or you are not allowed to see it.")


@dataclass
class Located:
	"""Where a document stands for the caller (used by open_document; Desk's Test this Profile shows it)."""

	status: str  # "ok", "missing" (or unreadable in ERPNext), "outside_scope"
	document: dict[str, Any] | None = None
	reason: str | None = None  # why it is outside the scope (names the rule; for administrators)
	rule: str | None = None


def locate(backend: DataBackend, policy, doctype: str, name: str, *, lock: bool = False) -> Located:
	"""Steps 3-4: the document as the caller may read it, and whether it is in the read scope."""
	try:
		doc = backend.load_for_update(doctype, name) if lock else backend.get_document(doctype, name)
	except (NotFound, PermissionDenied):
		return Located("missing")
	decision = policy.in_read_scope(doctype, doc)
	if not decision.allowed:
		return Located("outside_scope", doc, decision.reason, decision.rule)
	filters = policy.scope_filters(doctype)
	if filters and not backend.in_scope(doctype, name, filters):
		return Located(
			"outside_scope",
			doc,
			"the database does not match the document against the Read conditions",
			f"{doctype}: read conditions",
		)
	return Located("ok", doc)


def check_approval(
	policy, operation: str, doctype: str, name: str | None, doc: dict[str, Any] | None, *, approved: bool
) -> None:
	"""Step 7: raises ApprovalRequired when the profile makes this call wait for a person and it does not
	run under an approval (the protocol layer checked that the approval is of exactly this call)."""
	if approved:
		return
	decision = policy.approval_needed(operation, doctype, doc)
	if decision is not None:
		raise ApprovalRequired(decision, operation=operation, doctype=doctype, name=name, document=doc)


def open_document(
	backend: DataBackend,
	policy,
	doctype: str,
	name: str,
	operation: str,
	*,
	lock: bool = False,
	approved: bool = False,
) -> dict[str, Any]:
	"""The document `name` as the caller may read it, once every layer allows `operation` on it.

	Raises PermissionDenied (steps 1, 2, 5, 6) or the uniform NotFound (steps 3, 4). `lock` takes the
	row lock for writes, so nothing changes between these checks and the write.
	"""
	ptype = ERPNEXT_PTYPE[operation]
	backend.require_permission(doctype, ptype)
	policy.check_operation(operation, doctype).raise_if_denied()
	found = locate(backend, policy, doctype, name, lock=lock)
	if found.status != "ok":
		error = not_found(doctype, name)
		if found.status == "outside_scope":
			# For the audit record only, never sent: the agent was told "not found" because of a rule.
			error.audit_layer = "read conditions"
			error.audit_rule = found.rule
		raise error
	doc = found.document
	if ptype != "read":
		backend.check_document_permission(doctype, name, ptype)
	if operation in ("delete", "submit", "cancel"):
		policy.check_document(operation, doctype, doc).raise_if_denied()
		check_approval(policy, operation, doctype, name, doc, approved=approved)
	elif operation == "update":
		# The stored document now; the merged one right before the save (policy.check_update again).
		policy.check_update(doctype, doc, doc).raise_if_denied()
	return doc


def may_read_result(backend: DataBackend, policy, doctype: str, name: str, doc: dict[str, Any]) -> bool:
	"""May a write's answer carry the fields of its result? Only what a read of it could carry."""
	if not policy.check_operation("read", doctype).allowed:
		return False
	if not policy.in_read_scope(doctype, doc).allowed:
		return False
	filters = policy.scope_filters(doctype)
	return not filters or backend.in_scope(doctype, name, filters)


__all__ = [
	"ERPNEXT_PTYPE",
	"Located",
	"check_approval",
	"locate",
	"may_read_result",
	"not_found",
	"open_document",
]
