"""Rate limits, read cache and audit settings get their defaults (as a fresh install has them): a site
that saved MCP Settings before these fields existed would otherwise read the checks as off."""

import frappe

FIELDS = (
	"rate_limit_per_minute",
	"rate_limit_per_hour",
	"cache_enabled",
	"cache_ttl_seconds",
	"cache_max_entries",
	"audit_enabled",
	"audit_retention_days",
)


def execute():
	if not frappe.db.sql("select 1 from `tabSingles` where doctype='MCP Settings' limit 1"):
		return  # never saved: the whole form still comes from the DocType's defaults
	from erpnext_mcp.data.settings import DEFAULTS

	for field in FIELDS:
		value = int(getattr(DEFAULTS, field))
		stored = frappe.db.sql(
			"select value from `tabSingles` where doctype='MCP Settings' and field=%s", (field,)
		)
		if not stored:
			frappe.db.set_single_value("MCP Settings", field, value)
	frappe.clear_document_cache("MCP Settings", "MCP Settings")
