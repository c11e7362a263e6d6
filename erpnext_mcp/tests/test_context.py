"""Sized for an agent's context, on a real ERPNext site: describe_doctype of a Sales Order is compact
and enough to create one with two items, a one-item Sales Order reads back compact, and a profile with
more per-DocType tools than MCP Settings allow gets a capped list and a warning in Desk."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.test_profiles import ITEM, make_item
from erpnext_mcp.tests.utils import (
	SALES_USER,
	TEST_USERS,
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

SECOND_ITEM = "MCP-CONTEXT-ITEM-2"


def size(value) -> int:
	return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


class TestContextSize(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		ensure_user(SALES_USER, TEST_USERS[SALES_USER])
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		ensure_profile(
			"context",
			users=[SALES_USER],
			rules=[rule("Customer"), rule("Item"), rule("Sales Order", "read,create")],
		)
		enable_mcp(allowed_origins="", default_profile=None)
		make_item()
		make_item(SECOND_ITEM)
		cls.customer = make_customer("MCP Context Customer")

	def test_an_agent_builds_a_sales_order_with_two_items_from_the_compact_description(self):
		client = InProcessClient(SALES_USER)
		described = client.call("describe_doctype", {"doctype": "Sales Order"})["structuredContent"]
		self.assertLessEqual(size(described), 8_000, "describe_doctype Sales Order is over 8 KB")
		full = client.call("describe_doctype", {"doctype": "Sales Order", "detail": "full"})
		self.assertGreater(size(full["structuredContent"]), size(described))
		fields = {f["fieldname"]: f for f in described["fields"]}
		# What the description says, and nothing else, decides the values the "agent" sends.
		self.assertEqual(fields["customer"].get("link"), "Customer")
		self.assertTrue(fields["customer"].get("mandatory"))
		items = fields["items"]
		columns = {c["fieldname"]: c for c in items["columns"]}
		self.assertEqual(columns["item_code"].get("link"), "Item")
		self.assertIn("qty", columns)
		values: dict = {}
		for f in described["fields"]:
			if not f.get("mandatory") or "default" in f or f.get("read_only"):
				continue
			if f.get("link") == "Customer":
				values[f["fieldname"]] = self.customer
			elif f["type"] == "Date":
				values[f["fieldname"]] = "2027-06-30"
		if "delivery_date" in fields:  # a date ERPNext asks for on orders, named by the description
			values["delivery_date"] = "2027-06-30"
		rows = []
		for code, qty in ((ITEM, 2), (SECOND_ITEM, 3)):
			row = {"item_code": code, "qty": qty}
			for c in items["columns"]:
				if c.get("mandatory") and "default" not in c and c["fieldname"] not in row:
					if c["type"] == "Date":
						row[c["fieldname"]] = "2027-06-30"
					elif c["type"] in ("Currency", "Float"):
						row[c["fieldname"]] = 10
			rows.append(row)
		values[items["fieldname"]] = rows
		created = client.call("create_generic_document", {"doctype": "Sales Order", "values": values})
		self.assertFalse(created.get("isError"), created)
		name = created["structuredContent"]["name"]
		self.assertEqual(
			sorted(frappe.get_all("Sales Order Item", filters={"parent": name}, pluck="item_code")),
			sorted([ITEM, SECOND_ITEM]),
		)

	def test_a_one_item_sales_order_reads_back_compact(self):
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"customer": self.customer,
				"company": frappe.get_all("Company", pluck="name")[0],
				"delivery_date": "2027-06-30",
				"items": [{"item_code": ITEM, "qty": 1, "rate": 10, "delivery_date": "2027-06-30"}],
			}
		).insert(ignore_permissions=True)
		client = InProcessClient(SALES_USER)
		compact = client.call("get_generic_document", {"doctype": "Sales Order", "name": order.name})
		document = compact["structuredContent"]["document"]
		self.assertLessEqual(size(document), 2_500, "a one-item Sales Order is over 2.5 KB")
		self.assertEqual(document["docstatus"], 0)
		self.assertIn("modified", document)
		self.assertNotIn("advance_paid", document)  # 0: left out
		full = client.call(
			"get_generic_document", {"doctype": "Sales Order", "name": order.name, "include_empty": True}
		)
		self.assertEqual(full["structuredContent"]["document"]["advance_paid"], 0)

	def test_a_profile_over_the_tool_cap_is_warned_about_and_capped(self):
		enable_mcp(allowed_origins="", default_profile=None, max_tools=12)
		try:
			frappe.local.message_log = []
			ensure_profile(
				"context",
				users=[SALES_USER],
				rules=[
					rule("Customer", doctype_tools="list, get, search"),
					rule("Item", doctype_tools="list, get, search"),
					rule("Sales Order", "read,create"),
				],
			)
			warnings = " ".join(str(m) for m in frappe.local.message_log)
			self.assertIn("Max Tools per Caller", warnings)
			client = InProcessClient(SALES_USER)
			names = [t["name"] for t in client.tools()]
			self.assertEqual(len(names), 12)
			connection = client.call("test_connection")["structuredContent"]
			self.assertTrue(connection["tools_omitted"])
			self.assertFalse(set(connection["tools_omitted"]) & set(names))
		finally:
			enable_mcp(allowed_origins="", default_profile=None, max_tools=60)
			ensure_profile(
				"context",
				users=[SALES_USER],
				rules=[rule("Customer"), rule("Item"), rule("Sales Order", "read,create")],
			)
