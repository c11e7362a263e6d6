"""Rate limits on a real site (counters in the site's Redis): the (N+1)th request in a minute gets 429
with Retry-After and a JSON-RPC error naming the limit, another user is unaffected, the refusal is
audited, per-profile limits, the hour window, 0 = unlimited."""

from __future__ import annotations

import frappe

from erpnext_mcp import audit, limits
from erpnext_mcp.tests.audit_utils import Clock, MarkedClient, forbid_commits, frozen, no_commit, records
from erpnext_mcp.tests.utils import (
	BUYER_USER,
	SALES_MANAGER,
	SALES_USER,
	TEST_USERS,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

SALES = "Test Limits Sales"
MANAGERS = "Test Limits Managers"
BUYERS = "Test Limits Buyers"


def minute_clock(second: int = 5) -> Clock:
	"""A clock `second` seconds into a fresh minute (and a fresh hour) no other test counts in."""
	clock = Clock()
	clock.now = clock.now // 3600 * 3600 + second
	return clock


class TestLimits(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		ensure_profile(SALES, roles=["Sales User"], rules=[rule("Customer")])
		ensure_profile(BUYERS, roles=["Purchase User"], rules=[rule("Supplier")])
		ensure_profile(MANAGERS, roles=["Sales Manager"], rules=[rule("Sales Order")])
		enable_mcp(allowed_origins="", default_profile=None)

	def setUp(self):
		forbid_commits(self)

	def limited(self, per_minute: int, per_hour: int) -> None:
		enable_mcp(rate_limit_per_minute=per_minute, rate_limit_per_hour=per_hour, audit_enabled=1)

	def set_profile_limits(self, name: str, per_minute: int = 0, per_hour: int = 0) -> None:
		doc = frappe.get_doc("MCP Permission Profile", name)
		doc.rate_limit_per_minute = per_minute
		doc.rate_limit_per_hour = per_hour
		doc.save(ignore_permissions=True)

	def tearDown(self):
		for name in (SALES, BUYERS, MANAGERS):
			self.set_profile_limits(name)

	def test_the_request_after_the_limit_gets_429_and_another_user_is_unaffected(self):
		self.limited(per_minute=3, per_hour=0)
		sales, buyer = MarkedClient(SALES_USER), MarkedClient(BUYER_USER)
		with frozen(minute_clock(second=5), limits, audit):
			for i in range(3):
				self.assertIn("result", sales.rpc("tools/list"), f"request {i + 1} of 3")
			refused = sales.post({"jsonrpc": "2.0", "id": 42, "method": "tools/list"})
			other = buyer.rpc("tools/list")
		self.assertEqual(refused.status, 429)
		self.assertEqual(refused.headers["Retry-After"], "55")
		error = refused.json()["error"]
		self.assertEqual(refused.json()["id"], 42)
		self.assertEqual(error["code"], limits.RATE_LIMITED_CODE)
		self.assertIn("3 requests per minute", error["message"])
		self.assertIn("Retry after 55 seconds", error["message"])
		self.assertEqual(error["data"]["limit"], "per minute")
		self.assertEqual(error["data"]["retry_after_seconds"], 55)
		self.assertIn("result", other)  # the buyer has a counter of its own
		# The refusal is on record, with which limit refused.
		rows = records(sales.marker)
		self.assertEqual([r.result for r in rows], ["Allowed"] * 3 + ["Rate Limited"])
		self.assertEqual(
			(rows[-1].http_status, rows[-1].user, rows[-1].mcp_method), (429, SALES_USER, "tools/list")
		)
		self.assertIn("3 requests per minute", rows[-1].reason)
		self.assertIn(SALES, rows[-1].profiles)

	def test_the_next_minute_opens_again(self):
		self.limited(per_minute=2, per_hour=0)
		client = MarkedClient(SALES_USER)
		with frozen(minute_clock(second=58), limits, audit) as clock:
			client.rpc("ping")
			client.rpc("ping")
			refused = client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
			self.assertEqual((refused.status, refused.headers["Retry-After"]), (429, "2"))
			clock.advance(3)
			self.assertIn("result", client.rpc("ping"))

	def test_the_hour_window_has_its_own_limit_and_retry_after(self):
		self.limited(per_minute=0, per_hour=2)
		client = MarkedClient(SALES_USER)
		with frozen(minute_clock(second=600), limits, audit):
			client.rpc("ping")
			client.rpc("ping")
			refused = client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
		self.assertEqual(refused.status, 429)
		self.assertEqual(refused.headers["Retry-After"], str(3600 - 600))
		self.assertIn("2 requests per hour", refused.json()["error"]["message"])

	def test_refused_requests_do_not_use_up_the_hour(self):
		self.limited(per_minute=2, per_hour=3)
		client = MarkedClient(SALES_USER)
		with frozen(minute_clock(second=10), limits, audit) as clock:
			self.assertEqual([client.post(ping()).status for _ in range(5)], [200, 200, 429, 429, 429])
			clock.advance(60)
			self.assertEqual([client.post(ping()).status for _ in range(2)], [200, 429])
			refused = client.post(ping())
		self.assertIn("per hour", refused.json()["error"]["message"])

	def test_zero_means_unlimited(self):
		self.limited(per_minute=0, per_hour=0)
		client = MarkedClient(SALES_USER)
		with frozen(minute_clock(), limits, audit):
			self.assertEqual({client.post(ping()).status for _ in range(25)}, {200})

	def test_a_profile_sets_its_own_limit_and_the_highest_applying_one_wins(self):
		self.limited(per_minute=2, per_hour=0)
		self.set_profile_limits(SALES, per_minute=4)
		sales = MarkedClient(SALES_USER)
		with frozen(minute_clock(), limits, audit):
			self.assertEqual([sales.post(ping()).status for _ in range(5)], [200] * 4 + [429])
		# The manager has both Sales User and Sales Manager: both profiles apply, the higher limit wins.
		self.set_profile_limits(MANAGERS, per_minute=6)
		manager = MarkedClient(SALES_MANAGER)
		with frozen(minute_clock(), limits, audit):
			self.assertEqual([manager.post(ping()).status for _ in range(7)], [200] * 6 + [429])
		# A profile that sets nothing defers to Settings.
		buyer = MarkedClient(BUYER_USER)
		with frozen(minute_clock(), limits, audit):
			self.assertEqual([buyer.post(ping()).status for _ in range(3)], [200, 200, 429])

	def test_counters_live_in_redis_for_every_worker(self):
		self.limited(per_minute=10, per_hour=0)
		client = MarkedClient(SALES_USER)
		with frozen(minute_clock(), limits, audit) as clock:
			for _ in range(3):
				client.post(ping())
			index = limits.window(clock.now, limits.MINUTE)[0]
			key = frappe.cache.make_key(f"erpnext_mcp:rl:{SALES_USER}:60:{index}")
			self.assertEqual(int(frappe.cache.get(key)), 3)
			self.assertGreater(frappe.cache.ttl(key), 0)  # counters expire with their window
			limits.reset(SALES_USER)
			self.assertIsNone(frappe.cache.get(key))

	def test_guests_and_disabled_endpoint_are_not_counted(self):
		self.limited(per_minute=1, per_hour=0)
		guest = MarkedClient("Guest")
		with frozen(minute_clock(), limits, audit):
			self.assertEqual([guest.post(ping()).status for _ in range(3)], [401, 401, 401])

	def test_a_rate_limited_flood_is_summarized_per_user(self):
		self.limited(per_minute=1, per_hour=0)
		client = MarkedClient(SALES_USER)
		clock = minute_clock()
		with frozen(clock, limits, audit):
			statuses = [client.post(ping()).status for _ in range(audit.FLOOD_PER_SUBJECT + 6)]
			self.assertEqual(statuses.count(429), audit.FLOOD_PER_SUBJECT + 5)
			rows = records(client.marker)
			self.assertEqual(len(rows), 1 + audit.FLOOD_PER_SUBJECT)  # 1 allowed, then the bound
			window = int(clock.now // 60)
			clock.advance(60)
			with no_commit():
				self.assertEqual(audit.flush_summaries(only_window=window), 1)
		summary = frappe.get_all(
			"MCP Audit Log",
			filters={"timestamp": audit._window_start(window), "user": SALES_USER, "request_count": 5},
			fields=["result", "reason"],
		)
		self.assertEqual(len(summary), 1)
		self.assertEqual(summary[0].result, "Rate Limited")
		self.assertIn(SALES_USER, summary[0].reason)


def ping() -> dict:
	return {"jsonrpc": "2.0", "id": 1, "method": "ping"}
