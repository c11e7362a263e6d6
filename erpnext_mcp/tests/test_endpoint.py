"""The real endpoint on a real ERPNext site, driven in-process as users with different ERPNext roles."""

from __future__ import annotations

import frappe

from erpnext_mcp.server.sdk import HANDSHAKE_VERSIONS
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
	error_text,
	rule,
)

READ_TOOLS = (
	"test_connection",
	"list_doctypes",
	"get_doctype_permissions",
	"describe_doctype",
	"get_generic_document",
	"list_generic_documents",
	"search_generic_documents",
)


def make_customer(name: str, territory: str = "All Territories", **kw) -> str:
	if frappe.db.exists("Customer", name):
		return name
	doc = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": name,
			"customer_type": "Company",
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
			or "All Customer Groups",
			"territory": territory,
			**kw,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def make_supplier(name: str) -> str:
	if frappe.db.exists("Supplier", name):
		return name
	doc = frappe.get_doc(
		{
			"doctype": "Supplier",
			"supplier_name": name,
			"supplier_group": frappe.db.get_value("Supplier Group", {"is_group": 0}, "name")
			or "All Supplier Groups",
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


class TestEndpoint(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		everything = [rule("Customer"), rule("Supplier"), rule("Sales Order"), rule("Sales Invoice")]
		ensure_profile("Test Everyone Reads", roles=["Sales User", "Purchase User"], rules=everything)
		enable_mcp(allowed_origins="", default_profile=None)
		cls.customer = make_customer("MCP Test Customer Alpha")
		cls.supplier = make_supplier("MCP Test Supplier Beta")

	def test_handshake_negotiates_each_revision(self):
		client = InProcessClient(SALES_USER)
		for version in HANDSHAKE_VERSIONS:
			body = client.rpc(
				"initialize",
				{
					"protocolVersion": version,
					"capabilities": {},
					"clientInfo": {"name": "t2", "version": "1"},
				},
			)
			self.assertEqual(body["result"]["protocolVersion"], version)

	def test_every_read_tool_is_listed_and_answers(self):
		client = InProcessClient(SALES_USER)
		tools = {t["name"]: t for t in client.tools()}
		for name in READ_TOOLS:
			self.assertIn(name, tools)
			self.assertIs(tools[name]["annotations"]["readOnlyHint"], True)
		conn = client.call("test_connection")["structuredContent"]
		self.assertEqual(conn["user"], SALES_USER)
		self.assertEqual(conn["site"], frappe.local.site)
		self.assertTrue(conn["erpnext_version"].startswith(("15.", "16.")))
		self.assertEqual(conn["protocol_version"], "2025-06-18")
		doctypes = [d["name"] for d in client.call("list_doctypes")["structuredContent"]["doctypes"]]
		self.assertIn("Customer", doctypes)
		self.assertIn("Sales Order", doctypes)
		self.assertNotIn(
			"Supplier", doctypes
		)  # the profile names it, ERPNext does not let a Sales User read it
		perms = client.call("get_doctype_permissions", {"doctype": "Customer"})["structuredContent"]
		self.assertTrue(perms["operations"]["read"]["allowed"])
		self.assertFalse(perms["operations"]["delete"]["allowed"])
		described = client.call("describe_doctype", {"doctype": "Sales Order"})["structuredContent"]
		items = next(f for f in described["fields"] if f["fieldname"] == "items")
		self.assertEqual(items["child_doctype"], "Sales Order Item")
		self.assertIn("item_code", {f["fieldname"] for f in items["columns"]})
		doc = client.call("get_generic_document", {"doctype": "Customer", "name": self.customer})
		self.assertEqual(doc["structuredContent"]["document"]["customer_name"], "MCP Test Customer Alpha")
		listed = client.call(
			"list_generic_documents",
			{
				"doctype": "Customer",
				"fields": ["customer_name", "territory"],
				"filters": [{"field": "customer_name", "op": "like", "value": "MCP Test Customer%"}],
				"order_by": {"field": "customer_name", "direction": "asc"},
			},
		)["structuredContent"]
		self.assertIn(self.customer, [d["name"] for d in listed["documents"]])
		found = client.call("search_generic_documents", {"doctype": "Customer", "query": "Customer Alpha"})
		self.assertIn(self.customer, [d["name"] for d in found["structuredContent"]["documents"]])

	def test_what_one_user_reads_the_other_may_not(self):
		sales, buyer = InProcessClient(SALES_USER), InProcessClient(BUYER_USER)
		self.assertFalse(
			sales.call("get_generic_document", {"doctype": "Customer", "name": self.customer}).get("isError")
		)
		refused = buyer.call("get_generic_document", {"doctype": "Customer", "name": self.customer})
		text = error_text(refused)
		self.assertIn("do not allow read on Customer", text)
		self.assertNotIn("Alpha", text)
		self.assertFalse(
			buyer.call("get_generic_document", {"doctype": "Supplier", "name": self.supplier}).get("isError")
		)
		text = error_text(sales.call("list_generic_documents", {"doctype": "Supplier"}))
		self.assertIn("Supplier", text)
		self.assertNotIn(self.supplier, text)

	def test_permlevel_fields_follow_the_users_roles(self):
		# Sales Order.ignore_pricing_rule sits at permlevel 1: Sales Manager may read it, Sales User not.
		sales = InProcessClient(SALES_USER).call("describe_doctype", {"doctype": "Sales Order"})[
			"structuredContent"
		]
		manager = InProcessClient(SALES_MANAGER).call("describe_doctype", {"doctype": "Sales Order"})[
			"structuredContent"
		]
		self.assertNotIn("ignore_pricing_rule", {f["fieldname"] for f in sales["fields"]})
		self.assertIn("ignore_pricing_rule", {f["fieldname"] for f in manager["fields"]})
		refused = InProcessClient(SALES_USER).call(
			"list_generic_documents", {"doctype": "Sales Order", "fields": ["ignore_pricing_rule"]}
		)
		self.assertIn("permission level", error_text(refused))

	def test_a_field_moved_to_a_closed_permlevel_is_gone_from_the_next_request(self):
		"""As a patch edits a DocField directly and then clears the DocType's cached meta: no doc event
		renews the permission epoch, and the DocType's `modified` stays; Frappe's metadata_version is
		what tells the next request that the schema changed."""
		client = InProcessClient(SALES_USER)

		def fields() -> set[str]:
			described = client.call("describe_doctype", {"doctype": "Customer"})["structuredContent"]
			return {f["fieldname"] for f in described["fields"]}

		self.assertIn("website", fields())
		fields()  # the description is now kept by this process
		filters = {"parent": "Customer", "fieldname": "website"}
		level = frappe.db.get_value("DocField", filters, "permlevel")
		frappe.db.set_value("DocField", filters, "permlevel", 7, update_modified=False)
		frappe.clear_cache(doctype="Customer")
		try:
			self.assertNotIn("website", fields())
			refused = client.call("list_generic_documents", {"doctype": "Customer", "fields": ["website"]})
			self.assertIn("permission level", error_text(refused))
		finally:
			frappe.db.set_value("DocField", filters, "permlevel", level, update_modified=False)
			frappe.clear_cache(doctype="Customer")
		self.assertIn("website", fields())

	def test_guest_gets_401_with_www_authenticate(self):
		response = InProcessClient("Guest").post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
		self.assertEqual(response.status, 401)
		self.assertIn("realm", response.headers["WWW-Authenticate"])
		self.assertNotIn("Traceback", response.body.decode())

	def test_get_is_405_and_foreign_origin_403(self):
		client = InProcessClient(SALES_USER)
		self.assertEqual(client.post(b"", method="GET").status, 405)
		response = client.post(
			{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={"Origin": "https://evil.example"}
		)
		self.assertEqual(response.status, 403)

	def test_disabled_endpoint_refuses_with_a_clear_message(self):
		enable_mcp(enabled=0)
		try:
			response = InProcessClient(SALES_USER).post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
			self.assertEqual(response.status, 503)
			self.assertIn("disabled", response.json()["error"]["message"])
		finally:
			enable_mcp(enabled=1)

	def test_administrator_is_refused_unless_allowed(self):
		response = InProcessClient("Administrator").post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
		self.assertEqual(response.status, 403)
		self.assertIn("Administrator", response.json()["error"]["message"])

	def test_malformed_json_and_unknown_method(self):
		client = InProcessClient(SALES_USER)
		response = client.post(b'{"jsonrpc": "2.0", "id": 1,')
		self.assertEqual(response.json()["error"]["code"], -32700)
		body = client.rpc("no/such/method")
		self.assertIn(body["error"]["code"], (-32601, -32602))

	def test_user_without_profile_gets_only_test_connection(self):
		lonely = ensure_user("mcp-lonely@example.com", ["Stock User"])
		client = InProcessClient(lonely)
		self.assertEqual([t["name"] for t in client.tools()], ["test_connection"])
		self.assertIn("no MCP permission profile", error_text(client.call("list_doctypes")))
