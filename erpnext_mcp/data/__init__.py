"""Frappe data access as the caller: the only code that calls frappe.get_doc / frappe.get_list."""
