"""MCP Audit Log on a real site: N requests → N records with the right fields (allowed, denied,
malformed, unauthenticated, ...), never a value, records that survive a rolled-back request, requests
Frappe answers itself, the flood bound, retention through Log Settings, the report."""

from __future__ import annotations

import json
from unittest import mock

import frappe
from frappe.utils import add_to_date, now_datetime
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from erpnext_mcp import audit
from erpnext_mcp.api.mcp import ENDPOINT_PATH
from erpnext_mcp.erpnext_mcp.report.mcp_audit_summary import mcp_audit_summary
from erpnext_mcp.tests.audit_utils import (
	Clock,
	MarkedClient,
	forbid_commits,
	frozen,
	new_marker,
	no_commit,
	records,
)
from erpnext_mcp.tests.test_endpoint import make_customer, make_supplier
from erpnext_mcp.tests.utils import (
	SALES_MANAGER,
	SALES_USER,
	TEST_USERS,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

READERS = "Test Audit Readers"
WRITERS = "Test Audit Writers"
SECRETS = {
	"website": "https://secret-website-7f3a.example",
	"customer_details": "Secret-Details-Q9Z-private",
}


def initialize(client: MarkedClient) -> dict:
	return client.rpc(
		"initialize",
		{
			"protocolVersion": "2025-06-18",
			"capabilities": {},
			"clientInfo": {"name": "audit-test-client", "version": "9.8.7"},
		},
	)


class TestAudit(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		ensure_profile(READERS, roles=["Sales User"], rules=[rule("Customer")])
		ensure_profile(
			WRITERS,
			roles=["Sales Manager"],
			priority=10,
			rules=[rule("Customer", "read,create,update")],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Create",
					"fieldname": "customer_type",
					"operator": "in",
					"value": "Company",
				}
			],
		)
		enable_mcp(allowed_origins="", default_profile=None, audit_enabled=1, cache_enabled=1)
		cls.customer = make_customer("MCP Audit Customer", **SECRETS)
		cls.supplier = make_supplier("MCP Audit Supplier")

	def setUp(self):
		forbid_commits(self)
		enable_mcp(audit_enabled=1)

	# ------------------------------------------------------------ N requests → N records

	def test_every_request_leaves_one_record_with_the_right_fields(self):
		client = MarkedClient(SALES_USER)
		guest = MarkedClient("Guest", marker=client.marker)
		with frozen(Clock(), audit):  # a minute of its own for the unauthenticated-flood bound
			answers = [
				initialize(client),
				client.rpc("tools/list"),
				client.rpc(
					"tools/call",
					{
						"name": "get_generic_document",
						"arguments": {"doctype": "Customer", "name": self.customer},
					},
				),
				client.rpc(
					"tools/call",
					{
						"name": "get_generic_document",
						"arguments": {"doctype": "Supplier", "name": self.supplier},
					},
				),
				client.post(b'{"jsonrpc": "2.0", "id": ').json(),
				guest.rpc("tools/list"),
				client.post(b"", method="GET").json(),
				client.rpc("no/such/method"),
			]
		self.assertEqual(len(answers), 8)
		rows = records(client.marker)
		self.assertEqual(len(rows), 8, [r.mcp_method for r in rows])
		for row in rows:
			self.assertTrue(row.timestamp and row.remote_ip == "127.0.0.1", row)
			self.assertEqual(row.request_count, 1)
			self.assertGreaterEqual(row.duration_ms, 0)
		init, listed, got, denied, malformed, unauthenticated, get_request, unknown = rows

		self.assertEqual((init.mcp_method, init.result, init.http_status), ("initialize", "Allowed", 200))
		self.assertEqual((init.client_name, init.client_version), ("audit-test-client", "9.8.7"))
		self.assertEqual(init.protocol_version, "2025-06-18")
		self.assertEqual(init.user, SALES_USER)
		self.assertIn(READERS, init.profiles)

		self.assertEqual((listed.mcp_method, listed.result), ("tools/list", "Allowed"))
		self.assertEqual(listed.client_name, client.marker)  # no clientInfo: the User-Agent's product

		self.assertEqual(
			(got.mcp_method, got.tool, got.operation), ("tools/call", "get_generic_document", "read")
		)
		self.assertEqual(
			(got.document_type, got.document_names, got.result), ("Customer", self.customer, "Allowed")
		)
		self.assertIn("customer_name", got.fields_returned)
		self.assertEqual(got.protocol_version, "2025-06-18")

		self.assertEqual(
			(denied.result, denied.document_type, denied.operation), ("Denied", "Supplier", "read")
		)
		self.assertIn("permission denied", denied.reason)
		self.assertIn("Supplier", denied.reason)

		self.assertEqual((malformed.result, malformed.http_status), ("Error", 400))
		self.assertIn("parse error", malformed.reason)
		self.assertIsNone(malformed.mcp_method)

		self.assertEqual((unauthenticated.user, unauthenticated.result), ("Guest", "Denied"))
		self.assertEqual((unauthenticated.http_status, unauthenticated.mcp_method), (401, "tools/list"))
		self.assertFalse(unauthenticated.profiles)

		self.assertEqual((get_request.http_method, get_request.http_status), ("GET", 405))
		self.assertEqual(get_request.result, "Error")

		self.assertEqual((unknown.mcp_method, unknown.result), ("no/such/method", "Error"))
		self.assertIn("-32601", unknown.reason)

	def test_no_value_of_any_field_appears_in_any_record(self):
		client = MarkedClient(SALES_MANAGER)
		new_details = "Written-Value-K7P-secret"
		condition_breaker = "Individual"
		calls = [
			("get_generic_document", {"doctype": "Customer", "name": self.customer}),
			(
				"list_generic_documents",
				{
					"doctype": "Customer",
					"fields": ["customer_name", "website", "customer_details"],
					"filters": {"website": SECRETS["website"]},
				},
			),
			("search_generic_documents", {"doctype": "Customer", "query": "Secret-Details-Q9Z"}),
			(
				"update_generic_document",
				{"doctype": "Customer", "name": self.customer, "values": {"customer_details": new_details}},
			),
			(
				"create_generic_document",
				{
					"doctype": "Customer",
					"values": {"customer_name": "Refused-Name-H2J", "customer_type": condition_breaker},
				},
			),
		]
		results = [client.call(name, args) for name, args in calls]
		self.assertFalse(results[0].get("isError"), results[0])
		self.assertEqual(results[0]["structuredContent"]["document"]["website"], SECRETS["website"])
		self.assertEqual(len(results[1]["structuredContent"]["documents"]), 1)
		self.assertFalse(results[3].get("isError"), results[3])
		self.assertTrue(results[4].get("isError"))
		rows = records(client.marker)
		self.assertEqual(len(rows), len(calls))
		self.assertEqual(rows[3].fields_named, "customer_details")
		self.assertEqual(rows[4].result, "Denied")
		self.assertIn("condition", rows[4].reason)
		self.assertIn("customer_type", rows[4].fields_named)
		text = json.dumps([dict(r) for r in rows], default=str)
		for value in (*SECRETS.values(), new_details, "Refused-Name-H2J", "Secret-Details-Q9Z"):
			self.assertNotIn(value, text)
		# The values really were in play: the answers carried them.
		self.assertIn(SECRETS["customer_details"], json.dumps(results[0]))

	def test_audit_off_records_nothing(self):
		enable_mcp(audit_enabled=0)
		client = MarkedClient(SALES_USER)
		client.rpc("tools/list")
		MarkedClient("Guest", marker=client.marker).rpc("tools/list")
		self.assertEqual(records(client.marker), [])

	# ------------------------------------------------------------ survives rollback, Frappe's own answers

	def test_a_record_rolled_back_with_its_request_is_written_again_after_it(self):
		client = MarkedClient(SALES_USER)
		frappe.db.savepoint("before_request")
		client.rpc("tools/list")
		self.assertEqual(len(records(client.marker)), 1)
		# As Frappe's rollback of a failed request: the transaction is undone and after_commit is dropped.
		frappe.db.rollback(save_point="before_request")
		frappe.db.after_commit.reset()
		self.assertEqual(records(client.marker), [])
		request, response = fake_exchange(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', 200)
		with no_commit() as commit:
			audit.after_request(request, response)
		rows = records(client.marker)
		self.assertEqual(len(rows), 1)
		self.assertEqual((rows[0].mcp_method, rows[0].user), ("tools/list", SALES_USER))
		commit.assert_called()

	def test_a_committed_record_is_not_written_twice(self):
		client = MarkedClient(SALES_USER)
		client.rpc("tools/list")
		frappe.db.after_commit.run()  # what Frappe's commit of the request runs once COMMIT succeeded
		request, response = fake_exchange(b"{}", 200)
		with no_commit() as commit:
			audit.after_request(request, response)
		self.assertEqual(len(records(client.marker)), 1)
		commit.assert_not_called()

	def test_an_exchange_that_wrote_nothing_is_recorded_after_its_answer_a_write_with_it(self):
		"""A read has no transaction to commit its record with: it is written in Frappe's
		after_response, once the answer is sent, with a commit of its own. A write's record goes into
		the write's transaction, so the two commit together or not at all."""
		from frappe.utils import CallbackManager

		client = MarkedClient(SALES_MANAGER)
		request, _ = fake_exchange(b"{}", 200)
		request.after_response = CallbackManager()
		previous = getattr(frappe.local, "request", None)
		frappe.local.request = request
		self.addCleanup(setattr, frappe.local, "request", previous)
		get = {"doctype": "Customer", "name": self.customer}
		with mock.patch.object(frappe.db, "transaction_writes", 0):
			answer = client.call("get_generic_document", get)
		self.assertFalse(answer.get("isError"), answer)
		self.assertEqual(records(client.marker), [])  # not yet: the answer is on its way
		with no_commit() as commit:
			request.after_response.run()
		rows = records(client.marker)
		self.assertEqual([(r.tool, r.result) for r in rows], [("get_generic_document", "Allowed")])
		commit.assert_called_once()
		# Taken in UTC before the answer, written in the site's time zone, as `creation` is.
		self.assertLess(abs((rows[0].timestamp - now_datetime()).total_seconds()), 120)
		values = {"customer_name": "MCP Audit After Response", "customer_type": "Company"}
		with mock.patch.object(frappe.db, "transaction_writes", 0):
			created = client.call("create_generic_document", {"doctype": "Customer", "values": values})
		self.assertFalse(created.get("isError"), created)
		rows = records(client.marker)
		self.assertEqual([r.tool for r in rows], ["get_generic_document", "create_generic_document"])
		with no_commit() as commit:
			request.after_response.run()  # nothing was left for it
		commit.assert_not_called()
		self.assertEqual(len(records(client.marker)), 2)

	def test_the_writer_knows_every_field_of_the_audit_log(self):
		"""The record is written with one INSERT of these columns: they are exactly the DocType's fields."""
		meta = frappe.get_meta(audit.DOCTYPE)
		fields = {
			df.fieldname
			for df in meta.fields
			if df.fieldtype not in ("Section Break", "Column Break", "Tab Break")
		}
		self.assertEqual(set(audit.COLUMNS), fields)

	def test_requests_frappe_answers_itself_are_recorded(self):
		marker = new_marker()
		cases = [
			(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', 401, "token nosuchkey:nosuchsecret"),
			(b'{"jsonrpc": "2.0", "id": ', 400, None),
		]
		for body, status, authorization in cases:
			request, response = fake_exchange(
				body, status, headers={"User-Agent": f"{marker}/1.0", "Authorization": authorization or ""}
			)
			setattr(frappe.local, audit._LOCAL, None)  # the endpoint never ran
			with frozen(Clock(), audit), no_commit() as commit:
				audit.after_request(request, response)
			commit.assert_called()
		credentials, malformed = records(marker)
		self.assertEqual(
			(credentials.user, credentials.result, credentials.http_status), ("Guest", "Denied", 401)
		)
		self.assertIn("invalid credentials", credentials.reason)
		self.assertEqual(credentials.mcp_method, "tools/list")
		self.assertEqual((malformed.result, malformed.http_status), ("Error", 400))
		self.assertIn("parse error", malformed.reason)

	def test_an_endpoint_that_fails_is_still_on_record(self):
		client = MarkedClient(SALES_USER)
		with mock.patch("erpnext_mcp.api.mcp._respond", side_effect=RuntimeError("boom")):
			self.assertRaises(RuntimeError, client.rpc, "tools/list")
		self.assertEqual(records(client.marker), [])
		request, response = fake_exchange(
			b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}',
			500,
			{"User-Agent": f"{client.marker}/1.0"},
		)
		with no_commit():
			audit.after_request(request, response)
		rows = records(client.marker)
		self.assertEqual(len(rows), 1)
		self.assertEqual(
			(rows[0].result, rows[0].http_status, rows[0].mcp_method), ("Error", 500, "tools/list")
		)
		self.assertIn("the MCP endpoint failed", rows[0].reason)

	def test_a_stdio_message_is_recorded_through_the_same_writer(self):
		from erpnext_mcp.data.frappe_backend import FrappeBackend
		from erpnext_mcp.data.profiles import policy_for
		from erpnext_mcp.data.settings import load_settings
		from erpnext_mcp.server.app import run_tool
		from erpnext_mcp.server.context import CallState

		frappe.set_user(SALES_USER)
		try:
			state = CallState(
				backend=FrappeBackend(),
				policy=policy_for(SALES_USER),
				settings=load_settings(),
				headers={},
				protocol_version="2025-06-18",
			)
			state.audit["method"] = "tools/call"
			run_tool(state, "get_generic_document", {"doctype": "Customer", "name": self.customer})
			name = audit.record_state(state, transport="stdio")
		finally:
			frappe.set_user("Administrator")
		row = frappe.get_doc("MCP Audit Log", name)
		self.assertEqual((row.http_method, row.http_status, row.user), ("STDIO", 0, SALES_USER))
		self.assertEqual(
			(row.tool, row.document_type, row.result), ("get_generic_document", "Customer", "Allowed")
		)
		self.assertIn(READERS, row.profiles)

	def test_a_failed_insert_is_queued_not_lost_and_flushed_later(self):
		client = MarkedClient(SALES_USER)
		queue = f"erpnext_mcp:audit:test-queue:{client.marker}"
		with (
			mock.patch.object(audit, "PENDING_KEY", queue),
			mock.patch.object(audit, "_write_row", side_effect=frappe.ValidationError("DB says no")),
		):
			answer = client.rpc("tools/list")
		self.assertIn("result", answer)  # the request itself was not disturbed
		self.assertEqual(records(client.marker), [])
		self.assertEqual(frappe.cache.llen(queue), 1)
		with mock.patch.object(audit, "PENDING_KEY", queue), no_commit():
			written = audit.flush_queued()
		self.assertEqual(written, 1)
		self.assertEqual(frappe.cache.llen(queue), 0)
		rows = records(client.marker)
		self.assertEqual(len(rows), 1)
		self.assertEqual(
			(rows[0].mcp_method, rows[0].user, rows[0].result), ("tools/list", SALES_USER, "Allowed")
		)

	# ------------------------------------------------------------ flood bound

	def test_an_unauthenticated_flood_is_bounded_and_summarized(self):
		clock = Clock()
		guest = MarkedClient("Guest")
		extra = 7
		with frozen(clock, audit):
			for _ in range(audit.FLOOD_PER_SUBJECT + extra):
				self.assertEqual(guest.rpc("tools/list")["error"]["code"], -32001)
			self.assertEqual(len(records(guest.marker)), audit.FLOOD_PER_SUBJECT)
			clock.advance(60)
			with no_commit():
				written = audit.flush_summaries(only_window=int((clock.now - 60) // 60))
		self.assertEqual(written, 1)
		window_start = audit._window_start(int((clock.now - 60) // 60))
		summary = frappe.get_all(
			"MCP Audit Log",
			filters={"timestamp": window_start, "remote_ip": "127.0.0.1", "request_count": [">", 1]},
			fields=["*"],
		)
		self.assertEqual(len(summary), 1)
		self.assertEqual(
			(summary[0].request_count, summary[0].result, summary[0].user), (extra, "Denied", "Guest")
		)
		self.assertIn("flood bound", summary[0].reason)
		# Counted once: a second flush finds nothing left.
		with no_commit():
			self.assertEqual(audit.flush_summaries(only_window=int((clock.now - 60) // 60)), 0)

	def test_authenticated_requests_are_never_summarized(self):
		clock = Clock()
		client = MarkedClient(SALES_USER)
		with frozen(clock, audit):
			for _ in range(audit.FLOOD_PER_SUBJECT + 3):
				client.rpc("ping")
		self.assertEqual(len(records(client.marker)), audit.FLOOD_PER_SUBJECT + 3)

	# ------------------------------------------------------------ read-only, retention, report

	def test_records_cannot_be_created_changed_or_deleted_by_hand(self):
		client = MarkedClient(SALES_USER)
		client.rpc("tools/list")
		name = records(client.marker)[0].name
		frappe.set_user(SALES_MANAGER)
		try:
			self.assertFalse(frappe.has_permission("MCP Audit Log", "create"))
			self.assertFalse(frappe.has_permission("MCP Audit Log", "write"))
			self.assertFalse(frappe.has_permission("MCP Audit Log", "delete"))
		finally:
			frappe.set_user("Administrator")
		doc = frappe.get_doc("MCP Audit Log", name)
		doc.reason = "tampered"
		self.assertRaises(frappe.PermissionError, doc.save)
		self.assertRaises(frappe.PermissionError, frappe.delete_doc, "MCP Audit Log", name)
		self.assertEqual(frappe.db.get_value("MCP Audit Log", name, "reason"), None)
		meta = frappe.get_meta("MCP Audit Log")
		self.assertTrue(
			all(df.read_only for df in meta.fields if df.fieldtype not in ("Section Break", "Column Break"))
		)
		perms = {p.role: p for p in meta.permissions}
		self.assertTrue(
			perms["System Manager"].read and perms["System Manager"].export and perms["System Manager"].report
		)
		self.assertFalse(
			perms["System Manager"].create or perms["System Manager"].write or perms["System Manager"].delete
		)

	def test_retention_deletes_only_what_is_older_than_the_setting(self):
		enable_mcp(audit_retention_days=30)
		log_settings = frappe.get_single("Log Settings")
		row = next(r for r in log_settings.logs_to_clear if r.ref_doctype == "MCP Audit Log")
		self.assertEqual(row.days, 30)  # MCP Settings keeps Log Settings' row in step
		marker = new_marker()
		ages = {"100 days": -100, "31 days": -31, "29 days": -29, "1 hour": 0}
		names = {}
		for label, days in ages.items():
			when = add_to_date(now_datetime(), days=days, hours=-1 if days == 0 else 0)
			names[label] = audit._insert(
				{"timestamp": when, "user": SALES_USER, "result": "Allowed", "user_agent": f"{marker}/1.0"},
				commit=False,
			)
		self.assertTrue(all(names.values()))
		newer_before = frappe.db.count(
			"MCP Audit Log", {"timestamp": [">=", add_to_date(now_datetime(), days=-30)]}
		)
		# Frappe's own daily job (Log Settings.run_log_clean_up → clear_logs) finds the DocType by its
		# clear_old_logs and passes the row's days (it commits after each DocType: recorded, not done).
		with no_commit():
			log_settings.clear_logs()
		left = {r.name for r in records(marker)}
		self.assertEqual(left, {names["29 days"], names["1 hour"]})
		newer_after = frappe.db.count(
			"MCP Audit Log", {"timestamp": [">=", add_to_date(now_datetime(), days=-30)]}
		)
		self.assertEqual(newer_before, newer_after)
		self.assertIn("MCP Audit Log", frappe.get_hooks("default_log_clearing_doctypes"))

	def test_summary_report_counts_calls_and_denials_per_day(self):
		before = report_today()
		client = MarkedClient(SALES_USER)
		client.call("get_generic_document", {"doctype": "Customer", "name": self.customer})
		client.call("get_generic_document", {"doctype": "Supplier", "name": self.supplier})
		after = report_today()
		self.assertEqual(after["calls"] - before["calls"], 2)
		self.assertEqual(after["denied"] - before["denied"], 1)
		self.assertEqual(after["allowed"] - before["allowed"], 1)
		columns, rows, _message, chart, summary = mcp_audit_summary.execute(
			{"user": SALES_USER, "result": "Denied"}
		)
		self.assertEqual(
			[d["name"] for d in chart["data"]["datasets"]], ["Calls", "Denied", "Rate Limited", "Errors"]
		)
		self.assertEqual(len(rows), 30)
		self.assertEqual([c["fieldname"] for c in columns][:3], ["day", "calls", "allowed"])
		self.assertGreaterEqual({c["label"]: c["value"] for c in summary}["Denied"], 1)
		self.assertGreaterEqual(rows[-1]["denied"], 1)
		self.assertEqual(rows[-1]["allowed"], 0)  # the result filter applies
		self.assertTrue(frappe.db.exists("Dashboard Chart", "MCP Calls and Denials per Day"))


def report_today() -> dict:
	_columns, rows, *_ = mcp_audit_summary.execute({"user": SALES_USER})
	return rows[-1]


def fake_exchange(body: bytes, status: int, headers: dict[str, str] | None = None):
	builder = EnvironBuilder(
		path=ENDPOINT_PATH,
		method="POST",
		data=body,
		headers={"Content-Type": "application/json", **{k: v for k, v in (headers or {}).items() if v}},
	)
	request = Request(builder.get_environ())
	response = Response(b"{}", status=status, content_type="application/json")
	return request, response
