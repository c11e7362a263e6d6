# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class MCPAuditLog(Document):
	"""One request to the MCP endpoint. Written only by erpnext_mcp.audit; never changed afterwards;
	removed only by Log Settings' retention job (clear_old_logs)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		client_name: DF.Data | None
		client_version: DF.Data | None
		document_names: DF.SmallText | None
		document_type: DF.Link | None
		duration_ms: DF.Float
		error_log: DF.Link | None
		fields_named: DF.SmallText | None
		fields_returned: DF.SmallText | None
		http_method: DF.Data | None
		http_status: DF.Int
		mcp_method: DF.Data | None
		operation: DF.Literal["", "read", "create", "update", "delete", "submit", "cancel"]
		profiles: DF.SmallText | None
		protocol_version: DF.Data | None
		reason: DF.SmallText | None
		remote_ip: DF.Data | None
		request_count: DF.Int
		result: DF.Literal["Allowed", "Denied", "Error", "Rate Limited"]
		served_from_cache: DF.Check
		timestamp: DF.Datetime | None
		tool: DF.Data | None
		user: DF.Link | None
		user_agent: DF.Data | None
	# end: auto-generated types

	def validate(self):
		if not self.is_new():
			frappe.throw(_("MCP Audit Log records cannot be changed."), frappe.PermissionError)

	def on_trash(self):
		frappe.throw(
			_("MCP Audit Log records are removed only by the retention set in MCP Settings."),
			frappe.PermissionError,
		)

	@staticmethod
	def clear_old_logs(days: int = 90) -> None:
		"""Log Settings' daily job: delete records older than `days` (MCP Settings → Audit Retention)."""
		from frappe.utils import add_to_date, now_datetime

		cutoff = add_to_date(now_datetime(), days=-int(days))  # the site's time zone, as timestamps are
		table = frappe.qb.DocType("MCP Audit Log")
		frappe.db.delete(table, filters=(table.timestamp < cutoff))
