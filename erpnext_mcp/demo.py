"""The demo site's contents (./dev/demo runs `setup` on it): a company, ERPNext's own demo data where the
ERPNext version has a generator, the MCP server on, and two agent users with their profiles and API
keys. Idempotent: a second run changes nothing and prints the same keys.

Never for a production site: it creates users, keys and profiles (the demo's are named "Demo ...").
"""

from __future__ import annotations

import json
import time

import frappe
from frappe.utils import getdate

ANALYST = "analyst@erpnext-mcp-demo.localhost"
SALES_AGENT = "sales-agent@erpnext-mcp-demo.localhost"
ANALYST_PROFILE = "Demo Read-only Analyst"
SALES_PROFILE = "Demo Sales Agent"
SAMPLE_QUESTIONS = {
	ANALYST: "Which customers did we invoice most, and for how much?",
	SALES_AGENT: "Create a Sales Order for one of our customers with two items, then show it to me.",
}


def _step(what: str, started: float) -> None:
	print(f"  {what} ({time.monotonic() - started:.1f} s)", flush=True)


def _company() -> str:
	companies = frappe.get_all("Company", pluck="name", order_by="creation asc")
	if companies:
		return companies[0]
	from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

	year = getdate().year
	setup_complete(
		{
			"language": "English",
			"country": "United States",
			"timezone": "America/New_York",
			"currency": "USD",
			"full_name": "Demo Administrator",
			"email": "demo-admin@erpnext-mcp-demo.localhost",
			"password": "admin",
			"company_name": "MCP Demo Inc",
			"company_abbr": "MDI",
			"chart_of_accounts": "Standard",
			"fy_start_date": f"{year}-01-01",
			"fy_end_date": f"{year}-12-31",
			"setup_demo": 0,
		}
	)
	frappe.db.commit()
	return frappe.get_all("Company", pluck="name", order_by="creation asc")[0]


def _demo_data() -> str:
	"""ERPNext's own demo generator (erpnext.setup.demo), once; says so where the version has none."""
	try:
		from erpnext.setup import demo
	except ImportError:
		return "this ERPNext version has no demo data generator (erpnext.setup.demo): only the company"
	if frappe.db.get_single_value("Global Defaults", "demo_company"):
		return "ERPNext demo data: already loaded"
	demo.setup_demo_data()
	frappe.db.commit()
	return "ERPNext demo data: loaded (customers, items, suppliers, orders, invoices)"


def _user(email: str, first_name: str, roles: list[str]) -> None:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": first_name,
				"send_welcome_email": 0,
				"user_type": "System User",
			}
		).insert(ignore_permissions=True)
	user = frappe.get_doc("User", email)
	if {r.role for r in user.roles} != set(roles):
		user.set("roles", [])
		user.add_roles(*roles)


def _token(email: str) -> str:
	"""The user's API key, made once; its secret read back, so every run prints the same token."""
	from frappe.utils.password import get_decrypted_password

	user = frappe.get_doc("User", email)
	secret = user.api_key and get_decrypted_password("User", email, "api_secret", raise_exception=False)
	if not secret:
		user.api_key = user.api_key or frappe.generate_hash(length=15)
		secret = frappe.generate_hash(length=15)
		user.api_secret = secret
		user.save(ignore_permissions=True)
	return f"token {user.api_key}:{secret}"


def _rule(doctype: str, ops: str, **kw) -> dict:
	row = {"document_type": doctype}
	for op in ("read", "create", "update", "delete", "submit", "cancel"):
		row[f"can_{op}"] = int(op in ops.split(","))
	return {**row, **kw}


def _profile(name: str, user: str, description: str, rules: list[dict], conditions: list[dict]) -> None:
	"""The profile exactly as defined here (an edit in Desk is put back by the next run)."""
	doc = (
		frappe.get_doc("MCP Permission Profile", name)
		if frappe.db.exists("MCP Permission Profile", name)
		else frappe.new_doc("MCP Permission Profile")
	)
	doc.profile_name = name
	doc.enabled = 1
	doc.description = description
	doc.set("users", [{"user": user}])
	doc.set("roles", [])
	doc.set("rules", rules)
	doc.set("conditions", conditions)
	doc.save(ignore_permissions=True)


def setup() -> None:
	"""Everything the demo needs on this site; prints progress lines, then one JSON line with the users'
	tokens and sample questions (./dev/demo reads it)."""
	started = time.monotonic()
	frappe.set_user("Administrator")
	company = _company()
	_step(f"company: {company}", started)
	_step(_demo_data(), started)
	settings = frappe.get_single("MCP Settings")
	settings.enabled = 1
	settings.save(ignore_permissions=True)
	_step("MCP server: enabled", started)

	_user(ANALYST, "Demo Analyst", ["Sales User", "Accounts User", "Stock User"])
	_profile(
		ANALYST_PROFILE,
		ANALYST,
		"Reads Customers, Items and Sales Invoices, a few fields each; writes nothing.",
		[
			_rule(
				"Customer", "read", allowed_fields="customer_name, customer_group, territory, customer_type"
			),
			_rule("Item", "read", allowed_fields="item_code, item_name, item_group, stock_uom"),
			_rule(
				"Sales Invoice",
				"read",
				allowed_fields="customer, customer_name, posting_date, due_date, grand_total, outstanding_amount, status, items",
			),
		],
		[],
	)
	_user(SALES_AGENT, "Demo Sales Agent", ["Sales User"])
	_profile(
		SALES_PROFILE,
		SALES_AGENT,
		"Creates and updates Customers and draft Sales Orders; cannot touch disabled customers, delete, "
		"submit or cancel.",
		[
			_rule("Customer", "read,create,update"),
			_rule("Sales Order", "read,create,update", doctype_tools="list, get"),
			_rule("Item", "read"),
		],
		[
			{
				"document_type": "Customer",
				"applies_to": "Create and Update",
				"fieldname": "disabled",
				"operator": "=",
				"value": "0",
			}
		],
	)
	_step("agent users and profiles: " + ", ".join((ANALYST, SALES_AGENT)), started)
	tokens = {ANALYST: _token(ANALYST), SALES_AGENT: _token(SALES_AGENT)}
	frappe.db.commit()
	print(
		json.dumps(
			{
				"site": frappe.local.site,
				"company": company,
				"users": [
					{
						"user": user,
						"profile": ANALYST_PROFILE if user == ANALYST else SALES_PROFILE,
						"token": token,
						"question": SAMPLE_QUESTIONS[user],
					}
					for user, token in tokens.items()
				],
			}
		)
	)
