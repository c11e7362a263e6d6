"""The Approve and Reject buttons of an MCP Approval Request: the only way a request is decided."""

from __future__ import annotations

import frappe
from frappe.rate_limiter import rate_limit

from erpnext_mcp.data import approvals


def _checked(name: str):
	if not isinstance(name, str) or not name.strip():
		frappe.throw(frappe._("Name the approval request to decide."), frappe.ValidationError)
	if not frappe.db.exists(approvals.DOCTYPE, name):
		frappe.throw(frappe._("Approval request {0} does not exist.").format(name), frappe.DoesNotExistError)
	frappe.get_doc(approvals.DOCTYPE, name).check_permission("read")


@frappe.whitelist(methods=["POST"])
@rate_limit(limit=60, seconds=60)
def approve(name: str) -> dict:
	"""Approve: the agent may run exactly the requested call, once, as its requester."""
	_checked(name)
	decided = approvals.decide(name, approve=True)
	return {"name": decided.name, "status": decided.status}


@frappe.whitelist(methods=["POST"])
@rate_limit(limit=60, seconds=60)
def reject(name: str, note: str | None = None) -> dict:
	"""Reject, optionally saying why (the agent is told)."""
	_checked(name)
	decided = approvals.decide(name, approve=False, note=note)
	return {"name": decided.name, "status": decided.status}
