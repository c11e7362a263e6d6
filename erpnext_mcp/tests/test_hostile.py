"""Hostile input against the real endpoint on a real ERPNext site, table by table. Every case asserts
the refusal, that nothing leaked (no secret value in the answer), and that the database is unchanged.
Authentication over real HTTP lives in tests_e2e/test_hostile_http.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import frappe

from erpnext_mcp.tests.test_endpoint import make_customer, make_supplier
from erpnext_mcp.tests.test_profiles import ITEM, make_item
from erpnext_mcp.tests.utils import (
	BUYER_USER,
	SALES_MANAGER,
	SALES_USER,
	TEST_USERS,
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

RESTRICTED_USER = "mcp-restricted@example.com"
MASTER_USER = "mcp-sales-master@example.com"
SECRET = "SECRET-TAX-HOSTILE"
WATCHED = (
	"Customer",
	"Sales Order",
	"Sales Order Item",
	"MCP Permission Profile",
	"User",
	"Has Role",
	"DocShare",
)


@dataclass
class Case:
	category: str
	name: str
	body: Any  # a JSON-RPC message (dict/list), raw bytes, or ("tool", name, arguments)
	user: str = SALES_USER
	headers: dict[str, str] = field(default_factory=dict)
	method: str = "POST"
	status: int | tuple[int, ...] | None = None  # expected HTTP status(es) when not 200
	error_code: int | None = None  # expected JSON-RPC error code
	mentions: tuple[str, ...] = ()  # words the refusal must contain (it names the problem)
	forbidden: tuple[str, ...] = ()  # values that must not appear anywhere in the answer


def tool(tool_name, /, **arguments):
	return ("tool", tool_name, arguments)


def L(**args):
	return tool("list_generic_documents", doctype="Customer", **args)


def snapshot() -> dict[str, Any]:
	out = {}
	for doctype in WATCHED:
		rows = frappe.db.sql(f"select name, modified from `tab{doctype}` order by name")
		out[doctype] = [(r[0], str(r[1])) for r in rows]
	return out


class TestHostileInput(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		ensure_user(RESTRICTED_USER, ["Sales User"])
		ensure_user(MASTER_USER, ["Sales User", "Sales Master Manager"])
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		for territory in ("MCP North", "MCP South"):
			if not frappe.db.exists("Territory", territory):
				frappe.get_doc(
					{
						"doctype": "Territory",
						"territory_name": territory,
						"parent_territory": "All Territories",
					}
				).insert(ignore_permissions=True)
		cls.north = make_customer("MCP Hostile North", territory="MCP North", tax_id=SECRET)
		cls.south = make_customer("MCP Hostile South", territory="MCP South")
		cls.disabled = make_customer("MCP Hostile Disabled", disabled=1)
		cls.supplier = make_supplier("MCP Hostile Supplier")
		make_item()
		if not frappe.db.exists("User Permission", {"user": RESTRICTED_USER, "allow": "Territory"}):
			frappe.get_doc(
				{
					"doctype": "User Permission",
					"user": RESTRICTED_USER,
					"allow": "Territory",
					"for_value": "MCP North",
				}
			).insert(ignore_permissions=True)
		frappe.share.add_docshare(
			"Customer", cls.south, BUYER_USER, read=1, flags={"ignore_share_permission": True}
		)
		sales_rules = [
			rule("Customer", "read,create,update,delete", restricted_fields="tax_id"),
			rule("Sales Order", "read,create,update,submit"),
			rule("Sales Order Item", "read", restricted_fields="discount_percentage"),
			rule("User"),  # protected: stays closed without "Open a Protected DocType"
			rule("MCP Permission Profile"),
		]
		conditions = [
			{
				"document_type": "Customer",
				"applies_to": "Create",
				"fieldname": "territory",
				"operator": "in",
				"value": "MCP North\nMCP South",
			},
			{
				"document_type": "Customer",
				"applies_to": "Create and Update",
				"fieldname": "customer_type",
				"operator": "not in",
				"value": "Partnership",
			},
			{
				"document_type": "Customer",
				"applies_to": "Update",
				"fieldname": "disabled",
				"operator": "not in",
				"value": "1",
			},
		]
		ensure_profile("hostile sales", roles=["Sales User"], rules=sales_rules, conditions=conditions)
		ensure_profile("hostile buyers", roles=["Purchase User"], rules=[rule("Customer"), rule("Supplier")])
		enable_mcp(allowed_origins="https://allowed.example", default_profile=None)
		frappe.set_user(SALES_USER)
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"customer": cls.north,
				"company": frappe.get_all("Company", pluck="name")[0],
				"delivery_date": "2026-12-31",
				"items": [{"item_code": ITEM, "qty": 2, "rate": 50, "discount_percentage": 9}],
			}
		)
		order.insert()
		cls.order = order.name
		cls.order_row = order.items[0].name
		frappe.set_user("Administrator")
		cls.other_order_row = cls.order_row

	def run_case(self, case: Case) -> None:
		before = snapshot()
		client = InProcessClient(case.user)
		if isinstance(case.body, tuple) and case.body[0] == "tool":
			response = client.post(
				{
					"jsonrpc": "2.0",
					"id": 1,
					"method": "tools/call",
					"params": {"name": case.body[1], "arguments": case.body[2]},
				},
				headers=case.headers,
			)
		else:
			response = client.post(case.body, headers=case.headers, method=case.method)
		text = response.body.decode("utf-8", "replace")
		body = response.json() if response.body else None
		refused = False
		if case.status is not None:
			expected = case.status if isinstance(case.status, tuple) else (case.status,)
			self.assertIn(response.status, expected, text)
			refused = True
		if case.error_code is not None:
			self.assertEqual(body["error"]["code"], case.error_code, text)
			refused = True
		if not refused:
			self.assertEqual(response.status, 200, text)
			if "error" in body:
				refused = True
			else:
				self.assertTrue(body["result"].get("isError"), f"not refused: {text[:500]}")
				self.assertNotIn("structuredContent", body["result"])
				refused = True
		for word in case.mentions:
			self.assertIn(word.lower(), text.lower(), text)
		for secret in (SECRET, *case.forbidden):
			self.assertNotIn(secret, text)
		for leak in ("Traceback", "pymysql", "SELECT ", "/opt/", "/work/", "tabCustomer"):
			self.assertNotIn(leak, text)
		self.assertEqual(snapshot(), before, f"{case.category}/{case.name} changed the database")

	def run_table(self, cases: list[Case]) -> None:
		for case in cases:
			with self.subTest(category=case.category, case=case.name):
				self.run_case(case)

	# ------------------------------------------------------------ authentication (in-process part)
	def test_authentication(self):
		msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
		self.run_table(
			[
				Case("auth", "guest", msg, user="Guest", status=401, mentions=("Authorization",)),
				Case(
					"auth",
					"administrator",
					msg,
					user="Administrator",
					status=403,
					mentions=("Administrator",),
				),
				Case(
					"auth",
					"foreign origin",
					msg,
					headers={"Origin": "https://evil.example"},
					status=403,
					mentions=("evil.example",),
				),
				Case("auth", "null origin", msg, headers={"Origin": "null"}, status=403),
				Case(
					"auth",
					"unknown protocol version",
					msg,
					headers={"MCP-Protocol-Version": "1999-01-01"},
					status=400,
				),
				Case(
					"auth",
					"garbage protocol version",
					msg,
					headers={"MCP-Protocol-Version": "'; drop table"},
					status=400,
				),
			]
		)

	# ------------------------------------------------------------ transport
	def test_transport(self):
		deep = b"[" * 100_000 + b"]" * 100_000
		self.run_table(
			[
				Case("transport", "malformed json", b'{"jsonrpc": "2.0", "id": 1,', error_code=-32700),
				Case("transport", "empty body", b"", status=400),
				Case("transport", "json string body", b'"tools/list"', status=400),
				Case(
					"transport",
					"batch",
					[
						{"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
						{"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
					],
					status=400,
				),
				Case("transport", "deep nesting", deep, status=400),
				Case(
					"transport",
					"huge body",
					b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": "'
					+ b"a" * (5 * 1024 * 1024)
					+ b'"}}',
					status=413,
				),
				Case(
					"transport",
					"wrong content type",
					{"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
					headers={"Content-Type": "text/plain"},
					status=(400, 415),
				),
				Case(
					"transport",
					"no accept",
					{"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
					headers={"Accept": "text/html"},
					status=406,
				),
				Case("transport", "GET", b"", method="GET", status=405),
				Case("transport", "DELETE", b"", method="DELETE", status=405),
				Case(
					"transport",
					"unknown method",
					{"jsonrpc": "2.0", "id": 1, "method": "admin/shell"},
					error_code=-32601,
				),
				Case(
					"transport",
					"params not an object",
					{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"},
					status=400,
				),
				Case(
					"transport",
					"tool arguments not an object",
					{
						"jsonrpc": "2.0",
						"id": 1,
						"method": "tools/call",
						"params": {"name": "list_doctypes", "arguments": [1]},
					},
					error_code=-32602,
				),
			]
		)

	# ------------------------------------------------------------ query injection
	def test_query_injection(self):
		self.run_table(
			[
				Case(
					"query",
					"subquery in fields",
					L(fields=["name, (select password from `__Auth`)"]),
					mentions=("field name",),
				),
				Case("query", "backticks in fields", L(fields=["`tabUser`.`name`"])),
				Case("query", "table.field", L(fields=["tabUser.name"])),
				Case("query", "function in fields", L(fields=["count(*)"])),
				Case("query", "alias in fields", L(fields=["name as password"])),
				Case("query", "star with more", L(fields=["*", "name"])),
				Case("query", "comment in fields", L(fields=["name -- "])),
				Case("query", "unknown field", L(fields=["no_such_field"]), mentions=("no field",)),
				Case("query", "string filters", L(filters="name = 'x' or 1=1")),
				Case(
					"query",
					"operator injection",
					L(filters=[{"field": "name", "op": "= 1 or 1=1 --", "value": "x"}]),
				),
				Case(
					"query",
					"regexp operator",
					L(filters=[{"field": "customer_name", "op": "regexp", "value": ".*"}]),
				),
				Case(
					"query",
					"field injection in filters",
					L(filters=[{"field": "sleep(3)", "op": "=", "value": 1}]),
				),
				Case("query", "filter key injection", L(filters={"name` = name or `name": "x"})),
				Case(
					"query",
					"filter value object",
					L(filters=[{"field": "name", "op": "=", "value": {"$ne": 1}}]),
				),
				Case("query", "order_by string", L(order_by="name; drop table tabCustomer")),
				Case(
					"query",
					"order_by field injection",
					L(order_by={"field": "(select 1)", "direction": "asc"}),
				),
				Case(
					"query",
					"order_by direction injection",
					L(order_by={"field": "name", "direction": "asc, (select 1)"}),
				),
				Case("query", "limit zero", L(limit=0)),
				Case("query", "limit huge", L(limit=1_000_000)),
				Case("query", "negative start", L(start=-5)),
				Case("query", "string limit", L(limit="10; drop")),
				Case(
					"query",
					"ignore_permissions",
					L(ignore_permissions=True),
					mentions=("ignore_permissions",),
				),
				Case("query", "user override", L(user="Administrator")),
				Case("query", "debug", L(debug=True)),
				Case("query", "group_by", L(group_by="tax_id")),
				Case("query", "join", L(join="left join tabUser")),
				Case(
					"query",
					"doctype injection",
					tool("list_generic_documents", doctype="Customer`; drop table x; --"),
				),
				Case(
					"query",
					"filter oracle on restricted field",
					L(filters={"tax_id": SECRET}),
					mentions=("tax_id",),
				),
				Case(
					"query",
					"like oracle on restricted field",
					L(filters=[{"field": "tax_id", "op": "like", "value": "SECRET%"}]),
					mentions=("tax_id",),
				),
				Case(
					"query",
					"order oracle on restricted field",
					L(order_by={"field": "tax_id"}),
					mentions=("tax_id",),
				),
				Case(
					"query",
					"search filter oracle",
					tool(
						"search_generic_documents",
						doctype="Customer",
						query="MCP",
						filters={"tax_id": SECRET},
					),
					mentions=("tax_id",),
				),
				Case("query", "child table as field", L(fields=["companies"])),
				Case(
					"query",
					"filter on child field",
					tool("list_generic_documents", doctype="Sales Order", filters={"discount_percentage": 9}),
				),
			]
		)

	def test_injection_in_values_is_data(self):
		# A hostile value is a value: escaped by Frappe, it matches nothing and leaks nothing.
		client = InProcessClient(SALES_USER)
		for value in ("x' or '1'='1", 'x" or "1"="1', "%' union select name from tabUser -- "):
			with self.subTest(value=value):
				before = snapshot()
				result = client.call(
					"list_generic_documents", {"doctype": "Customer", "filters": {"customer_name": value}}
				)
				self.assertEqual(result["structuredContent"]["documents"], [])
				self.assertEqual(snapshot(), before)
		wildcard = client.call("search_generic_documents", {"doctype": "Customer", "query": "%"})
		self.assertEqual(wildcard["structuredContent"]["documents"], [])  # % is a character, not a wildcard

	# ------------------------------------------------------------ permission escape
	def test_permission_escape(self):
		self.run_table(
			[
				Case(
					"escape",
					"ERPNext allows delete, profile does not",
					tool("delete_generic_document", doctype="Sales Order", name=self.order),
					mentions=("hostile sales",),
				),
				Case(
					"escape",
					"profile allows delete, ERPNext does not",
					tool("delete_generic_document", doctype="Customer", name=self.south),
					mentions=("ERPNext",),
				),
				Case(
					"escape",
					"DocType not in profile",
					tool("list_generic_documents", doctype="Supplier"),
					forbidden=(self.supplier,),
				),
				Case(
					"escape",
					"protected DocType with a rule",
					tool("list_generic_documents", doctype="User"),
					mentions=("protected",),
					forbidden=("mcp-sales",),
				),
				Case(
					"escape",
					"protected MCP profile",
					tool("get_generic_document", doctype="MCP Permission Profile", name="hostile sales"),
					# ERPNext's roles answer first (a Sales User may not read profiles at all).
					mentions=("do not allow read on MCP Permission Profile",),
				),
				Case(
					"escape",
					"protected for a manager too",
					tool("list_generic_documents", doctype="User"),
					user=SALES_MANAGER,
					mentions=("protected",),
				),
				Case(
					"escape",
					"User Permission: other territory",
					tool("get_generic_document", doctype="Customer", name=self.south),
					user=RESTRICTED_USER,
					forbidden=("MCP South",),
				),
				Case(
					"escape",
					"child table directly",
					tool("get_generic_document", doctype="Sales Order Item", name=self.order_row),
					mentions=("child table",),
					forbidden=("MCP-TEST-ITEM",),
				),
				Case(
					"escape",
					"child table listed directly",
					tool(
						"list_generic_documents", doctype="Sales Order Item", filters={"parent": self.order}
					),
					mentions=("child table",),
				),
				Case(
					"escape",
					"child table through describe",
					tool("describe_doctype", doctype="Sales Order Item"),
					mentions=("child table",),
				),
				Case(
					"escape",
					"shared doc: not shared one",
					tool("get_generic_document", doctype="Customer", name=self.north),
					user=BUYER_USER,
					forbidden=("MCP North",),
				),
				Case(
					"escape",
					"nonexistent document",
					tool("get_generic_document", doctype="Customer", name="no-such-customer"),
					mentions=("not found",),
				),
				Case(
					"escape",
					"nonexistent DocType",
					tool("get_generic_document", doctype="No Such DocType", name="x"),
					mentions=("does not exist", "list_doctypes"),
				),
			]
		)

	def test_user_permissions_and_sharing_still_allow_what_they_allow(self):
		restricted = InProcessClient(RESTRICTED_USER).call(
			"list_generic_documents", {"doctype": "Customer", "limit": 100}
		)
		names = {d["name"] for d in restricted["structuredContent"]["documents"]}
		self.assertIn(self.north, names)
		self.assertNotIn(self.south, names)
		shared = InProcessClient(BUYER_USER).call(
			"get_generic_document", {"doctype": "Customer", "name": self.south}
		)
		self.assertFalse(shared.get("isError"), shared)
		# As in Desk, a shared document shows its level-0 fields to a user without a role on the DocType.
		self.assertEqual(shared["structuredContent"]["document"]["customer_name"], "MCP Hostile South")

	# ------------------------------------------------------------ write smuggling
	def test_write_smuggling(self):
		def U(values, name=None):
			return tool("update_generic_document", doctype="Customer", name=name or self.north, values=values)

		def C(values):
			return tool("create_generic_document", doctype="Customer", values=values)

		base = {"customer_name": "MCP Smuggled", "territory": "MCP North"}
		self.run_table(
			[
				Case("smuggle", "name", U({"name": "renamed"}), mentions=("cannot be written",)),
				Case("smuggle", "name on create", C({**base, "name": "CHOSEN"})),
				Case("smuggle", "owner", U({"owner": "Administrator"})),
				Case("smuggle", "creation", U({"creation": "2000-01-01"})),
				Case("smuggle", "modified", U({"modified": "2000-01-01"})),
				Case("smuggle", "modified_by", U({"modified_by": "Administrator"})),
				Case(
					"smuggle",
					"docstatus",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"docstatus": 1},
					),
					mentions=("submit_document",),
				),
				Case("smuggle", "docstatus on create", C({**base, "docstatus": 1})),
				Case("smuggle", "parent", U({"parent": "x"})),
				Case("smuggle", "parenttype", U({"parenttype": "x"})),
				Case("smuggle", "idx", U({"idx": 9})),
				Case(
					"smuggle",
					"amended_from",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"amended_from": "X"},
					),
				),
				Case("smuggle", "flags", U({"flags": {"ignore_permissions": 1}})),
				Case("smuggle", "dunder key", U({"__islocal": 1})),
				Case("smuggle", "doctype key", U({"doctype": "User"})),
				Case(
					"smuggle",
					"permlevel field",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"ignore_pricing_rule": 1},
					),
					mentions=("permission level",),
				),
				Case("smuggle", "restricted field", U({"tax_id": "X"}), mentions=("tax_id",)),
				Case(
					"smuggle",
					"restricted child field",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"items": [{"name": self.order_row, "discount_percentage": 90}]},
					),
					mentions=("discount_percentage",),
				),
				Case(
					"smuggle",
					"system field in child row",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"items": [{"name": self.order_row, "parent": "other"}]},
					),
				),
				Case(
					"smuggle",
					"foreign child row",
					tool(
						"update_generic_document",
						doctype="Sales Order",
						name=self.order,
						values={"items": [{"name": "not-a-row-of-this", "qty": 1}]},
					),
					mentions=("not a row of",),
				),
				Case(
					"smuggle",
					"condition dodged by omission",
					C({"customer_name": "MCP No Territory"}),
					mentions=("territory",),
				),
				Case(
					"smuggle",
					"condition dodged by case",
					C({**base, "customer_type": "PARTNERSHIP"}),
					mentions=("customer_type",),
				),
				Case(
					"smuggle",
					"condition dodged by whitespace",
					C({**base, "customer_type": " Partnership "}),
					mentions=("customer_type",),
				),
				Case("smuggle", "condition dodged by type", U({"disabled": "1"}), mentions=("disabled",)),
				Case(
					"smuggle",
					"update of disabled",
					U({"customer_name": "x"}, name=self.disabled),
					mentions=("disabled",),
				),
				Case("smuggle", "unknown field", U({"no_such_field": 1}), mentions=("no field",)),
				Case("smuggle", "nested value", U({"customer_name": {"$set": "x"}})),
			]
		)

	def test_second_update_cannot_reach_a_forbidden_state(self):
		client = InProcessClient(SALES_USER)
		first = client.call(
			"update_generic_document",
			{"doctype": "Customer", "name": self.north, "values": {"customer_type": "Individual"}},
		)
		self.assertFalse(first.get("isError"), first)
		before = snapshot()
		second = client.call(
			"update_generic_document",
			{"doctype": "Customer", "name": self.north, "values": {"customer_type": "Partnership"}},
		)
		self.assertTrue(second.get("isError"))
		self.assertEqual(snapshot(), before)

	# ------------------------------------------------------------ faults
	def test_faults(self):
		first = InProcessClient(SALES_USER).call(
			"create_generic_document",
			{
				"doctype": "Customer",
				"values": {"customer_name": "MCP Keyed", "territory": "MCP North"},
				"idempotency_key": "hostile-key-0001",
			},
		)
		self.assertFalse(first.get("isError"), first)
		self.run_table(
			[
				Case(
					"fault",
					"write failing halfway",
					tool(
						"update_generic_document",
						doctype="Customer",
						name=self.north,
						values={"customer_name": "Half Written", "customer_group": "No Such Group"},
					),
					mentions=("No Such Group",),
					forbidden=("Half Written",),
				),
				Case(
					"fault",
					"stale expected_modified",
					tool(
						"update_generic_document",
						doctype="Customer",
						name=self.north,
						values={"customer_name": "Lost Update"},
						expected_modified="2001-01-01 00:00:00",
					),
					mentions=("conflict",),
				),
				Case(
					"fault",
					"delete of a linked document",
					tool("delete_generic_document", doctype="Customer", name=self.north),
					user=MASTER_USER,
					mentions=("disable",),
				),
				Case(
					"fault",
					"submit of a non-submittable DocType",
					tool("submit_document", doctype="Customer", name=self.north),
					mentions=("submit",),
				),
				Case(
					"fault",
					"idempotency key reused with other values",
					tool(
						"create_generic_document",
						doctype="Customer",
						values={"customer_name": "Other", "territory": "MCP North"},
						idempotency_key="hostile-key-0001",
					),
					mentions=("idempotency_key",),
				),
			]
		)

	def test_retried_create_makes_one_document(self):
		client = InProcessClient(SALES_USER)
		args = {
			"doctype": "Customer",
			"values": {"customer_name": "MCP Retry Once", "territory": "MCP North"},
			"idempotency_key": "hostile-retry-42",
		}
		first = client.call("create_generic_document", args)
		second = client.call("create_generic_document", args)
		self.assertEqual(first["structuredContent"]["name"], second["structuredContent"]["name"])
		self.assertEqual(frappe.db.count("Customer", {"customer_name": "MCP Retry Once"}), 1)

	@classmethod
	def tearDownClass(cls):
		frappe.cache.delete_keys("erpnext_mcp:idempotency")
		super().tearDownClass()


class TestDatabaseContention(IntegrationTestCase):
	def test_deadlocks_and_lock_timeouts_are_retryable_and_say_nothing_was_saved(self):
		from erpnext_mcp.data.frappe_backend import translated_errors
		from erpnext_mcp.exceptions import Unavailable

		for exc in (
			frappe.QueryDeadlockError("Deadlock found when trying to get lock; try restarting transaction"),
			frappe.QueryTimeoutError("Lock wait timeout exceeded; try restarting transaction"),
		):
			with self.subTest(exc=type(exc).__name__):
				with self.assertRaises(Unavailable) as caught:
					with translated_errors("Customer", "X"):
						raise exc
				self.assertTrue(caught.exception.retryable)
				self.assertIn("nothing was saved", caught.exception.message)
				self.assertNotIn("transaction", caught.exception.message)
