# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document
from frappe.utils import get_url


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
		if self.default_page_length > self.max_page_length:
			frappe.throw(frappe._("Default Page Length cannot be larger than Max Page Length"))

	def on_update(self):
		frappe.cache.delete_value("erpnext_mcp:settings")
