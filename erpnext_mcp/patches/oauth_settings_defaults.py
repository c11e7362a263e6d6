"""OAuth sign-in settings default to on (as a fresh install has them): a site that saved MCP Settings
before these fields existed would otherwise read them as off."""

import frappe

FIELDS = ("oauth_enabled", "allow_dynamic_client_registration", "allow_client_id_metadata_documents")


def execute():
	for field in FIELDS:
		stored = frappe.db.sql(
			"select value from `tabSingles` where doctype='MCP Settings' and field=%s", (field,)
		)
		if not stored:
			frappe.db.set_single_value("MCP Settings", field, 1)
	frappe.clear_document_cache("MCP Settings", "MCP Settings")
