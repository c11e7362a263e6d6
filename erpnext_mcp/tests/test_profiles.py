"""MCP Permission Profiles on a real ERPNext site: the seed's profiles behave as written, profile rules
stack on ERPNext's permissions, nothing restricted leaks, writes are whole or nothing."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.api.profiles import import_seed_into_profile
from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.utils import (
	SALES_MANAGER,
	SALES_USER,
	TEST_USERS,
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	error_text,
	rule,
)

ANALYST = "mcp-analyst@example.com"
SEED = {
	"permissions": {
		"doctypes": {
			"Customer": {
				"read": True,
				"create": True,
				"update": True,
				"delete": False,
				"allowed_fields": [
					"customer_name",
					"customer_type",
					"customer_group",
					"territory",
					"disabled",
				],
				"restricted_fields": ["tax_id"],
				"conditions": {
					"create": {"customer_type": {"in": ["Company", "Individual"]}},
					"update": {"disabled": {"not_in": [1]}},
				},
			},
			"Sales Order": {"read": True, "create": True, "update": True, "submit": True, "cancel": True},
			"Sales Order Item": {"read": True, "restricted_fields": ["discount_percentage"]},
		}
	}
}
ANALYST_SEED = {
	"permissions": {
		"doctypes": {
			"Customer": {"read": True, "allowed_fields": ["customer_name", "territory"]},
			"Sales Order": {"read": True, "allowed_fields": ["customer", "transaction_date", "grand_total"]},
		}
	}
}
ITEM = "MCP-TEST-ITEM"


def make_item(code: str = ITEM, *, stock: bool = False) -> str:
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": code.replace("-", " ").title(),
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
				"stock_uom": "Nos",
				"is_stock_item": int(stock),
				"valuation_rate": 5 if stock else 0,
			}
		).insert(ignore_permissions=True)
	return code


def count(doctype, **filters) -> int:
	return frappe.db.count(doctype, filters)


class TestSeedProfiles(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		ensure_user(ANALYST, ["Sales User"])
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		frappe.set_user("Administrator")
		report = import_seed_into_profile(
			json.dumps(SEED), "sales user", users=f"{SALES_USER}\n{SALES_MANAGER}"
		)
		assert report["unmapped"] == [], report
		# The leak tables call list_customer_documents too: switch that per-DocType tool on.
		sales = frappe.get_doc("MCP Permission Profile", "sales user")
		for row in sales.rules:
			if row.document_type == "Customer":
				row.doctype_tools = "list, get, search"
		sales.save(ignore_permissions=True)
		report = import_seed_into_profile(json.dumps(ANALYST_SEED), "read-only analyst", users=ANALYST)
		assert report["unmapped"] == [], report
		enable_mcp(allowed_origins="", default_profile=None)
		cls.customer = make_customer("MCP Profile Customer", tax_id="SECRET-TAX-1")
		cls.disabled = make_customer("MCP Disabled Customer", disabled=1)
		make_item()
		frappe.set_user(SALES_USER)
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"customer": cls.customer,
				"company": frappe.db.get_single_value("Global Defaults", "default_company")
				or frappe.get_all("Company", pluck="name")[0],
				"delivery_date": "2026-12-31",
				"items": [{"item_code": ITEM, "qty": 2, "rate": 50, "discount_percentage": 7}],
			}
		)
		order.insert()
		cls.order = order.name
		frappe.set_user("Administrator")

	# ---- the read-only analyst
	def test_analyst_reads_only_the_allowed_fields(self):
		client = InProcessClient(ANALYST)
		doc = client.call("get_generic_document", {"doctype": "Customer", "name": self.customer})
		self.assertEqual(set(doc["structuredContent"]["document"]), {"name", "customer_name", "territory"})
		rows = client.call("list_generic_documents", {"doctype": "Sales Order", "limit": 50})
		for row in rows["structuredContent"]["documents"]:
			self.assertLessEqual(set(row), {"name", "customer", "transaction_date", "grand_total"})
		names = [t["name"] for t in client.tools()]
		self.assertNotIn("create_generic_document", names)
		refused = client.call(
			"create_generic_document", {"doctype": "Customer", "values": {"customer_name": "X"}}
		)
		self.assertIn("read-only analyst", error_text(refused))

	# ---- the sales user
	def test_create_with_customer_type_outside_the_list_is_refused_and_nothing_saved(self):
		before = count("Customer")
		refused = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{
				"doctype": "Customer",
				"values": {"customer_name": "MCP Partners", "customer_type": "Partnership"},
			},
		)
		text = error_text(refused)
		self.assertIn("sales user", text)
		self.assertIn("customer_type", text)
		self.assertEqual(count("Customer"), before)

	def test_create_within_the_conditions_works(self):
		created = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{
				"doctype": "Customer",
				"values": {"customer_name": "MCP Created Co", "customer_type": "Company"},
			},
		)
		self.assertFalse(created.get("isError"), created)
		name = created["structuredContent"]["name"]
		self.assertEqual(frappe.db.get_value("Customer", name, "owner"), SALES_USER)

	def test_update_of_a_disabled_customer_is_refused(self):
		refused = InProcessClient(SALES_USER).call(
			"update_generic_document",
			{"doctype": "Customer", "name": self.disabled, "values": {"customer_name": "Renamed"}},
		)
		text = error_text(refused)
		self.assertIn("disabled", text)
		self.assertIn("sales user", text)
		self.assertEqual(
			frappe.db.get_value("Customer", self.disabled, "customer_name"), "MCP Disabled Customer"
		)

	def test_update_that_would_disable_is_refused(self):
		refused = InProcessClient(SALES_USER).call(
			"update_generic_document",
			{"doctype": "Customer", "name": self.customer, "values": {"disabled": 1}},
		)
		self.assertIn("after this update", error_text(refused))
		self.assertEqual(frappe.db.get_value("Customer", self.customer, "disabled"), 0)

	def test_delete_is_refused_by_the_profile(self):
		refused = InProcessClient(SALES_MANAGER).call(
			"delete_generic_document", {"doctype": "Customer", "name": self.customer}
		)
		text = error_text(refused)
		# ERPNext's own answer comes first (a Sales Manager may not delete Customers); the profile,
		# which does not tick delete either, is never reached.
		self.assertIn("do not allow delete on Customer", text)
		self.assertTrue(frappe.db.exists("Customer", self.customer))

	def test_profile_allowing_more_than_erpnext_is_held_to_erpnext(self):
		# A Sales User may not delete Customers in ERPNext; a profile that says delete does not change that.
		ensure_profile("generous", users=[SALES_USER], priority=10, rules=[rule("Customer", "read,delete")])
		refused = InProcessClient(SALES_USER).call(
			"delete_generic_document", {"doctype": "Customer", "name": self.customer}
		)
		text = error_text(refused)
		self.assertIn("ERPNext", text)
		self.assertTrue(frappe.db.exists("Customer", self.customer))
		frappe.delete_doc("MCP Permission Profile", "generous", ignore_permissions=True, force=True)

	# ---- no leak of a restricted field, anywhere
	def test_restricted_field_never_leaks(self):
		client = InProcessClient(SALES_USER)
		calls = [
			("get_generic_document", {"doctype": "Customer", "name": self.customer}, False),
			("list_generic_documents", {"doctype": "Customer", "limit": 100}, False),
			("search_generic_documents", {"doctype": "Customer", "query": "SECRET-TAX"}, False),
			("list_generic_documents", {"doctype": "Customer", "fields": ["tax_id"]}, True),
			("list_generic_documents", {"doctype": "Customer", "filters": {"tax_id": "SECRET-TAX-1"}}, True),
			(
				"list_generic_documents",
				{"doctype": "Customer", "filters": [{"field": "tax_id", "op": "like", "value": "SECRET%"}]},
				True,
			),
			("list_generic_documents", {"doctype": "Customer", "order_by": {"field": "tax_id"}}, True),
			(
				"get_generic_document",
				{"doctype": "Customer", "name": self.customer, "fields": ["tax_id"]},
				True,
			),
			("list_customer_documents", {"fields": ["tax_id"]}, True),
		]
		for tool, args, refused in calls:
			with self.subTest(tool=tool, args=args):
				result = client.call(tool, args)
				blob = json.dumps(result)
				self.assertNotIn("SECRET-TAX", blob)
				self.assertNotIn('"tax_id":', json.dumps(result.get("structuredContent") or {}))
				if refused:
					self.assertIn("tax_id", error_text(result))
		found = client.call("search_generic_documents", {"doctype": "Customer", "query": "SECRET-TAX"})
		self.assertEqual(found["structuredContent"]["documents"], [])

	def test_restricted_child_field_never_leaks(self):
		doc = InProcessClient(SALES_USER).call(
			"get_generic_document", {"doctype": "Sales Order", "name": self.order}
		)
		items = doc["structuredContent"]["document"]["items"]
		self.assertTrue(items)
		for row in items:
			self.assertNotIn("discount_percentage", row)
			self.assertEqual(row["item_code"], ITEM)

	def test_write_of_restricted_child_field_is_refused_whole(self):
		before = count("Sales Order")
		refused = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{
				"doctype": "Sales Order",
				"values": {
					"customer": self.customer,
					"delivery_date": "2026-12-31",
					"items": [{"item_code": ITEM, "qty": 1, "rate": 10, "discount_percentage": 50}],
				},
			},
		)
		self.assertIn("discount_percentage", error_text(refused))
		self.assertEqual(count("Sales Order"), before)

	# ---- write tools on ERPNext documents
	def test_sales_order_lifecycle_with_child_rows(self):
		client = InProcessClient(SALES_USER)
		created = client.call(
			"create_generic_document",
			{
				"doctype": "Sales Order",
				"values": {
					"customer": self.customer,
					"delivery_date": "2026-12-31",
					"items": [{"item_code": ITEM, "qty": 3, "rate": 20}],
				},
			},
		)
		self.assertFalse(created.get("isError"), created)
		name = created["structuredContent"]["name"]
		self.assertEqual(created["structuredContent"]["docstatus"], 0)
		self.assertEqual(frappe.db.get_value("Sales Order", name, "grand_total"), 60)
		row = created["structuredContent"]["document"]["items"][0]
		updated = client.call(
			"update_generic_document",
			{"doctype": "Sales Order", "name": name, "values": {"items": [{"name": row["name"], "qty": 5}]}},
		)
		self.assertFalse(updated.get("isError"), updated)
		self.assertEqual(frappe.db.get_value("Sales Order", name, "grand_total"), 100)
		submitted = client.call("submit_document", {"doctype": "Sales Order", "name": name})
		self.assertEqual(submitted["structuredContent"]["docstatus"], 1)
		again = client.call(
			"update_generic_document", {"doctype": "Sales Order", "name": name, "values": {"po_no": "X"}}
		)
		self.assertIn("submitted", error_text(again))
		cancelled = client.call("cancel_document", {"doctype": "Sales Order", "name": name})
		self.assertEqual(cancelled["structuredContent"]["docstatus"], 2)

	def test_erpnext_validation_message_reaches_the_client_and_nothing_is_saved(self):
		before = count("Customer")
		client = InProcessClient(SALES_USER)
		refused = client.call(
			"create_generic_document",
			{
				"doctype": "Customer",
				"values": {
					"customer_name": "MCP Bad Link",
					"customer_type": "Company",
					"customer_group": "No Such Group",
				},
			},
		)
		text = error_text(refused)
		self.assertIn("validation_failed", text)
		self.assertIn("No Such Group", text)  # ERPNext's own link-validation message
		refused = client.call(
			"create_generic_document", {"doctype": "Customer", "values": {"customer_type": "Company"}}
		)
		self.assertIn("Customer Name", error_text(refused))  # ERPNext's mandatory-field message
		self.assertEqual(count("Customer"), before)

	def test_erpnext_crash_on_a_missing_mandatory_field_names_the_field(self):
		# ERPNext 15 raises a TypeError for a Sales Order without items (a crash, not a refusal): the
		# agent is told which mandatory field is missing; nothing is leaked or saved.
		before = count("Sales Order")
		refused = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{"doctype": "Sales Order", "values": {"customer": self.customer, "delivery_date": "2026-12-31"}},
		)
		text = error_text(refused)
		self.assertIn("validation_failed", text)
		self.assertIn("items (Items)", text)
		self.assertNotIn("payment_schedule", text)  # rows ERPNext added itself are not the agent's
		self.assertNotIn("Traceback", text)
		self.assertNotIn("NoneType", text)
		self.assertEqual(count("Sales Order"), before)

	def test_child_row_of_another_document_is_refused(self):
		other_row = frappe.get_all("Sales Order Item", filters={"parent": self.order}, pluck="name")[0]
		created = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{
				"doctype": "Sales Order",
				"values": {
					"customer": self.customer,
					"delivery_date": "2026-12-31",
					"items": [{"item_code": ITEM, "qty": 1, "rate": 1}],
				},
			},
		)
		name = created["structuredContent"]["name"]
		refused = InProcessClient(SALES_USER).call(
			"update_generic_document",
			{"doctype": "Sales Order", "name": name, "values": {"items": [{"name": other_row, "qty": 99}]}},
		)
		self.assertIn("is not a row of", error_text(refused))
		self.assertEqual(frappe.db.get_value("Sales Order Item", other_row, "qty"), 2)

	# ---- explanations
	def test_get_doctype_permissions_names_the_deciding_layer(self):
		perms = InProcessClient(SALES_USER).call("get_doctype_permissions", {"doctype": "Customer"})[
			"structuredContent"
		]
		self.assertTrue(perms["operations"]["create"]["allowed"])
		self.assertEqual(perms["operations"]["delete"]["decided_by"], "ERPNext role permissions")
		order = InProcessClient(SALES_USER).call("get_doctype_permissions", {"doctype": "Sales Order"})[
			"structuredContent"
		]
		self.assertTrue(order["erpnext"]["delete"])  # a Sales User may delete Sales Orders in ERPNext...
		self.assertFalse(order["operations"]["delete"]["allowed"])  # ...the profile says no
		self.assertIn("sales user", order["operations"]["delete"]["decided_by"])
		fields = {f["fieldname"]: f for f in perms["fields"]}
		self.assertFalse(fields["tax_id"]["read"])
		self.assertEqual(fields["tax_id"]["decided_by"], "profile rule")
		self.assertTrue(fields["customer_name"]["write"])

	def test_explain_access_walks_every_layer(self):
		out = InProcessClient(SALES_USER).call(
			"explain_access", {"doctype": "Customer", "operation": "update", "name": self.disabled}
		)["structuredContent"]
		self.assertFalse(out["allowed"])
		layers = {layer["layer"]: layer for layer in out["layers"]}
		self.assertTrue(layers["ERPNext role permissions"]["allowed"])
		self.assertTrue(layers["MCP read conditions"]["allowed"])
		self.assertFalse(out["layers"][-1]["allowed"])  # the profile's update condition decides
		self.assertTrue(out["layers"][-1]["layer"].startswith("MCP"))


class TestProfileValidation(IntegrationTestCase):
	def save(self, **kw):
		doc = frappe.get_doc({"doctype": "MCP Permission Profile", "profile_name": "MCP Invalid Test", **kw})
		with self.assertRaises(frappe.ValidationError) as caught:
			doc.insert(ignore_permissions=True)
		self.assertFalse(frappe.db.exists("MCP Permission Profile", "MCP Invalid Test"))
		return str(caught.exception)

	def test_unknown_doctype(self):
		self.assertIn("No Such Thing", self.save(rules=[rule("No Such Thing")]))

	def test_unknown_field(self):
		self.assertIn(
			"no_such_field",
			self.save(rules=[rule("Customer", allowed_fields="customer_name, no_such_field")]),
		)

	def test_field_both_allowed_and_restricted(self):
		msg = self.save(
			rules=[rule("Customer", allowed_fields="customer_name, tax_id", restricted_fields="tax_id")]
		)
		self.assertIn("tax_id", msg)

	def test_condition_on_a_missing_field(self):
		msg = self.save(
			rules=[rule("Customer")],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Read",
					"fieldname": "nope",
					"operator": "=",
					"value": "x",
				}
			],
		)
		self.assertIn("nope", msg)

	def test_condition_value_of_the_wrong_type(self):
		msg = self.save(
			rules=[rule("Customer")],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Update",
					"fieldname": "disabled",
					"operator": "=",
					"value": "yes",
				}
			],
		)
		self.assertIn("disabled", msg)
		msg = self.save(
			rules=[rule("Customer")],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Create",
					"fieldname": "customer_type",
					"operator": "in",
					"value": "Company\nAlien",
				}
			],
		)
		self.assertIn("Alien", msg)

	def test_two_rules_for_one_doctype(self):
		self.assertIn(
			"more than one rule", self.save(rules=[rule("Customer"), rule("Customer", "read,create")])
		)

	def test_condition_without_a_rule(self):
		msg = self.save(
			rules=[rule("Customer")],
			conditions=[
				{
					"document_type": "Supplier",
					"applies_to": "Read",
					"fieldname": "supplier_name",
					"operator": "=",
					"value": "x",
				}
			],
		)
		self.assertIn("Supplier", msg)


class TestProfileResolution(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		enable_mcp(allowed_origins="", default_profile=None)

	def test_highest_priority_profile_decides_each_doctype(self):
		ensure_profile(
			"by role",
			roles=["Sales User"],
			priority=0,
			rules=[rule("Customer", "read,create"), rule("Sales Order")],
		)
		ensure_profile("by user", users=[SALES_USER], priority=5, rules=[rule("Customer")])
		client = InProcessClient(SALES_USER)
		conn = client.call("test_connection")["structuredContent"]
		self.assertEqual(conn["profiles"][0], "by user")
		refused = client.call(
			"create_generic_document", {"doctype": "Customer", "values": {"customer_name": "X"}}
		)
		self.assertIn("by user", error_text(refused))
		# Sales Order comes from the role profile: rules combine across DocTypes.
		self.assertFalse(client.call("list_generic_documents", {"doctype": "Sales Order"}).get("isError"))

	def test_default_profile_applies_only_without_another(self):
		ensure_profile("fallback", rules=[rule("Customer")])
		enable_mcp(default_profile="fallback")
		lonely = ensure_user("mcp-lonely@example.com", ["Stock User"])
		self.assertEqual(
			InProcessClient(lonely).call("test_connection")["structuredContent"]["profiles"], ["fallback"]
		)
		ensure_profile("sales only", roles=["Sales User"], rules=[rule("Sales Order")])
		self.assertEqual(
			InProcessClient(SALES_USER).call("test_connection")["structuredContent"]["profiles"],
			["sales only"],
		)
		enable_mcp(default_profile=None)

	def test_disabled_profile_does_not_apply(self):
		ensure_profile("off", users=[SALES_MANAGER], enabled=0, rules=[rule("Customer")])
		self.assertNotIn(
			"off", InProcessClient(SALES_MANAGER).call("test_connection")["structuredContent"]["profiles"]
		)


class TestToolsListCache(IntegrationTestCase):
	"""tools/list answers come from Redis after the first request: a profile change shows at once."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		enable_mcp(allowed_origins="", default_profile=None)

	def test_profile_change_reaches_the_next_tools_list(self):
		tools = "list, get, create"
		ensure_profile("list cache", users=[SALES_USER], rules=[rule("Customer", doctype_tools=tools)])
		client = InProcessClient(SALES_USER)
		first = [t["name"] for t in client.tools()]
		self.assertEqual(first, [t["name"] for t in client.tools()])  # second answer: from the cache
		self.assertNotIn("create_customer_document", first)
		ensure_profile(
			"list cache", users=[SALES_USER], rules=[rule("Customer", "read,create", doctype_tools=tools)]
		)
		self.assertIn("create_customer_document", [t["name"] for t in client.tools()])

	def test_cached_answer_carries_the_new_request_id(self):
		ensure_profile("list cache", users=[SALES_USER], rules=[rule("Customer", doctype_tools="list")])
		client = InProcessClient(SALES_USER)
		client.tools()
		response = client.post({"jsonrpc": "2.0", "id": "abc-42", "method": "tools/list"})
		body = response.json()
		self.assertEqual(body["id"], "abc-42")
		self.assertIn("list_customer_documents", [t["name"] for t in body["result"]["tools"]])
