"""Data for dev/bench (the benchmark), created and removed idempotently:
`bench --site SITE execute erpnext_mcp.tests.bench_fixtures.setup` prints tokens and names as JSON;
`... .teardown` removes everything setup and the benchmark's own writes created."""

from __future__ import annotations

import importlib.metadata
import json
import platform

import frappe

from erpnext_mcp.policy import is_protected
from erpnext_mcp.tests.e2e_fixtures import api_token
from erpnext_mcp.tests.test_profiles import make_item
from erpnext_mcp.tests.utils import ensure_user

BENCH_USER = "mcp-bench@example.com"
# Changes MCP Settings over REST between measurements; its own key, so nothing else rotates it.
SETTINGS_USER = "mcp-bench-settings@example.com"
LIST_USERS = {
	10: "mcp-bench-10@example.com",
	100: "mcp-bench-100@example.com",
	500: "mcp-bench-500@example.com",
}
# A new profile of 10 DocTypes with full CRUD and no per-DocType tools: its tools/list is the generic one.
NEW_PROFILE_USER = "mcp-bench-new@example.com"
CUSTOMER_PREFIX = "MCP Bench Customer"
CREATED_PREFIX = "MCP Bench Created"
ITEM = "MCP-BENCH-ITEM"
PROFILE = "MCP Bench"


def _profile(name: str, users: list[str], rules: list[dict]) -> None:
	if frappe.db.exists("MCP Permission Profile", name):
		frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
	doc = frappe.get_doc(
		{
			"doctype": "MCP Permission Profile",
			"profile_name": name,
			"users": [{"user": u} for u in users],
			"rules": rules,
		}
	)
	# The benchmark measures the rate-limit check, not its refusals: the profile lifts the ceiling.
	for fieldname in ("rate_limit_per_minute", "rate_limit_per_hour"):
		if doc.meta.has_field(fieldname):
			doc.set(fieldname, 10_000_000)
	doc.insert(ignore_permissions=True)


def _rule(doctype: str, *ops: str, tools: str = "") -> dict:
	return {"document_type": doctype, "doctype_tools": tools, **{f"can_{op}": 1 for op in ops}}


def setup() -> None:
	frappe.set_user("Administrator")
	company = frappe.get_all("Company", pluck="name")[0]
	ensure_user(BENCH_USER, ["Sales User", "Accounts User"])
	ensure_user(SETTINGS_USER, ["System Manager"])
	_profile(
		PROFILE,
		[BENCH_USER],
		[_rule("Customer", "read", "create"), _rule("Sales Invoice", "read"), _rule("Sales Order", "read")],
	)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	for i in range(1, 31):
		name = f"{CUSTOMER_PREFIX} {i:03d}"
		if not frappe.db.exists("Customer", {"customer_name": name}):
			frappe.get_doc(
				{
					"doctype": "Customer",
					"customer_name": name,
					"customer_type": "Company",
					"customer_group": group,
					"territory": "All Territories",
				}
			).insert(ignore_permissions=True)
	make_item(ITEM)
	customer = frappe.db.get_value("Customer", {"customer_name": f"{CUSTOMER_PREFIX} 001"})
	invoice = frappe.db.get_value("Sales Invoice", {"customer": customer, "docstatus": 0})
	if not invoice:
		doc = frappe.get_doc(
			{
				"doctype": "Sales Invoice",
				"customer": customer,
				"company": company,
				"due_date": "2026-12-31",
				"items": [{"item_code": ITEM, "qty": i + 1, "rate": 10 * (i + 1)} for i in range(5)],
			}
		)
		doc.insert(ignore_permissions=True)
		invoice = doc.name
	order = frappe.db.get_value("Sales Order", {"customer": customer, "docstatus": 0})
	if not order:
		doc = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"customer": customer,
				"company": company,
				"delivery_date": "2027-06-30",
				"items": [{"item_code": ITEM, "qty": 1, "rate": 10, "delivery_date": "2027-06-30"}],
			}
		)
		doc.insert(ignore_permissions=True)
		order = doc.name

	# Profiles naming 10, 100 and 500 DocTypes the user may read, for the tools/list growth figures.
	wide_roles = [
		"System Manager",
		"Accounts Manager",
		"Sales Manager",
		"Purchase Manager",
		"Stock Manager",
		"HR Manager",
	]
	wide_roles = [r for r in wide_roles if frappe.db.exists("Role", r)]
	tokens = {}
	for size, user in LIST_USERS.items():
		ensure_user(user, wide_roles)
		readable = sorted(
			dt
			for dt in frappe.get_all(
				"DocType", filters={"istable": 0, "issingle": 0, "is_virtual": 0}, pluck="name"
			)
			if not is_protected(dt) and frappe.has_permission(dt, "read", user=user)
		)
		# Each DocType with its list and get tools switched on (the "10 DocTypes, list and get").
		_profile(
			f"{PROFILE} {size}", [user], [_rule(dt, "read", tools="list, get") for dt in readable[:size]]
		)
		tokens[str(size)] = {
			"token": api_token(user),
			"doctypes": min(size, len(readable)),
			"doctype_names": readable[:size],
		}
		if size == 10:
			ensure_user(NEW_PROFILE_USER, wide_roles)
			crud = ("read", "create", "update", "delete")
			_profile(f"{PROFILE} new", [NEW_PROFILE_USER], [_rule(dt, *crud) for dt in readable[:size]])
			new_profile = {"token": api_token(NEW_PROFILE_USER), "doctypes": min(size, len(readable))}

	frappe.db.commit()
	print(
		json.dumps(
			{
				"token": api_token(BENCH_USER),
				"admin": api_token(SETTINGS_USER),
				"invoice": invoice,
				"order": order,
				"new_profile": new_profile,
				"list_users": tokens,
				"created_prefix": CREATED_PREFIX,
				"versions": {
					**{
						app: frappe.get_attr(app + ".__version__")
						for app in ("frappe", "erpnext", "erpnext_mcp")
					},
					"python": platform.python_version(),  # the site's, not the benchmark client's
					"mcp": importlib.metadata.version("mcp"),
				},
			}
		)
	)
	frappe.db.commit()


def teardown() -> None:
	frappe.set_user("Administrator")
	for name in frappe.get_all(
		"Customer", filters={"customer_name": ["like", f"{CREATED_PREFIX}%"]}, pluck="name"
	):
		frappe.delete_doc("Customer", name, ignore_permissions=True, force=True)
	for invoice in frappe.get_all(
		"Sales Invoice", filters={"customer_name": ["like", f"{CUSTOMER_PREFIX}%"]}, pluck="name"
	):
		frappe.delete_doc("Sales Invoice", invoice, ignore_permissions=True, force=True)
	for order in frappe.get_all(
		"Sales Order", filters={"customer_name": ["like", f"{CUSTOMER_PREFIX}%"]}, pluck="name"
	):
		frappe.delete_doc("Sales Order", order, ignore_permissions=True, force=True)
	for name in frappe.get_all(
		"Customer", filters={"customer_name": ["like", f"{CUSTOMER_PREFIX}%"]}, pluck="name"
	):
		frappe.delete_doc("Customer", name, ignore_permissions=True, force=True)
	if frappe.db.exists("Item", ITEM):
		frappe.delete_doc("Item", ITEM, ignore_permissions=True, force=True)
	for name in frappe.get_all(
		"MCP Permission Profile", filters={"name": ["like", f"{PROFILE}%"]}, pluck="name"
	):
		frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
	for user in (BENCH_USER, SETTINGS_USER, NEW_PROFILE_USER, *LIST_USERS.values()):
		if frappe.db.exists("User", user):
			frappe.delete_doc("User", user, ignore_permissions=True, force=True)
	if frappe.db.exists("DocType", "MCP Audit Log"):
		frappe.db.delete(
			"MCP Audit Log", {"user": ["in", [BENCH_USER, NEW_PROFILE_USER, *LIST_USERS.values()]]}
		)
	frappe.db.commit()
	print("benchmark data removed")
