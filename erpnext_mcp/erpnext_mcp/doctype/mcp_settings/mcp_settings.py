# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document
from frappe.utils import get_url

from erpnext_mcp.server.context import MAX_TOOLS_LIMIT


class MCPSettings(Document):
	@property
	def endpoint_url(self) -> str:
		return get_url("/api/method/erpnext_mcp.api.mcp.handle")

	def validate(self):
		from erpnext_mcp.data.settings import parse_origins

		parse_origins(self.allowed_origins or "")  # raises with the offending line
		for fieldname in ("max_per_doctype_tools", "default_page_length", "max_page_length"):
			if (self.get(fieldname) or 0) < 1:
				frappe.throw(frappe._("{0} must be at least 1").format(self.meta.get_label(fieldname)))
		if self.get("max_tools") is not None and not 1 <= int(self.max_tools or 0) <= MAX_TOOLS_LIMIT:
			frappe.throw(
				frappe._("{0} must be between 1 and {1} (some clients refuse more than {1} tools)").format(
					self.meta.get_label("max_tools"), MAX_TOOLS_LIMIT
				)
			)
		if self.default_page_length > self.max_page_length:
			frappe.throw(frappe._("Default Page Length cannot be larger than Max Page Length"))
		for fieldname in ("rate_limit_per_minute", "rate_limit_per_hour"):
			if (self.get(fieldname) or 0) < 0:
				frappe.throw(
					frappe._("{0} cannot be negative (0 = unlimited)").format(self.meta.get_label(fieldname))
				)
		for fieldname in ("cache_ttl_seconds", "cache_max_entries", "audit_retention_days"):
			if (self.get(fieldname) or 0) < 1:
				frappe.throw(frappe._("{0} must be at least 1").format(self.meta.get_label(fieldname)))

	def on_update(self):
		# Frappe's document cache of this Single is what every request reads (data/settings.py).
		self.sync_audit_retention()
		from erpnext_mcp.data.oauth import sync_frappe_oauth_settings

		sync_frappe_oauth_settings(self)

	def sync_audit_retention(self):
		"""Log Settings' daily job deletes MCP Audit Log records; its row for them follows this form."""
		if not frappe.db.exists("DocType", "MCP Audit Log"):
			return
		log_settings = frappe.get_single("Log Settings")
		from erpnext_mcp.data.settings import DEFAULTS

		days = int(self.audit_retention_days or DEFAULTS.audit_retention_days)
		row = next((r for r in log_settings.logs_to_clear if r.ref_doctype == "MCP Audit Log"), None)
		if row is not None and int(row.days or 0) == days:
			return
		log_settings.register_doctype("MCP Audit Log", days)
		log_settings.flags.ignore_permissions = True
		log_settings.save()
