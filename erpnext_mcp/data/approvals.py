"""MCP Approval Request on the site: the one place that stores, decides, expires and notifies.

The app writes these records itself (ignore_permissions, like the audit log): nobody creates or edits
one in Desk. A person decides through `decide` only (api/approvals.py's Approve / Reject buttons),
which checks the approver role, self-approval and the status first. The rules of what may happen
live in policy/approvals.py (pure); this module asks it and writes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import frappe
from frappe.utils import get_url, now_datetime

from erpnext_mcp.policy import approvals as rules
from erpnext_mcp.policy.model import DEFAULT_APPROVER_ROLE

DOCTYPE = "MCP Approval Request"
_STATE_KEY_INFO = b"erpnext_mcp/approvals/request-state/v1"


def url(name: str) -> str:
	"""The Desk page of a request (what the agent shows its user, and the bell links to)."""
	return get_url(f"/app/mcp-approval-request/{name}")


def view(doc) -> rules.ApprovalView:
	return rules.ApprovalView(
		name=doc.name,
		status=doc.status,
		requester=doc.requester,
		tool=doc.tool,
		operation=doc.operation,
		doctype=doc.document_type,
		document_name=doc.document_name or None,
		fingerprint=doc.fingerprint,
		expires_at=doc.expires_at and frappe.utils.get_datetime(doc.expires_at),
		summary=doc.summary or "",
		approver=doc.approver or None,
		decided_at=doc.decided_at and frappe.utils.get_datetime(doc.decided_at),
		note=doc.decision_note or None,
		url=url(doc.name),
	)


def create(
	*,
	requester: str,
	tool: str,
	operation: str,
	doctype: str,
	document_name: str | None,
	arguments: dict[str, Any],
	summary: str,
	profile: str | None,
	rule: str | None,
	approver_role: str | None,
	expiry_minutes: int,
) -> rules.ApprovalView:
	"""A new Pending request, in the call's transaction (it commits with the request), and the bell for
	every approver."""
	doc = frappe.get_doc(
		{
			"doctype": DOCTYPE,
			"status": rules.PENDING,
			"requester": requester,
			"tool": tool,
			"operation": operation,
			"document_type": doctype,
			"document_name": document_name,
			"arguments": json.dumps(rules.call_arguments(arguments), indent=1, sort_keys=True, default=str),
			"fingerprint": rules.fingerprint(tool, arguments),
			"summary": summary,
			"profile": profile if profile and frappe.db.exists("MCP Permission Profile", profile) else None,
			"rule": (rule or "")[:140],
			"approver_role": approver_role or DEFAULT_APPROVER_ROLE,
			"expires_at": now_datetime() + timedelta(minutes=max(int(expiry_minutes or 0), 1)),
		}
	)
	doc.flags.via_approvals = True
	doc.insert(ignore_permissions=True)
	notify(doc)
	return view(doc)


def get(name: str) -> rules.ApprovalView | None:
	if not isinstance(name, str) or not frappe.db.exists(DOCTYPE, name):
		return None
	return view(frappe.get_doc(DOCTYPE, name))


def claim(name: str) -> bool:
	"""Approved → Executed, atomically: the row is locked until the call's transaction ends, so of two
	calls racing with one approval exactly one gets True. Undone with the call if its write fails."""
	row = frappe.db.sql(
		f"select status, expires_at from `tab{DOCTYPE}` where name=%s for update", (name,), as_dict=True
	)
	if (
		not row
		or row[0].status != rules.APPROVED
		or frappe.utils.get_datetime(row[0].expires_at) <= now_datetime()
	):
		return False
	frappe.db.sql(
		f"update `tab{DOCTYPE}` set status=%s, executed_at=%s, modified=%s where name=%s",
		(rules.EXECUTED, now_datetime(), now_datetime(), name),
	)
	return True


def decide(name: str, approve: bool, note: str | None = None) -> rules.ApprovalView:
	"""The session user approves or rejects; refused with a message naming why."""
	if not frappe.db.exists(DOCTYPE, name):
		frappe.throw(frappe._("Approval request {0} does not exist.").format(name), frappe.DoesNotExistError)
	doc = frappe.get_doc(DOCTYPE, name, for_update=True)
	user = frappe.session.user
	refusal = rules.decision_refusal(
		view(doc),
		approver=user,
		approver_roles=set(frappe.get_roles(user)),
		approver_role=doc.approver_role or DEFAULT_APPROVER_ROLE,
		allow_self_approval=bool(frappe.db.get_single_value("MCP Settings", "allow_self_approval")),
		now=now_datetime(),
	)
	if refusal:
		# An overdue request is already Expired for everyone (effective_status); the scheduler stores it.
		frappe.throw(refusal, frappe.PermissionError)
	doc.status = rules.APPROVED if approve else rules.REJECTED
	doc.approver = user
	doc.decided_at = now_datetime()
	doc.decision_note = (note or "").strip()[:1000] or None
	doc.flags.via_approvals = True
	doc.save(ignore_permissions=True)
	from erpnext_mcp import audit

	audit.record_approval_decision(doc)
	return view(doc)


def _expire(name: str) -> None:
	# Only the status changes, so no save: a request whose profile or requester was deleted since
	# (force delete) would fail link validation and stay Pending in the list for ever.
	doc = frappe.get_doc(DOCTYPE, name, for_update=True)
	if doc.status in (rules.PENDING, rules.APPROVED):
		doc.db_set("status", rules.EXPIRED, notify=True)


def expire_overdue() -> int:
	"""Scheduler (every tick; Frappe commits the job): Pending and Approved requests past their expiry
	become Expired. Until then every check already treats them as expired (ApprovalView)."""
	names = frappe.get_all(
		DOCTYPE,
		filters={"status": ["in", [rules.PENDING, rules.APPROVED]], "expires_at": ["<=", now_datetime()]},
		pluck="name",
		limit=500,
	)
	expired = 0
	for name in names:
		try:
			_expire(name)
			expired += 1
		except Exception:
			# One broken row must not keep the others Pending; the next tick tries it again.
			frappe.log_error(title=f"MCP approvals: could not expire {name}")
	return expired


def approvers(role: str) -> list[str]:
	"""Enabled system users with the role (Administrator left out: it is not a person's inbox)."""
	from frappe.utils.user import get_users_with_role

	users = [u for u in get_users_with_role(role or DEFAULT_APPROVER_ROLE) if u != "Administrator"]
	if not users:
		return []
	return frappe.get_all(
		"User", filters={"name": ["in", users], "enabled": 1, "user_type": "System User"}, pluck="name"
	)


def notify(doc) -> None:
	"""The bell in Desk (Frappe's Notification Log, which also pushes it live) for every approver."""
	subject = frappe._("An MCP agent of {0} asks for approval: {1}").format(doc.requester, doc.summary)
	for user in approvers(doc.approver_role):
		if user == doc.requester and not frappe.db.get_single_value("MCP Settings", "allow_self_approval"):
			continue
		frappe.get_doc(
			{
				"doctype": "Notification Log",
				"for_user": user,
				"from_user": doc.requester,
				"type": "Alert",
				"subject": subject[:140] if len(subject) > 140 else subject,
				"email_content": f"{doc.summary}<br>{frappe._('Approve or reject it here')}: {url(doc.name)}",
				"document_type": DOCTYPE,
				"document_name": doc.name,
			}
		).insert(ignore_permissions=True)


def state_secret() -> bytes:
	"""The secret a 2026-07-28 requestState is sealed with: derived from the site's encryption_key
	(site_config.json), so every worker and host serving the site derives the same one, and another
	site's never opens it."""
	from frappe.utils.password import get_encryption_key

	return hmac.new(get_encryption_key().encode(), _STATE_KEY_INFO, hashlib.sha256).hexdigest().encode()


# ---------------------------------------------------------------- permissions (hooks.py)


def _may_see(user: str, requester: str | None, role: str | None) -> bool:
	if user == "Administrator" or user == requester:
		return True
	roles = set(frappe.get_roles(user))
	return "System Manager" in roles or (role or DEFAULT_APPROVER_ROLE) in roles


def has_permission(doc, ptype: str = "read", user: str | None = None) -> bool:
	"""Readable by its requester, its approvers and System Managers; nobody writes it by hand."""
	user = user or frappe.session.user
	if ptype not in ("read", "print", "report", "export"):
		return False
	return _may_see(user, doc.requester, doc.approver_role)


def query_conditions(user: str | None = None) -> str:
	user = user or frappe.session.user
	if user == "Administrator" or "System Manager" in frappe.get_roles(user):
		return ""
	roles = frappe.get_roles(user)
	role_list = ", ".join(frappe.db.escape(r) for r in roles) or "''"
	return (
		f"(`tab{DOCTYPE}`.requester = {frappe.db.escape(user)} "
		f"or `tab{DOCTYPE}`.approver_role in ({role_list}))"
	)
