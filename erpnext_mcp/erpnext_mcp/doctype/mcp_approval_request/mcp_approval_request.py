# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class MCPApprovalRequest(Document):
	"""A call an agent made that waits for a person (erpnext_mcp.data.approvals writes it). Changed only
	through the Approve / Reject buttons (erpnext_mcp.api.approvals), never edited by hand."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		approver: DF.Link | None
		approver_role: DF.Link | None
		arguments: DF.Code | None
		decided_at: DF.Datetime | None
		decision_note: DF.SmallText | None
		document_name: DF.DynamicLink | None
		document_type: DF.Link | None
		executed_at: DF.Datetime | None
		expires_at: DF.Datetime | None
		fingerprint: DF.Data | None
		operation: DF.Literal["", "create", "update", "delete", "submit", "cancel"]
		profile: DF.Link | None
		requester: DF.Link | None
		rule: DF.Data | None
		status: DF.Literal["Pending", "Approved", "Rejected", "Expired", "Executed"]
		summary: DF.SmallText | None
		tool: DF.Data | None
	# end: auto-generated types

	def validate(self):
		if not self.flags.via_approvals:
			frappe.throw(
				_(
					"An MCP Approval Request is written by the MCP server and changed only with the Approve "
					"and Reject buttons."
				),
				frappe.PermissionError,
			)
