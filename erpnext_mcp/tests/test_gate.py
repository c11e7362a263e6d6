"""The gate on a real ERPNext site, table by table: every operation that addresses a document by name
(get, update, delete, submit, cancel, explain_access and the per-DocType tools) crossed with a
document inside the profile's read scope, outside it, one that does not exist, one shared with the
user and one a User Permission hides. Every row asserts the answer and that nothing changed; the
refusals of "outside", "hidden by ERPNext" and "does not exist" are byte-identical."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.test_profiles import ITEM, make_item
from erpnext_mcp.tests.utils import (
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

GATE_USER = "mcp-gate@example.com"  # ERPNext: every Customer and Sales Order permission
SHARE_USER = "mcp-gate-share@example.com"  # no Customer role: only what is shared with it
UP_USER = "mcp-gate-up@example.com"  # like GATE_USER, but a User Permission limits territories
MISSING = "MCP-GATE-NO-SUCH-DOC"
GROUP_IN, GROUP_OUT = "MCP Gate Commercial", "MCP Gate Government"
NORTH, SOUTH = "MCP Gate North", "MCP Gate South"
ALL_OPS = "read,create,update,delete,submit,cancel"
ALL_TOOLS = "list, get, search, create, update, delete"
INSIDE, BLOCKED = "MCP Gate Inside", "MCP Gate South"


def _ensure(doctype: str, name: str, values: dict) -> None:
	if not frappe.db.exists(doctype, name):
		frappe.get_doc({"doctype": doctype, **values}).insert(ignore_permissions=True)


def _order(customer: str, *, submit: bool = False) -> str:
	order = frappe.get_doc(
		{
			"doctype": "Sales Order",
			"customer": customer,
			"territory": frappe.db.get_value("Customer", customer, "territory"),
			"company": frappe.get_all("Company", pluck="name")[0],
			"delivery_date": "2027-06-30",
			"transaction_date": frappe.utils.today(),
			"items": [{"item_code": ITEM, "qty": 1, "rate": 10, "delivery_date": "2027-06-30"}],
		}
	)
	order.insert(ignore_permissions=True)
	if submit:
		order.submit()
	return order.name


def snapshot() -> dict:
	out = {}
	for doctype in ("Customer", "Sales Order"):
		rows = frappe.db.sql(f"select name, modified, docstatus from `tab{doctype}` order by name")
		out[doctype] = [tuple(str(v) for v in r) for r in rows]
	return out


def answer_text(result: dict) -> str:
	return "".join(c.get("text", "") for c in result["content"])


def masked(result: dict, name: str) -> str:
	return answer_text(result).replace(json.dumps(name)[1:-1], "<NAME>")


class TestGate(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		ensure_user(GATE_USER, ["Sales User", "Sales Master Manager"])
		ensure_user(SHARE_USER, ["Purchase User"])
		ensure_user(UP_USER, ["Sales User", "Sales Master Manager"])
		for group in (GROUP_IN, GROUP_OUT):
			_ensure(
				"Customer Group",
				group,
				{"customer_group_name": group, "parent_customer_group": "All Customer Groups"},
			)
		for territory in (NORTH, SOUTH):
			_ensure(
				"Territory", territory, {"territory_name": territory, "parent_territory": "All Territories"}
			)
		make_item()
		if not frappe.db.exists("User Permission", {"user": UP_USER, "allow": "Territory"}):
			frappe.get_doc(
				{"doctype": "User Permission", "user": UP_USER, "allow": "Territory", "for_value": NORTH}
			).insert(ignore_permissions=True)
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		enable_mcp(allowed_origins="", default_profile=None, per_doctype_tools=1)

	@staticmethod
	def gate_profile(conditions=(), *, read_scope: bool = True) -> None:
		"""The profile every row runs under: all operations, Read conditions on customer_group."""
		scope = [
			{
				"document_type": "Customer",
				"applies_to": "Read",
				"fieldname": "customer_group",
				"operator": "=",
				"value": GROUP_IN,
			},
			{
				"document_type": "Sales Order",
				"applies_to": "Read",
				"fieldname": "customer",
				"operator": "in",
				"value": f"{INSIDE}\n{BLOCKED}",
			},
		]
		ensure_profile(
			"gate",
			users=[GATE_USER, SHARE_USER, UP_USER],
			rules=[
				rule("Customer", ALL_OPS, doctype_tools=ALL_TOOLS),
				rule("Sales Order", ALL_OPS, doctype_tools=ALL_TOOLS),
			],
			conditions=(scope if read_scope else []) + list(conditions),
		)

	def setUp(self):
		frappe.set_user("Administrator")
		frappe.db.savepoint("mcp_gate_test")
		self.gate_profile()
		c = {}
		c["inside"] = make_customer(INSIDE, territory=NORTH, customer_group=GROUP_IN)
		# Without orders: ERPNext refuses to delete a customer that has some ("disable it instead").
		c["inside_bare"] = make_customer("MCP Gate Inside Bare", territory=NORTH, customer_group=GROUP_IN)
		c["outside"] = make_customer("MCP Gate Outside", territory=NORTH, customer_group=GROUP_OUT)
		c["shared"] = make_customer("MCP Gate Shared", territory=NORTH, customer_group=GROUP_IN)
		c["shared_outside"] = make_customer("MCP Gate Shared Out", territory=NORTH, customer_group=GROUP_OUT)
		c["blocked"] = make_customer(BLOCKED, territory=SOUTH, customer_group=GROUP_IN)
		for key in ("shared", "shared_outside"):
			frappe.share.add_docshare(
				"Customer", c[key], SHARE_USER, read=1, write=1, flags={"ignore_share_permission": True}
			)
		self.customers = c
		self.orders = {
			"draft_inside": _order(c["inside"]),
			"draft_outside": _order(c["outside"]),
			"draft_blocked": _order(c["blocked"]),
			"submitted_inside": _order(c["inside"], submit=True),
			"submitted_outside": _order(c["outside"], submit=True),
			"submitted_blocked": _order(c["blocked"], submit=True),
		}

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback(save_point="mcp_gate_test")

	# ---------------------------------------------------------------- helpers
	def call(self, user: str, tool: str, args: dict) -> dict:
		return InProcessClient(user).call(tool, args)

	def assert_hidden(self, user: str, tool: str, args: dict, name: str):
		"""The answer for `name` is the answer for a document that does not exist; nothing changed."""
		before = snapshot()
		hidden = self.call(user, tool, {**args, "name": name})
		missing = self.call(user, tool, {**args, "name": MISSING})
		self.assertTrue(hidden.get("isError"), hidden)
		self.assertEqual(masked(hidden, name), masked(missing, MISSING), (tool, name))
		error = json.loads(answer_text(hidden))
		self.assertTrue(
			error["error"] == "not_found" or error.get("decided_by") == "ERPNext role permissions", error
		)
		self.assertNotIn(GROUP_OUT, answer_text(hidden))
		self.assertEqual(snapshot(), before, (tool, name))

	# ---------------------------------------------------------------- the table
	CUSTOMER_TOOLS = (
		("get_generic_document", {"doctype": "Customer"}),
		("update_generic_document", {"doctype": "Customer", "values": {"website": "https://gate.example"}}),
		("delete_generic_document", {"doctype": "Customer"}),
		("explain_access", {"doctype": "Customer", "operation": "read"}),
		("explain_access", {"doctype": "Customer", "operation": "update", "fieldname": "customer_group"}),
		("explain_access", {"doctype": "Customer", "operation": "delete"}),
		("get_customer_document", {}),
		("update_customer_document", {"values": {"website": "https://gate.example"}}),
		("delete_customer_document", {}),
	)
	ORDER_TOOLS = (
		("get_generic_document", {"doctype": "Sales Order"}, "draft"),
		("update_generic_document", {"doctype": "Sales Order", "values": {"po_no": "GATE-1"}}, "draft"),
		("delete_generic_document", {"doctype": "Sales Order"}, "draft"),
		("submit_document", {"doctype": "Sales Order"}, "draft"),
		("cancel_document", {"doctype": "Sales Order"}, "submitted"),
		("explain_access", {"doctype": "Sales Order", "operation": "submit"}, "draft"),
		("explain_access", {"doctype": "Sales Order", "operation": "cancel"}, "submitted"),
		("get_sales_order_document", {}, "draft"),
		("update_sales_order_document", {"values": {"po_no": "GATE-1"}}, "draft"),
	)

	def test_per_doctype_tools_of_the_table_are_listed(self):
		names = {t["name"] for t in InProcessClient(GATE_USER).tools()}
		for tool, _args in self.CUSTOMER_TOOLS:
			self.assertIn(tool, names)
		for tool, _args, _kind in self.ORDER_TOOLS:
			self.assertIn(tool, names)

	def test_inside_the_read_scope_every_operation_works(self):
		for tool, args in self.CUSTOMER_TOOLS:
			with self.subTest(tool=tool, args=args):
				frappe.db.savepoint("mcp_gate_row")
				name = self.customers["inside_bare" if tool.startswith("delete") else "inside"]
				result = self.call(GATE_USER, tool, {**args, "name": name})
				self.assertFalse(result.get("isError"), result)
				if tool.startswith("delete"):
					self.assertFalse(frappe.db.exists("Customer", name))
				frappe.db.rollback(save_point="mcp_gate_row")
		for tool, args, kind in self.ORDER_TOOLS:
			with self.subTest(tool=tool, args=args):
				frappe.db.savepoint("mcp_gate_row")
				name = self.orders[f"{kind}_inside"]
				result = self.call(GATE_USER, tool, {**args, "name": name})
				self.assertFalse(result.get("isError"), result)
				if tool == "submit_document":
					self.assertEqual(frappe.db.get_value("Sales Order", name, "docstatus"), 1)
				if tool == "cancel_document":
					self.assertEqual(frappe.db.get_value("Sales Order", name, "docstatus"), 2)
				frappe.db.rollback(save_point="mcp_gate_row")

	def test_outside_the_read_scope_nothing_exists(self):
		for tool, args in self.CUSTOMER_TOOLS:
			with self.subTest(tool=tool, args=args):
				self.assert_hidden(GATE_USER, tool, args, self.customers["outside"])
		for tool, args, kind in self.ORDER_TOOLS:
			with self.subTest(tool=tool, args=args):
				self.assert_hidden(GATE_USER, tool, args, self.orders[f"{kind}_outside"])

	def test_hidden_by_a_user_permission_is_the_same_not_found(self):
		for tool, args in self.CUSTOMER_TOOLS:
			with self.subTest(tool=tool, args=args):
				self.assert_hidden(UP_USER, tool, args, self.customers["blocked"])
		for tool, args, kind in self.ORDER_TOOLS:
			with self.subTest(tool=tool, args=args):
				self.assert_hidden(UP_USER, tool, args, self.orders[f"{kind}_blocked"])

	def test_shared_documents_follow_the_share_and_the_read_scope(self):
		shared = self.customers["shared"]
		got = self.call(SHARE_USER, "get_generic_document", {"doctype": "Customer", "name": shared})
		self.assertFalse(got.get("isError"), got)
		before = snapshot()
		updated = self.call(
			SHARE_USER,
			"update_generic_document",
			{"doctype": "Customer", "name": shared, "values": {"website": "https://shared.example"}},
		)
		self.assertFalse(updated.get("isError"), updated)
		self.assertEqual(frappe.db.get_value("Customer", shared, "website"), "https://shared.example")
		self.assertEqual(snapshot()["Sales Order"], before["Sales Order"])
		# Shared for read and write, not delete: ERPNext's role refusal, the same for any name.
		refused = self.call(SHARE_USER, "delete_generic_document", {"doctype": "Customer", "name": shared})
		self.assertIn("do not allow delete", answer_text(refused))
		self.assertTrue(frappe.db.exists("Customer", shared))

	def test_shared_but_outside_the_read_scope_does_not_exist(self):
		for tool, args in self.CUSTOMER_TOOLS[:6]:
			with self.subTest(tool=tool, args=args):
				self.assert_hidden(SHARE_USER, tool, args, self.customers["shared_outside"])

	# ---------------------------------------------------------------- the scenarios
	def test_update_cannot_move_a_document_out_of_the_read_scope(self):
		before = snapshot()
		refused = self.call(
			GATE_USER,
			"update_generic_document",
			{
				"doctype": "Customer",
				"name": self.customers["inside"],
				"values": {"customer_group": GROUP_OUT},
			},
		)
		self.assertIn("may not move a document out of the read conditions", answer_text(refused))
		self.assertEqual(snapshot(), before)
		self.assertEqual(
			frappe.db.get_value("Customer", self.customers["inside"], "customer_group"), GROUP_IN
		)

	def test_explain_access_reads_out_nothing_of_a_hidden_document(self):
		result = self.call(
			GATE_USER,
			"explain_access",
			{"doctype": "Customer", "operation": "update", "name": self.customers["outside"]},
		)
		self.assertTrue(result.get("isError"))
		self.assertNotIn(GROUP_OUT, answer_text(result))
		self.assertIn("was not found, or you are not allowed to see it", answer_text(result))

	def test_desk_test_this_profile_shows_the_administrator_why(self):
		from erpnext_mcp.api.profiles import explain_for_user

		answer = explain_for_user("gate", GATE_USER, "Customer", "update", name=self.customers["outside"])
		self.assertFalse(answer["allowed"])
		layers = {layer["layer"]: layer for layer in answer["layers"]}
		self.assertFalse(layers["MCP read conditions"]["allowed"])
		self.assertIn("customer_group", layers["MCP read conditions"]["detail"])

	def test_submit_and_cancel_use_update_conditions_and_their_own(self):
		draft = self.orders["draft_inside"]
		below_5 = {
			"document_type": "Sales Order",
			"applies_to": "Update",
			"fieldname": "grand_total",
			"operator": "<",
			"value": "5",
		}
		self.gate_profile([below_5])
		refused = self.call(GATE_USER, "submit_document", {"doctype": "Sales Order", "name": draft})
		self.assertIn("refuses to submit this Sales Order", answer_text(refused))
		self.assertEqual(frappe.db.get_value("Sales Order", draft, "docstatus"), 0)
		self.gate_profile([below_5, {**below_5, "applies_to": "Submit", "value": "100"}])
		done = self.call(GATE_USER, "submit_document", {"doctype": "Sales Order", "name": draft})
		self.assertFalse(done.get("isError"), done)
		self.assertEqual(frappe.db.get_value("Sales Order", draft, "docstatus"), 1)

	def test_delete_conditions_bind(self):
		self.gate_profile(
			[
				{
					"document_type": "Customer",
					"applies_to": "Delete",
					"fieldname": "disabled",
					"operator": "=",
					"value": "1",
				}
			]
		)
		refused = self.call(
			GATE_USER, "delete_generic_document", {"doctype": "Customer", "name": self.customers["inside"]}
		)
		self.assertIn("refuses to delete this Customer", answer_text(refused))
		self.assertTrue(frappe.db.exists("Customer", self.customers["inside"]))

	# ---------------------------------------------------------------- DocType flags and errors
	def test_read_only_and_set_only_once_fields_are_refused_naming_the_field(self):
		before = snapshot()
		for tool, args in (
			("update_generic_document", {"doctype": "Sales Order"}),
			("update_sales_order_document", {}),
		):
			refused = self.call(
				GATE_USER, tool, {**args, "name": self.orders["draft_inside"], "values": {"grand_total": 1}}
			)
			self.assertIn("grand_total", answer_text(refused))
			self.assertIn("read-only", answer_text(refused))
		refused = self.call(
			GATE_USER,
			"update_generic_document",
			{
				"doctype": "Customer",
				"name": self.customers["inside"],
				"values": {"naming_series": "GATE-.###"},
			},
		)
		self.assertIn("naming_series", answer_text(refused))
		self.assertIn("can only be set when the document is created", answer_text(refused))
		self.assertEqual(snapshot(), before)

	def test_a_missing_link_is_named_not_taken_for_the_target(self):
		before = snapshot()
		result = self.call(
			GATE_USER,
			"create_generic_document",
			{
				"doctype": "Sales Order",
				"values": {
					"customer": self.customers["inside"],
					"delivery_date": "2027-06-30",
					"items": [
						{"item_code": "MCP-GATE-NOPE-1", "qty": 1, "rate": 10, "delivery_date": "2027-06-30"}
					],
				},
			},
		)
		error = json.loads(answer_text(result))
		self.assertEqual(error["error"], "validation_failed", error)
		self.assertIn("MCP-GATE-NOPE-1", error["message"])
		self.assertNotIn("Sales Order was not found", error["message"])
		self.assertEqual(snapshot(), before)

	def test_a_customer_without_its_name_lists_the_missing_mandatory_field(self):
		before = snapshot()
		result = self.call(
			GATE_USER,
			"create_generic_document",
			{"doctype": "Customer", "values": {"customer_type": "Company"}},
		)
		error = json.loads(answer_text(result))
		self.assertEqual(error["error"], "validation_failed", error)
		self.assertIn("customer_name (Customer Name)", error["message"])
		self.assertEqual(snapshot(), before)
