"""Every MCP tool, one definition each (name, description, annotations, schemas, handler), by family:

| module | tools |
|---|---|
| `catalogue.py` | test_connection, list_doctypes, get_doctype_permissions, explain_access, describe_doctype |
| `reads.py` | get_generic_document, list_generic_documents, search_generic_documents |
| `analytics.py` | aggregate_documents, search_link, run_report |
| `writes.py` | create_generic_document, update_generic_document, delete_generic_document, submit_document, cancel_document |
| `conversions.py` | make_document (ERPNext's own mappings, from an allow-list) |
| `approvals.py` | get_approval_status (only for callers whose profile makes some call wait for approval) |
| `per_doctype.py` | list_/get_/search_/create_/update_/delete_<doctype>_document(s), bound to the handlers above |
| `schemas.py` | ToolSpec and the shared schema vocabulary |
| `common.py` | helpers every family uses, the gate for documents addressed by name among them |

Handlers get the request's CallState and validated arguments and return a JSON-able dict. Documents
addressed by name pass the gate (data/gate.py); the data backend acts as the ERPNext user (role
permissions, User Permissions, permlevels), so a call passes only if ERPNext and the profile agree.
"""

from __future__ import annotations

from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools import analytics, approvals, catalogue, conversions, reads, writes
from erpnext_mcp.server.tools.catalogue import explain_access
from erpnext_mcp.server.tools.per_doctype import PER_DOCTYPE_OPERATIONS, slug, tool_name
from erpnext_mcp.server.tools.per_doctype import doctype_tools as _doctype_tools
from erpnext_mcp.server.tools.schemas import ToolSpec
from erpnext_mcp.server.tools.writes import _check_write_values


def generic_tools(state: CallState) -> list[ToolSpec]:
	"""The generic tools in their fixed order: catalogue, reads, analytics, writes, conversions, approvals."""
	specs = [
		*catalogue.specs(state),
		*reads.specs(state),
		*analytics.specs(state),
		*writes.specs(state),
		*conversions.specs(state),
		*approvals.specs(state),
	]
	return with_approvals(state, specs)


_FAMILIES = (catalogue, reads, analytics, writes, conversions, approvals)
_FAMILY_OF: dict[str, object] = {}  # generic tool name → its family (names never depend on the caller)


def generic_tool(state: CallState, name: str) -> ToolSpec | None:
	"""One generic tool by name, as generic_tools() would give it: a tools/call builds only the specs
	of that tool's family, not all of them."""
	if not _FAMILY_OF:
		for family in _FAMILIES:
			for spec in family.specs(state):
				_FAMILY_OF[spec.name] = family
	family = _FAMILY_OF.get(name)
	if family is None:
		return None
	found = [spec for spec in family.specs(state) if spec.name == name]
	return with_approvals(state, found)[0] if found else None


def with_approvals(state: CallState, specs: list[ToolSpec]) -> list[ToolSpec]:
	"""Writes take approval_id only for a caller whose profile can make a call wait for approval."""
	policy = getattr(state, "policy", None)  # None: counting tools (the profile form), no caller
	if policy is None or not policy.has_approvals():
		return specs
	return [spec.with_approvals() for spec in specs]


def doctype_tools(state: CallState, info, names: dict[str, str]) -> list[ToolSpec]:
	"""The per-DocType tools of one DocType (per_doctype.py), with approval_id where it applies."""
	return with_approvals(state, _doctype_tools(state, info, names))


__all__ = [
	"PER_DOCTYPE_OPERATIONS",
	"InvalidArguments",
	"ToolSpec",
	"_check_write_values",
	"doctype_tools",
	"explain_access",
	"generic_tool",
	"generic_tools",
	"slug",
	"tool_name",
]
