"""The read cache on a real site: entries per user and per policy (field rules, User Permissions), a
Desk write or an MCP write ends them at once, permission changes end all of them, bounds (entries,
bytes, TTL), errors never cached, cached reads still audited."""

from __future__ import annotations

import time
from unittest import mock

import frappe

from erpnext_mcp.data import cache
from erpnext_mcp.data.cache import CachedBackend
from erpnext_mcp.data.frappe_backend import FrappeBackend
from erpnext_mcp.data.profiles import policy_for
from erpnext_mcp.exceptions import NotFound
from erpnext_mcp.tests.audit_utils import MarkedClient, forbid_commits, no_commit, records
from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.utils import (
	SALES_USER,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

WIDE_USER = "mcp-cache-wide@example.com"
FENCED_USER = "mcp-cache-fenced@example.com"
NARROW = "Test Cache Narrow"
WIDE = "Test Cache Wide"
DETAILS = "cache-details-visible-to-wide-only"


def get(client: MarkedClient, name: str) -> dict:
	return client.call("get_generic_document", {"doctype": "Customer", "name": name})


def listed(client: MarkedClient, names: list[str], fields=("customer_name",)) -> list[str]:
	result = client.call(
		"list_generic_documents",
		{
			"doctype": "Customer",
			"fields": list(fields),
			"filters": [{"field": "name", "op": "in", "value": names}],
		},
	)
	assert not result.get("isError"), result
	return sorted(d["name"] for d in result["structuredContent"]["documents"])


def served(client: MarkedClient) -> list[int]:
	return [r.served_from_cache for r in records(client.marker)]


class TestCache(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for email in (SALES_USER, WIDE_USER, FENCED_USER):
			ensure_user(email, ["Sales User"])
		customer_rule = rule("Customer", "read,update")
		ensure_profile(
			NARROW,
			users=[SALES_USER],
			priority=20,
			rules=[{**rule("Customer"), "restricted_fields": "customer_details, website"}],
		)
		ensure_profile(WIDE, users=[WIDE_USER, FENCED_USER], priority=20, rules=[customer_rule])
		enable_mcp(allowed_origins="", default_profile=None, cache_enabled=1, cache_ttl_seconds=60)
		cls.a = make_customer("MCP Cache Customer A", customer_details=DETAILS)
		cls.b = make_customer("MCP Cache Customer B")
		frappe.get_doc(
			{"doctype": "User Permission", "user": FENCED_USER, "allow": "Customer", "for_value": cls.b}
		).insert(ignore_permissions=True)

	def setUp(self):
		forbid_commits(self)
		enable_mcp(cache_enabled=1, cache_ttl_seconds=60, cache_max_entries=2000, audit_enabled=1)
		doc = frappe.get_doc("Customer", self.a)  # tests of this class share one transaction
		if doc.customer_details != DETAILS:
			doc.customer_details = DETAILS
			doc.save()

	# ------------------------------------------------------------ never shared

	def test_two_users_with_different_field_rules_never_see_each_others_results(self):
		narrow, wide = MarkedClient(SALES_USER), MarkedClient(WIDE_USER)
		first = get(narrow, self.a)["structuredContent"]["document"]
		again = get(narrow, self.a)["structuredContent"]["document"]
		self.assertNotIn("customer_details", first)
		self.assertEqual(first, again)
		self.assertEqual(served(narrow), [0, 1])  # the second read came from the cache
		wide_first = get(wide, self.a)["structuredContent"]["document"]
		wide_again = get(wide, self.a)["structuredContent"]["document"]
		self.assertEqual(wide_first["customer_details"], DETAILS)
		self.assertEqual(wide_first, wide_again)
		self.assertEqual(served(wide), [0, 1])  # not the narrow user's entry
		third = get(narrow, self.a)["structuredContent"]["document"]
		self.assertNotIn("customer_details", third)
		self.assertNotIn("website", third)
		self.assertEqual(served(narrow), [0, 1, 1])
		# Identical list calls: one entry each.
		self.assertEqual(listed(narrow, [self.a]), [self.a])
		self.assertEqual(listed(wide, [self.a]), [self.a])
		self.assertEqual(served(narrow)[-1], 0)
		self.assertEqual(served(wide)[-1], 0)

	def test_user_permissions_are_never_shared_through_the_cache(self):
		wide, fenced = MarkedClient(WIDE_USER), MarkedClient(FENCED_USER)
		both = sorted([self.a, self.b])
		self.assertEqual(listed(wide, both), both)
		self.assertEqual(listed(fenced, both), [self.b])  # same profile, same arguments, own entry
		self.assertEqual(listed(fenced, both), [self.b])
		self.assertEqual(listed(wide, both), both)
		self.assertEqual(served(wide), [0, 1])
		self.assertEqual(served(fenced), [0, 1])
		refused = get(fenced, self.a)
		self.assertTrue(refused.get("isError"))
		self.assertNotIn(DETAILS, str(refused))

	# ------------------------------------------------------------ invalidation

	def test_a_desk_write_invalidates_the_cached_read_at_once(self):
		wide = MarkedClient(WIDE_USER)
		self.assertEqual(get(wide, self.a)["structuredContent"]["document"]["customer_details"], DETAILS)
		get(wide, self.a)
		self.assertEqual(served(wide), [0, 1])
		# A Desk user (Administrator) saves the document: doc_events fire, the next read is fresh.
		doc = frappe.get_doc("Customer", self.a)
		doc.customer_details = "changed in Desk"
		doc.save()
		self.assertEqual(
			get(wide, self.a)["structuredContent"]["document"]["customer_details"], "changed in Desk"
		)
		self.assertEqual(served(wide)[-1], 0)
		get(wide, self.a)
		self.assertEqual(served(wide)[-1], 1)
		# db_set (no save, no validation) runs on_change: also seen at once.
		frappe.get_doc("Customer", self.a).db_set("customer_details", "changed by db_set")
		self.assertEqual(
			get(wide, self.a)["structuredContent"]["document"]["customer_details"], "changed by db_set"
		)
		self.assertEqual(served(wide)[-1], 0)

	def test_a_deleted_document_is_gone_at_once(self):
		wide = MarkedClient(WIDE_USER)
		name = make_customer("MCP Cache Customer Doomed")
		get(wide, name)
		get(wide, name)
		self.assertEqual(served(wide), [0, 1])
		frappe.delete_doc("Customer", name, ignore_permissions=True, force=True)
		gone = get(wide, name)
		self.assertTrue(gone.get("isError"))
		self.assertIn("not found", str(gone).lower())

	def test_a_write_through_mcp_invalidates_the_cached_read(self):
		wide, narrow = MarkedClient(WIDE_USER), MarkedClient(SALES_USER)
		get(wide, self.a)
		listed(narrow, [self.a], fields=("customer_name", "modified"))
		updated = wide.call(
			"update_generic_document",
			{"doctype": "Customer", "name": self.a, "values": {"customer_details": "changed over MCP"}},
		)
		self.assertFalse(updated.get("isError"), updated)
		self.assertEqual(
			get(wide, self.a)["structuredContent"]["document"]["customer_details"], "changed over MCP"
		)
		self.assertEqual(served(wide), [0, 0, 0])
		listed(narrow, [self.a], fields=("customer_name", "modified"))
		self.assertEqual(served(narrow), [0, 0])  # another user's list of the DocType was ended too

	def test_permission_changes_end_every_entry(self):
		wide = MarkedClient(WIDE_USER)
		get(wide, self.a)
		get(wide, self.a)
		self.assertEqual(served(wide), [0, 1])
		frappe.get_doc(
			{
				"doctype": "DocShare",
				"user": WIDE_USER,
				"share_doctype": "Customer",
				"share_name": self.b,
				"read": 1,
			}
		).insert(ignore_permissions=True)
		get(wide, self.a)
		self.assertEqual(served(wide)[-1], 0)

	def test_submit_cancel_and_rename_reach_beyond_the_documents_own_doctype(self):
		invoice = frappe.get_doc(
			{
				"doctype": "Sales Invoice",
				"customer": self.a,
				"items": [{"item_code": "Anything", "qty": 1, "rate": 1}],
			}
		)
		self.assertTrue({"Customer", "Item", "Company"} <= cache.linked_doctypes(invoice))
		before = cache.tokens("Customer")
		cache.on_write(invoice, "on_update")  # a draft save: only Sales Invoice
		self.assertEqual(cache.tokens("Customer"), before)
		cache.on_write(invoice, "on_submit")  # ERPNext updates what the invoice links to
		after_submit = cache.tokens("Customer")
		self.assertNotEqual(after_submit[0], before[0])
		self.assertEqual(after_submit[1], before[1])
		cache.on_write(invoice, "after_rename")  # a rename rewrites links everywhere: everything ends
		self.assertNotEqual(cache.tokens("Customer")[1], after_submit[1])

	def test_the_token_is_renewed_again_after_the_commit(self):
		before = cache.tokens("Customer")
		doc = frappe.get_doc("Customer", self.b)
		doc.customer_details = "x"
		doc.save()
		during = cache.tokens("Customer")
		self.assertNotEqual(during, before)
		pending = getattr(frappe.local, cache._PENDING)
		self.assertIn("Customer", pending["doctypes"])
		cache._flush_pending()  # what frappe.db.commit() runs after COMMIT
		self.assertNotEqual(cache.tokens("Customer")[0], during[0])
		self.assertIsNone(getattr(frappe.local, cache._PENDING))

	# ------------------------------------------------------------ bounds and errors

	def backend(self, user: str = WIDE_USER, **kw) -> CachedBackend:
		frappe.set_user(user)
		self.addCleanup(frappe.set_user, "Administrator")
		args = {"ttl": 60, "max_entries": 2000, **kw}
		return CachedBackend(FrappeBackend(), user=user, policy=policy_for(user), **args)

	def test_the_oldest_entries_are_dropped_beyond_the_bound(self):
		names = [make_customer(f"MCP Cache Bound {i}") for i in range(5)]
		backend = self.backend(max_entries=3)
		for name in names:
			backend.get_document("Customer", name)
		self.assertEqual((backend.hits, backend.misses), (0, 5))
		backend.get_document("Customer", names[-1])
		self.assertEqual(backend.hits, 1)  # the newest is still there
		backend.get_document("Customer", names[0])
		self.assertEqual(backend.misses, 6)  # the oldest was dropped

	def test_results_over_the_byte_limit_are_not_cached(self):
		backend = self.backend(max_bytes=50)
		backend.get_document("Customer", self.a)
		backend.get_document("Customer", self.a)
		self.assertEqual((backend.hits, backend.misses), (0, 2))

	def test_entries_expire_after_the_ttl(self):
		backend = self.backend(ttl=1)
		backend.get_document("Customer", self.a)
		backend.get_document("Customer", self.a)
		self.assertEqual(backend.hits, 1)
		time.sleep(1.2)
		backend.get_document("Customer", self.a)
		self.assertEqual((backend.hits, backend.misses), (1, 2))

	def test_errors_are_never_cached(self):
		backend = self.backend()
		for _ in range(2):
			self.assertRaises(NotFound, backend.get_document, "Customer", "MCP Cache No Such Customer")
		self.assertEqual((backend.hits, backend.misses), (0, 2))

	def test_cache_off_reads_the_database_every_time(self):
		enable_mcp(cache_enabled=0)
		wide = MarkedClient(WIDE_USER)
		get(wide, self.a)
		get(wide, self.a)
		self.assertEqual(served(wide), [0, 0])

	def test_outside_tests_a_request_stores_only_from_a_fresh_snapshot(self):
		backend = self.backend()
		with (
			mock.patch.dict(frappe.flags, {"in_test": False}),
			mock.patch.object(frappe.db, "transaction_writes", 0),
			mock.patch.object(backend.inner, "fresh_snapshot") as fresh,
			no_commit() as commit,
		):
			backend.get_document("Customer", self.a)
			backend.get_document("Customer", self.a)
		fresh.assert_called_once()  # the read-only transaction ended before the first database read
		commit.assert_not_called()  # by a rollback: nothing is committed inside the request
		self.assertEqual((backend.hits, backend.misses), (1, 1))
		written = self.backend()
		with (
			mock.patch.dict(frappe.flags, {"in_test": False}),
			mock.patch.object(frappe.db, "transaction_writes", 3),
			mock.patch.object(written.inner, "fresh_snapshot") as fresh,
			no_commit() as commit,
		):
			written.get_document("Customer", self.b)
			written.get_document("Customer", self.b)
		fresh.assert_not_called()  # a request that wrote cannot end its transaction: it does not store
		self.assertEqual((written.hits, written.misses), (0, 2))
