# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

from frappe.model.document import Document


class MCPProfileReport(Document):
	pass
