"""Per-DocType tools became opt-in per rule (Per-DocType Tools column). Rules saved before had them on
for every operation they grant: they keep them, so an upgrade changes no agent's tool list; new rules
start with none. Also sets Max Tools per Caller on a site that saved MCP Settings before it existed."""

import frappe

BEFORE = "list, get, search, create, update, delete"


def execute():
	frappe.db.sql(
		"""update `tabMCP Profile Rule` set doctype_tools = %s
		where ifnull(doctype_tools, '') = '' and parenttype = 'MCP Permission Profile'""",
		BEFORE,
	)
	if frappe.db.sql("select 1 from `tabSingles` where doctype='MCP Settings' limit 1") and not (
		frappe.db.get_single_value("MCP Settings", "max_tools")
	):
		frappe.db.set_single_value("MCP Settings", "max_tools", 60)
