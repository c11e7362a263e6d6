"""get_approval_status: where a call that waited for a person's approval stands (server/approvals.py)."""

from __future__ import annotations

from erpnext_mcp.server import approvals
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.schemas import ToolSpec, _obj, _out, _read_only


def specs(state: CallState) -> list[ToolSpec]:
	return [
		ToolSpec(
			"get_approval_status",
			"Approval status",
			"Where a call that waited for approval stands: pending, approved (call the tool again with the "
			"same arguments and approval_id), executed, rejected (with the reason) or expired.",
			_obj({"approval_id": {"type": "string", "minLength": 1, "maxLength": 140}}, ["approval_id"]),
			approvals.status,
			_read_only(),
			_out(
				{"approval_id": {"type": "string"}, "status": {"type": "string"}}, ["approval_id", "status"]
			),
			operation="approval",
		)
	]
