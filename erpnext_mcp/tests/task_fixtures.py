"""Data for ./dev/bench's task benchmark (dev/tasks.py): a sales user with a profile, three customers,
invoices from last month (unpaid) and this month, stock of one item. Run with
`bench --site SITE execute erpnext_mcp.tests.task_fixtures.setup` (prints the JSON dev/tasks.py reads)
and `... .teardown`. Never part of the tests."""

from __future__ import annotations

import json
from datetime import timedelta

import frappe
from frappe.utils import add_months, get_first_day, getdate, today

from erpnext_mcp.tests.e2e_fixtures import api_token
from erpnext_mcp.tests.test_profiles import make_item
from erpnext_mcp.tests.utils import ensure_user

TASK_USER = "mcp-tasks@example.com"
PROFILE = "MCP Tasks"
PREFIX = "MCP Task"
CUSTOMERS = ("MCP Task Acme Corp", "MCP Task Globex", "MCP Task Initech")
ITEM = "MCP-TASK-WIDGET"
STOCK_ITEM = "MCP-TASK-STOCK"
REPORT = "Accounts Receivable"


def _company() -> str:
	return frappe.defaults.get_global_default("company") or frappe.get_all("Company", pluck="name")[0]


def _invoice(customer: str, posting_date, amount: float, company: str) -> str:
	doc = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": company,
			"set_posting_time": 1,
			"posting_date": posting_date,
			"due_date": posting_date,
			"items": [{"item_code": ITEM, "qty": 1, "rate": amount}],
		}
	)
	doc.insert(ignore_permissions=True)
	doc.submit()
	return doc.name


def setup() -> None:
	frappe.set_user("Administrator")
	teardown(quiet=True)
	company = _company()
	ensure_user(TASK_USER, ["Sales User", "Sales Manager", "Accounts User", "Stock User"])
	frappe.defaults.set_user_default("Company", company, TASK_USER)
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	for name in CUSTOMERS:
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
	make_item(STOCK_ITEM, stock=True)
	warehouse = frappe.db.get_value(
		"Warehouse", {"company": company, "is_group": 0, "name": ["like", "Stores%"]}
	)
	entry = frappe.get_doc(
		{
			"doctype": "Stock Entry",
			"stock_entry_type": "Material Receipt",
			"company": company,
			"items": [{"item_code": STOCK_ITEM, "qty": 40, "t_warehouse": warehouse, "basic_rate": 5}],
		}
	)
	entry.insert(ignore_permissions=True)
	entry.submit()
	this_month = getdate(today())
	last_month = get_first_day(add_months(this_month, -1))
	for customer, amount in zip(CUSTOMERS, (1200, 800, 300), strict=True):
		_invoice(customer, last_month, amount, company)  # unpaid
		_invoice(customer, this_month, amount * 2, company)
	profile = frappe.get_doc(
		{
			"doctype": "MCP Permission Profile",
			"profile_name": PROFILE,
			"users": [{"user": TASK_USER}],
			"rules": [
				{"document_type": "Customer", "can_read": 1, "can_create": 1, "can_update": 1},
				{"document_type": "Sales Order", "can_read": 1, "can_create": 1, "can_submit": 1},
				{"document_type": "Sales Invoice", "can_read": 1, "can_create": 1, "can_submit": 1},
				{"document_type": "Item", "can_read": 1},
				{"document_type": "Bin", "can_read": 1},
			],
			"conditions": [
				# An agent may keep customers up to date, but not turn a company into an individual.
				{
					"document_type": "Customer",
					"applies_to": "Update",
					"fieldname": "customer_type",
					"operator": "=",
					"value": "Company",
				}
			],
			"reports": [{"report": REPORT}],
		}
	)
	profile.insert(ignore_permissions=True)
	frappe.db.commit()
	print(
		json.dumps(
			{
				"token": api_token(TASK_USER),
				"customers": list(CUSTOMERS),
				"item": ITEM,
				"stock_item": STOCK_ITEM,
				"company": company,
				"today": str(this_month),
				"this_month_start": str(get_first_day(this_month)),
				"last_month_start": str(last_month),
				"last_month_end": str(get_first_day(this_month) - timedelta(days=1)),
			}
		)
	)


def teardown(quiet: bool = False) -> None:
	frappe.set_user("Administrator")
	for doctype in ("Sales Invoice", "Sales Order"):
		for row in frappe.get_all(
			doctype, filters={"customer_name": ["like", f"{PREFIX}%"]}, fields=["name", "docstatus"]
		):
			doc = frappe.get_doc(doctype, row.name)
			if doc.docstatus == 1:
				doc.cancel()
			frappe.delete_doc(doctype, row.name, ignore_permissions=True, force=True)
	for row in frappe.get_all(
		"Stock Entry Detail", filters={"item_code": STOCK_ITEM}, fields=["parent"], distinct=True
	):
		doc = frappe.get_doc("Stock Entry", row.parent)
		if doc.docstatus == 1:
			doc.cancel()
		frappe.delete_doc("Stock Entry", doc.name, ignore_permissions=True, force=True)
	for name in frappe.get_all("Customer", filters={"customer_name": ["like", f"{PREFIX}%"]}, pluck="name"):
		frappe.delete_doc("Customer", name, ignore_permissions=True, force=True)
	for code in (ITEM, STOCK_ITEM):
		if frappe.db.exists("Item", code):
			frappe.db.delete("Bin", {"item_code": code})
			frappe.delete_doc("Item", code, ignore_permissions=True, force=True)
	if frappe.db.exists("MCP Permission Profile", PROFILE):
		frappe.delete_doc("MCP Permission Profile", PROFILE, ignore_permissions=True, force=True)
	if frappe.db.exists("User", TASK_USER):
		frappe.db.delete("MCP Audit Log", {"user": TASK_USER})
		frappe.delete_doc("User", TASK_USER, ignore_permissions=True, force=True)
	frappe.db.commit()
	if not quiet:
		print("task benchmark data removed")
