"""Approvals on a real ERPNext site (issue 16): a Sales Order cancel that waits for a person, approved,
rejected or expired in Desk's methods, self-approval, changed arguments, double execution, the bell,
the three audit records, and a call issued by one worker and run by another (fresh caches and server;
on 2026-07-28 the sealed requestState)."""

from __future__ import annotations

import json
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from erpnext_mcp.data import approvals
from erpnext_mcp.server import sdk
from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.test_gate import _order
from erpnext_mcp.tests.test_profiles import make_item
from erpnext_mcp.tests.utils import (
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

AGENT = "mcp-approval-agent@example.com"  # the requester: Sales User
APPROVER = "mcp-approver@example.com"  # System Manager, the default approver role
SELF = "mcp-approval-self@example.com"  # Sales User and System Manager: may not approve its own
OUTSIDER = "mcp-approval-outsider@example.com"  # Sales User, not an approver
CUSTOMER = "MCP Approval Customer"
DOCTYPE = approvals.DOCTYPE


def structured(result: dict) -> dict:
	assert not result.get("isError"), result
	return result["structuredContent"]


def error(result: dict) -> str:
	assert result.get("isError") is True, result
	return "".join(c.get("text", "") for c in result["content"])


def decide(user: str, name: str, approve: bool, note: str | None = None):
	from erpnext_mcp.api import approvals as api

	previous = frappe.session.user
	frappe.set_user(user)
	try:
		return api.approve(name) if approve else api.reject(name, note)
	finally:
		frappe.set_user(previous)


class TestApprovals(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		ensure_user(AGENT, ["Sales User"])
		ensure_user(APPROVER, ["System Manager"])
		ensure_user(SELF, ["Sales User", "System Manager"])
		ensure_user(OUTSIDER, ["Sales User"])
		make_item()
		make_customer(CUSTOMER)
		for name in frappe.get_all("MCP Permission Profile", pluck="name"):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		enable_mcp(
			allowed_origins="", default_profile=None, allow_self_approval=0, approval_expiry_minutes=30
		)
		frappe.db.commit()

	def setUp(self):
		frappe.set_user("Administrator")
		frappe.db.savepoint("mcp_approvals_test")
		ensure_profile(
			"approvals",
			users=[AGENT, SELF, OUTSIDER],
			rules=[rule("Sales Order", "read,create,update,submit,cancel", approve_cancel=1)],
			conditions=[
				{
					"document_type": "Sales Order",
					"applies_to": "Approval on Update",
					"fieldname": "grand_total",
					"operator": ">",
					"value": "10000",
				}
			],
		)
		self.order = _order(CUSTOMER, submit=True)
		self.args = {"doctype": "Sales Order", "name": self.order}

	def tearDown(self):
		frappe.set_user("Administrator")
		enable_mcp(allow_self_approval=0)
		frappe.db.rollback(save_point="mcp_approvals_test")

	def ask(self, user: str = AGENT, args: dict | None = None) -> dict:
		return structured(InProcessClient(user).call("cancel_document", args or self.args))

	def docstatus(self) -> int:
		return frappe.db.get_value("Sales Order", self.order, "docstatus")

	# ---------------------------------------------------------------- approve, reject, expire

	def test_cancel_waits_is_approved_in_desk_and_runs_once_as_the_requester(self):
		waiting = self.ask()
		self.assertEqual(waiting["status"], "waiting_for_approval")
		self.assertEqual(self.docstatus(), 1)
		name = waiting["approval_id"]
		self.assertTrue(waiting["approval_url"].endswith(f"/app/mcp-approval-request/{name}"))
		request = frappe.get_doc(DOCTYPE, name)
		self.assertEqual(
			(request.status, request.requester, request.profile), ("Pending", AGENT, "approvals")
		)
		self.assertEqual(request.approver_role, "System Manager")
		total = frappe.db.get_value("Sales Order", self.order, "grand_total")
		currency = frappe.db.get_value("Sales Order", self.order, "currency")
		self.assertEqual(
			request.summary,
			f"cancel Sales Order {self.order} for customer {CUSTOMER}, grand total {total:,.2f} {currency}",
		)
		self.assertEqual(json.loads(request.arguments), self.args)
		# The bell: a Notification Log for the approver, linking to the request; none for the requester.
		bell = frappe.get_all(
			"Notification Log", filters={"document_type": DOCTYPE, "document_name": name}, pluck="for_user"
		)
		self.assertIn(APPROVER, bell)
		self.assertNotIn(AGENT, bell)
		# The agent may read its request in Desk, an outsider may not; nobody may write it.
		self.assertTrue(frappe.has_permission(DOCTYPE, "read", request, user=AGENT))
		self.assertFalse(frappe.has_permission(DOCTYPE, "read", request, user=OUTSIDER))
		self.assertFalse(frappe.has_permission(DOCTYPE, "write", request, user=APPROVER))
		with self.assertRaises(frappe.PermissionError):
			request.status = "Approved"
			request.save(ignore_permissions=True)

		self.assertEqual(decide(APPROVER, name, True)["status"], "Approved")
		status = structured(InProcessClient(AGENT).call("get_approval_status", {"approval_id": name}))
		self.assertEqual((status["status"], status["decided_by"]), ("approved", APPROVER))
		done = self.ask(args={**self.args, "approval_id": name})
		self.assertEqual(done["docstatus"], 2)
		self.assertEqual(self.docstatus(), 2)
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Executed")
		self.assertEqual(frappe.db.get_value("Sales Order", self.order, "modified_by"), AGENT)
		# Double execution refused.
		again = InProcessClient(AGENT).call("cancel_document", {**self.args, "approval_id": name})
		self.assertIn("already executed", error(again))
		# Three audit records link to the request: the call that asked, the decision, the execution.
		records = frappe.get_all(
			"MCP Audit Log",
			filters={"approval_request": name},
			fields=["result", "user", "tool", "http_method", "fields_named", "reason"],
			order_by="creation asc",
		)
		results = [r.result for r in records]
		self.assertEqual(results[:3], ["Approval Requested", "Approved", "Allowed"])
		self.assertEqual(records[1].user, APPROVER)
		self.assertEqual(records[1].http_method, "DESK")
		self.assertTrue(all(self.order not in (r.reason or "") or r.result != "Allowed" for r in records))
		from erpnext_mcp.erpnext_mcp.report.mcp_audit_summary.mcp_audit_summary import summarize

		today = frappe.utils.getdate()
		[row] = summarize(today, today, frappe._dict(user=APPROVER))
		self.assertGreaterEqual(row["approved"], 1)

	def test_rejected_is_refused_with_the_reason(self):
		name = self.ask()["approval_id"]
		decide(APPROVER, name, False, "The customer already paid.")
		refused = InProcessClient(AGENT).call("cancel_document", {**self.args, "approval_id": name})
		self.assertIn("The customer already paid.", error(refused))
		self.assertEqual(self.docstatus(), 1)
		results = frappe.get_all("MCP Audit Log", filters={"approval_request": name}, pluck="result")
		self.assertIn("Rejected", results)
		# Decided once: a second decision is refused.
		with self.assertRaises(frappe.PermissionError):
			decide(APPROVER, name, True)

	def test_expired_is_refused_and_the_scheduler_marks_it(self):
		name = self.ask()["approval_id"]
		frappe.db.set_value(DOCTYPE, name, "expires_at", now_datetime() - timedelta(minutes=1))
		with self.assertRaises(frappe.PermissionError):
			decide(APPROVER, name, True)
		other = self.ask()["approval_id"]
		decide(APPROVER, other, True)
		frappe.db.set_value(DOCTYPE, other, "expires_at", now_datetime() - timedelta(minutes=1))
		refused = InProcessClient(AGENT).call("cancel_document", {**self.args, "approval_id": other})
		self.assertIn("expired", error(refused))
		self.assertEqual(self.docstatus(), 1)
		self.assertGreaterEqual(approvals.expire_overdue(), 1)
		self.assertEqual(frappe.db.get_value(DOCTYPE, other, "status"), "Expired")
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Expired")

	def test_the_scheduler_expires_a_request_whose_profile_was_deleted(self):
		name = self.ask()["approval_id"]
		frappe.db.set_value(DOCTYPE, name, "expires_at", now_datetime() - timedelta(minutes=1))
		frappe.delete_doc("MCP Permission Profile", "approvals", ignore_permissions=True, force=True)
		# The request now links a profile that is gone: a save would fail link validation.
		self.assertGreaterEqual(approvals.expire_overdue(), 1)
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Expired")

	# ---------------------------------------------------------------- who may decide

	def test_self_approval_is_refused_by_default_and_allowed_by_the_setting(self):
		name = self.ask(user=SELF)["approval_id"]
		with self.assertRaises(frappe.PermissionError) as refused:
			decide(SELF, name, True)
		self.assertIn("cannot decide it yourself", str(refused.exception))
		with self.assertRaises(frappe.PermissionError):
			decide(OUTSIDER, name, True)  # not an approver at all
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Pending")
		enable_mcp(allow_self_approval=1)
		decide(SELF, name, True)
		self.assertEqual(self.ask(user=SELF, args={**self.args, "approval_id": name})["docstatus"], 2)

	def test_the_profile_names_the_approver_role(self):
		profile = frappe.get_doc("MCP Permission Profile", "approvals")
		profile.approver_role = "Sales Manager"
		profile.save(ignore_permissions=True)
		name = self.ask()["approval_id"]
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "approver_role"), "Sales Manager")
		with self.assertRaises(frappe.PermissionError):
			decide(APPROVER, name, True)  # System Manager, but not the role this profile names

	# ---------------------------------------------------------------- exactly this call

	def test_changed_arguments_and_other_users_are_refused(self):
		name = self.ask()["approval_id"]
		decide(APPROVER, name, True)
		other = _order(CUSTOMER, submit=True)
		changed = InProcessClient(AGENT).call(
			"cancel_document", {"doctype": "Sales Order", "name": other, "approval_id": name}
		)
		self.assertIn("arguments differ", error(changed))
		self.assertEqual(frappe.db.get_value("Sales Order", other, "docstatus"), 1)
		stranger = InProcessClient(OUTSIDER).call("cancel_document", {**self.args, "approval_id": name})
		self.assertIn("not yours", error(stranger))
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Approved")

	def test_update_waits_only_when_the_approval_condition_is_met(self):
		small, big = _order(CUSTOMER), _order(CUSTOMER)
		item = frappe.get_doc("Sales Order", big)
		item.items[0].rate = 20000  # ERPNext computes grand_total from the rows on save
		item.save(ignore_permissions=True)
		self.assertGreater(frappe.db.get_value("Sales Order", big, "grand_total"), 10000)
		done = InProcessClient(AGENT).call(
			"update_generic_document", {"doctype": "Sales Order", "name": small, "values": {"po_no": "SMALL"}}
		)
		self.assertEqual(structured(done)["name"], small)
		self.assertEqual(frappe.db.get_value("Sales Order", small, "po_no"), "SMALL")
		waits = InProcessClient(AGENT).call(
			"update_generic_document", {"doctype": "Sales Order", "name": big, "values": {"po_no": "BIG"}}
		)
		waiting = structured(waits)
		self.assertEqual(waiting["status"], "waiting_for_approval")
		self.assertIsNone(frappe.db.get_value("Sales Order", big, "po_no"))
		self.assertEqual(
			frappe.db.get_value(DOCTYPE, waiting["approval_id"], "rule"),
			"Sales Order: approval condition on update",
		)

	# ---------------------------------------------------------------- another worker

	def _fresh_worker(self):
		"""What another gunicorn worker has: no server object, no codec, no document cache."""
		from erpnext_mcp.server import app

		app._server = None
		sdk._SiteCodec._codecs.clear()
		frappe.clear_document_cache("MCP Settings", "MCP Settings")
		frappe.local.document_cache = {} if hasattr(frappe.local, "document_cache") else None

	def test_a_request_made_by_one_worker_runs_in_another(self):
		name = self.ask()["approval_id"]
		decide(APPROVER, name, True)
		self._fresh_worker()
		self.assertEqual(self.ask(args={**self.args, "approval_id": name})["docstatus"], 2)

	def test_2026_state_sealed_by_one_worker_is_opened_by_another_and_bound_to_the_site_key(self):
		if sdk.SDK_MAJOR < 2:
			self.skipTest("the 2026-07-28 revision exists only in the 2.x SDK (Frappe v16)")
		client = InProcessClient(AGENT, version="2026-07-28")
		meta = {
			"io.modelcontextprotocol/protocolVersion": "2026-07-28",
			"io.modelcontextprotocol/clientInfo": {"name": "tier2", "version": "1"},
			"io.modelcontextprotocol/clientCapabilities": {"elicitation": {"url": {}}},
		}
		headers = {"mcp-method": "tools/call", "mcp-name": "cancel_document"}

		def post(params):
			body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, **params}}
			return client.post(body, headers=headers).json()

		first = post({"name": "cancel_document", "arguments": self.args})["result"]
		self.assertEqual(first["resultType"], "input_required")
		url = first["inputRequests"]["approval"]["params"]["url"]
		name = url.rsplit("/", 1)[1]
		self.assertNotIn(name, first["requestState"])
		decide(APPROVER, name, True)
		self._fresh_worker()
		# Another site's key (another encryption_key) does not open it.
		real = frappe.local.conf.encryption_key
		frappe.local.conf.encryption_key = "bm90LXRoZS1zaXRlcy1rZXktYXQtYWxsLTAxMjM0NTY3ODk="
		try:
			foreign = post(
				{"name": "cancel_document", "arguments": self.args, "requestState": first["requestState"]}
			)
		finally:
			frappe.local.conf.encryption_key = real
		self.assertEqual(foreign["error"]["message"], "Invalid or expired requestState")
		self.assertEqual(self.docstatus(), 1)
		self._fresh_worker()
		done = post(
			{"name": "cancel_document", "arguments": self.args, "requestState": first["requestState"]}
		)
		self.assertEqual(done["result"]["structuredContent"]["docstatus"], 2, done)
		self.assertEqual(frappe.db.get_value(DOCTYPE, name, "status"), "Executed")
