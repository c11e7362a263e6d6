"""Rate limits, read cache and audit settings get their defaults (as a fresh install has them): a site
that saved MCP Settings before these fields existed would otherwise read the checks as off."""

import frappe

DEFAULTS = {
	"rate_limit_per_minute": 120,
	"rate_limit_per_hour": 2000,
	"cache_enabled": 1,
	"cache_ttl_seconds": 60,
	"cache_max_entries": 2000,
	"audit_enabled": 1,
	"audit_retention_days": 90,
}


def execute():
	if not frappe.db.sql("select 1 from `tabSingles` where doctype='MCP Settings' limit 1"):
		return  # never saved: the whole form still comes from the DocType's defaults
	for field, value in DEFAULTS.items():
		stored = frappe.db.sql(
			"select value from `tabSingles` where doctype='MCP Settings' and field=%s", (field,)
		)
		if not stored:
			frappe.db.set_single_value("MCP Settings", field, value)
	frappe.clear_document_cache("MCP Settings", "MCP Settings")
