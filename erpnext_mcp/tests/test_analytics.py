"""Totals, reports, conversions and link search on a real ERPNext site, as restricted users: every
answer is checked against the database as the Administrator sees it, and every refusal against an
unchanged database."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.data.conversions import CONVERSIONS
from erpnext_mcp.tests.test_endpoint import make_customer, make_supplier
from erpnext_mcp.tests.test_gate import _ensure, _order
from erpnext_mcp.tests.test_profiles import ITEM, make_item
from erpnext_mcp.tests.utils import (
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

USER = "mcp-analytics@example.com"  # Sales and Accounts: ERPNext lets it read all of the below
CONVERTER = "mcp-analytics-convert@example.com"  # Sales, Purchase, Stock and Accounts: every conversion
NO_ACCOUNTS = "mcp-analytics-sales@example.com"  # Sales only: ERPNext keeps Accounts Receivable from it
GROUP_IN, GROUP_OUT = "MCP Analytics Retail", "MCP Analytics Wholesale"
CUSTOMERS = {
	"MCP Analytics Alpha": GROUP_IN,
	"MCP Analytics Beta": GROUP_IN,
	"MCP Analytics Gamma": GROUP_OUT,
}
REPORT = "Accounts Receivable"


def answer(result: dict) -> dict:
	return json.loads("".join(c.get("text", "") for c in result["content"]))


def invoice_count() -> int:
	return frappe.db.count("Sales Invoice")


class TestAnalytics(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		ensure_user(USER, ["Sales User", "Sales Manager", "Accounts User"])
		ensure_user(NO_ACCOUNTS, ["Sales User"])
		ensure_user(CONVERTER, ["Sales User", "Purchase User", "Stock User", "Accounts User"])
		for group in (GROUP_IN, GROUP_OUT):
			_ensure(
				"Customer Group",
				group,
				{"customer_group_name": group, "parent_customer_group": "All Customer Groups"},
			)
		make_item()
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		enable_mcp(allowed_origins="", default_profile=None, per_doctype_tools=0)

	def setUp(self):
		frappe.set_user("Administrator")
		frappe.db.savepoint("mcp_analytics_test")
		self.orders = {}
		for name, group in CUSTOMERS.items():
			make_customer(name, customer_group=group)
			self.orders[name] = [_order(name, submit=True), _order(name, submit=True)]
		self.profile()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback(save_point="mcp_analytics_test")

	@staticmethod
	def profile(*, invoice_ops: str = "read,create,submit", reports=(REPORT,), restricted: str = "") -> None:
		"""Customers and Sales Orders of GROUP_IN only (Read conditions); Sales Invoices as asked."""
		ensure_profile(
			"analytics",
			users=[USER, NO_ACCOUNTS],
			rules=[
				rule("Customer", "read", restricted_fields=restricted),
				rule("Sales Order", "read", restricted_fields=restricted and "po_no"),
				rule("Sales Invoice", invoice_ops),
			],
			conditions=[
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
					"value": "\n".join(n for n, g in CUSTOMERS.items() if g == GROUP_IN),
				},
			],
		)
		doc = frappe.get_doc("MCP Permission Profile", "analytics")
		doc.set("reports", [{"report": r} for r in reports])
		doc.save(ignore_permissions=True)

	def call(self, tool: str, args: dict, user: str = USER) -> dict:
		return InProcessClient(user).call(tool, args)

	def ok(self, tool: str, args: dict, user: str = USER) -> dict:
		result = self.call(tool, args, user)
		self.assertFalse(result.get("isError"), result)
		return result["structuredContent"]

	def refused(self, tool: str, args: dict, user: str = USER) -> dict:
		result = self.call(tool, args, user)
		self.assertTrue(result.get("isError"), result)
		return answer(result)

	# ---------------------------------------------------------------- totals
	def test_a_total_under_read_conditions_excludes_the_hidden_rows(self):
		ours = list(self.orders["MCP Analytics Alpha"] + self.orders["MCP Analytics Beta"])
		expected = frappe.db.sql(
			"select sum(grand_total), count(*) from `tabSales Order` where name in %s", [ours]
		)[0]
		out = self.ok(
			"aggregate_documents",
			{
				"doctype": "Sales Order",
				"aggregates": [{"function": "sum", "field": "grand_total"}, {"function": "count"}],
				"filters": [{"field": "customer", "op": "in", "value": list(CUSTOMERS)}],
			},
		)
		self.assertEqual(out["totals"], {"sum_grand_total": float(expected[0]), "count": expected[1]})
		everyone = frappe.db.sql(
			"select count(*) from `tabSales Order` where customer in %s", [list(CUSTOMERS)]
		)[0][0]
		self.assertGreater(everyone, out["totals"]["count"])  # Gamma's orders exist, and are not counted

	def test_top_customers_by_revenue_are_grouped_and_sorted(self):
		out = self.ok(
			"aggregate_documents",
			{
				"doctype": "Sales Order",
				"aggregates": [{"function": "sum", "field": "grand_total"}],
				"group_by": ["customer"],
				"filters": {"docstatus": 1},
				"order_by": {"field": "sum_grand_total", "direction": "desc"},
				"limit": 5,
			},
		)
		names = [g["customer"] for g in out["groups"]]
		self.assertNotIn("MCP Analytics Gamma", names)
		self.assertTrue({"MCP Analytics Alpha", "MCP Analytics Beta"} <= set(names))
		totals = [g["sum_grand_total"] for g in out["groups"]]
		self.assertEqual(totals, sorted(totals, reverse=True))

	def test_an_aggregate_naming_a_restricted_field_is_refused(self):
		self.profile(restricted="customer_group")
		for args in (
			{"doctype": "Customer", "group_by": ["customer_group"]},
			{"doctype": "Customer", "filters": {"customer_group": GROUP_IN}},
			{"doctype": "Sales Order", "filters": {"po_no": "X"}},
		):
			error = self.refused("aggregate_documents", args)
			self.assertEqual(error["decided_by"], "field rule", args)

	def test_list_count_is_the_count_the_profile_may_see(self):
		out = self.ok(
			"list_generic_documents",
			{
				"doctype": "Sales Order",
				"filters": [{"field": "customer", "op": "in", "value": list(CUSTOMERS)}],
				"limit": 1,
				"with_count": True,
			},
		)
		self.assertEqual(out["count"], 4)  # Alpha's and Beta's two each; not Gamma's

	# ---------------------------------------------------------------- reports
	def test_a_report_the_profile_does_not_name_is_refused(self):
		error = self.refused("run_report", {"report_name": "Sales Analytics"})
		self.assertEqual(error["decided_by"], "profile rule")
		self.assertIn("Sales Analytics", error["message"])

	def test_a_named_report_runs_as_the_user_with_labelled_columns(self):
		out = self.ok("run_report", {"report_name": REPORT, "limit": 5})
		columns = {c["fieldname"]: c["label"] for c in out["columns"]}
		self.assertIn("outstanding", columns)
		self.assertTrue(columns["outstanding"])
		self.assertEqual(out["filters"]["company"], frappe.defaults.get_user_default("Company", USER))
		self.assertLessEqual(len(out["rows"]), 5)
		self.assertGreaterEqual(out["total_rows"], len(out["rows"]))

	def test_erpnext_report_roles_still_apply(self):
		# The profile names the report, but ERPNext gives it to Accounts roles only.
		error = self.refused("run_report", {"report_name": REPORT}, user=NO_ACCOUNTS)
		self.assertIn(error["error"], ("permission_denied",))

	def test_report_filters_are_checked_against_the_reports_own(self):
		error = self.refused("run_report", {"report_name": REPORT, "filters": {"colour": "red"}})
		self.assertEqual(error["error"], "invalid_arguments")
		self.assertIn("colour", error["message"])
		self.assertIn("report_date", error["message"])
		error = self.refused("run_report", {"report_name": REPORT, "filters": {"report_date": "today"}})
		self.assertIn("YYYY-MM-DD", error["message"])

	# ---------------------------------------------------------------- conversions
	def test_a_conversion_whose_target_may_not_be_created_is_refused_and_saves_nothing(self):
		self.profile(invoice_ops="read")
		before = invoice_count()
		source = self.orders["MCP Analytics Alpha"][0]
		error = self.refused(
			"make_document",
			{
				"source_doctype": "Sales Order",
				"source_name": source,
				"target_doctype": "Sales Invoice",
				"save": True,
			},
		)
		self.assertEqual(error["decided_by"], "profile rule")
		self.assertEqual(invoice_count(), before)

	def test_sales_order_to_invoice_draft_then_saved_then_submitted(self):
		source = self.orders["MCP Analytics Alpha"][0]
		args = {"source_doctype": "Sales Order", "source_name": source, "target_doctype": "Sales Invoice"}
		before = invoice_count()
		draft = self.ok("make_document", args)
		self.assertFalse(draft["saved"])
		self.assertEqual(draft["document"]["customer"], "MCP Analytics Alpha")
		self.assertEqual(draft["document"]["items"][0]["sales_order"], source)
		self.assertEqual(invoice_count(), before)  # a draft writes nothing
		saved = self.ok("make_document", {**args, "save": True})
		self.assertEqual(invoice_count(), before + 1)
		self.assertEqual(frappe.db.get_value("Sales Invoice", saved["name"], "docstatus"), 0)
		submitted = self.ok("submit_document", {"doctype": "Sales Invoice", "name": saved["name"]})
		self.assertEqual(submitted["docstatus"], 1)

	def test_a_conversion_never_copies_a_value_the_profile_hides_on_the_source(self):
		# po_no is restricted on Sales Order but not on Sales Invoice, and ERPNext's mapping copies it.
		self.profile(restricted="customer_group")  # Sales Order: po_no restricted
		source = self.orders["MCP Analytics Alpha"][0]
		frappe.db.set_value("Sales Order", source, "po_no", "PO-MCP-SECRET")
		before = invoice_count()
		args = {"source_doctype": "Sales Order", "source_name": source, "target_doctype": "Sales Invoice"}
		for extra in ({}, {"save": True}):
			result = self.call("make_document", {**args, **extra})
			self.assertTrue(result.get("isError"), result)
			self.assertNotIn("PO-MCP-SECRET", json.dumps(result))
			self.assertIn("po_no", answer(result)["message"])
		self.assertEqual(invoice_count(), before)
		other = self.orders["MCP Analytics Alpha"][1]  # no po_no: nothing hidden is carried
		self.assertFalse(self.call("make_document", {**args, "source_name": other}).get("isError"))

	def test_a_source_outside_the_read_scope_is_not_found(self):
		before = invoice_count()
		hidden = self.orders["MCP Analytics Gamma"][0]
		args = {"source_doctype": "Sales Order", "target_doctype": "Sales Invoice", "save": True}
		error = self.refused("make_document", {**args, "source_name": hidden})
		missing = self.refused("make_document", {**args, "source_name": "SAL-ORD-NOPE"})
		self.assertEqual(error["error"], "not_found")
		self.assertEqual(
			error["message"].replace(hidden, "X"), missing["message"].replace("SAL-ORD-NOPE", "X")
		)
		self.assertEqual(invoice_count(), before)

	def test_every_allowed_conversion_makes_its_draft_on_this_erpnext(self):
		"""Each pair of the allow-list, on a submitted source made here: the method exists on this
		ERPNext release and returns the target with the source's items; nothing is saved."""
		company = frappe.get_all("Company", pluck="name")[0]
		customer = "MCP Analytics Alpha"
		supplier = make_supplier("MCP Analytics Supplier")
		common = {"company": company, "transaction_date": frappe.utils.today()}
		item = {"item_code": ITEM, "qty": 2, "rate": 10}
		sources = {
			"Quotation": {**common, "quotation_to": "Customer", "party_name": customer, "items": [item]},
			"Sales Order": None,  # made in setUp
			"Purchase Order": {
				**common,
				"supplier": supplier,
				"schedule_date": "2027-06-30",
				"items": [{**item, "schedule_date": "2027-06-30"}],
			},
		}
		names = {"Sales Order": self.orders[customer][0]}
		for doctype, values in sources.items():
			if values:
				doc = frappe.get_doc({"doctype": doctype, **values}).insert(ignore_permissions=True)
				doc.submit()
				names[doctype] = doc.name
		from erpnext.selling.doctype.sales_order.sales_order import make_delivery_note

		note = make_delivery_note(self.orders[customer][1])  # the other order: the first stays undelivered
		note.insert(ignore_permissions=True)
		note.submit()
		names["Delivery Note"] = note.name
		ensure_profile(
			"converter",
			users=[CONVERTER],
			rules=[
				rule(dt, "read,create" if dt in {t for _, t in CONVERSIONS} else "read")
				for dt in sorted({dt for pair in CONVERSIONS for dt in pair})
			],
		)
		counts = {t: frappe.db.count(t) for _, t in CONVERSIONS}
		for source, target in CONVERSIONS:
			with self.subTest(f"{source} -> {target}"):
				out = self.ok(
					"make_document",
					{"source_doctype": source, "source_name": names[source], "target_doctype": target},
					user=CONVERTER,
				)
				self.assertEqual(out["doctype"], target)
				self.assertFalse(out["saved"])
				self.assertEqual([row["item_code"] for row in out["document"]["items"]], [ITEM])
		self.assertEqual({t: frappe.db.count(t) for _, t in CONVERSIONS}, counts)

	# ---------------------------------------------------------------- link search
	def test_search_link_finds_names_inside_the_read_scope_only(self):
		out = self.ok("search_link", {"doctype": "Customer", "text": "Analytics Al"})
		self.assertEqual([r["name"] for r in out["results"]], ["MCP Analytics Alpha"])
		out = self.ok("search_link", {"doctype": "Customer", "text": "Analytics Gamma"})
		self.assertEqual(out["results"], [])

	def test_search_link_is_no_oracle_for_a_restricted_field(self):
		# ERPNext's customer search matches customer_group too; with the field restricted, a match
		# on it alone must not come back.
		self.profile(restricted="customer_group")
		out = self.ok("search_link", {"doctype": "Customer", "text": "Analytics Retail"})
		self.assertEqual(out["results"], [])
		self.profile()
		out = self.ok("search_link", {"doctype": "Customer", "text": "Analytics Retail"})
		self.assertEqual(
			sorted(r["name"] for r in out["results"]), ["MCP Analytics Alpha", "MCP Analytics Beta"]
		)
