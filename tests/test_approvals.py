"""Approvals (issue 16) without Frappe: the engine's approval decisions, the pure request rules, and
the one dispatch path (run_tool) on the memory backend, then over HTTP with the real SDK client
(handshake revisions on both lines; 2026-07-28 input_required with a sealed requestState on 2.x)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from erpnext_mcp.policy import Condition, Profile, Rule, resolve
from erpnext_mcp.policy import approvals as rules
from erpnext_mcp.server import sdk
from erpnext_mcp.server.app import catalogue, run_tool
from erpnext_mcp.server.context import CallState, EndpointSettings
from tests.clients import connect
from tests.harness import TOKEN_OF
from tests.memory_backend import MemoryBackend, MemoryStore

SALES = "sales@example.com"
APPROVER = "approver@example.com"
MANAGER = "manager@example.com"
SNAPS = Path(__file__).parent / "__toolsnaps__" / "approvals"
ALL = frozenset({"read", "create", "update", "delete", "submit", "cancel"})


def approving_profile(name="Approvals", **rule) -> Profile:
	return Profile(
		name,
		(
			Rule(
				"Sales Order",
				ALL,
				approval_operations=frozenset({"cancel"}),
				conditions=(Condition("grand_total", ">", 10000, frozenset({"approve update"})),),
				**rule,
			),
			Rule(
				"Sales Invoice",
				ALL,
				approval_operations=frozenset({"submit", "delete"}),
				conditions=(Condition("customer", "=", "CUST-IN-1", frozenset({"approve create"})),),
			),
			Rule("Customer", frozenset({"read"})),
		),
		approver_role="System Manager",
	)


def make_state(store, user=SALES, profiles=None, **settings) -> CallState:
	return CallState(
		backend=MemoryBackend(store, user),
		policy=resolve(profiles if profiles is not None else [approving_profile()]),
		settings=EndpointSettings(enabled=True, **settings),
		headers={},
		protocol_version="2025-06-18",
	)


def call(store, tool, args, user=SALES, **kw):
	return run_tool(make_state(store, user, **kw), tool, args)


CANCEL = {"doctype": "Sales Order", "name": "SO-0001"}


# ---------------------------------------------------------------- the engine


def test_approval_needed_for_ticked_operations_only():
	policy = resolve([approving_profile()])
	decision = policy.approval_needed("cancel", "Sales Order", {"name": "SO-0001"})
	assert decision is not None and not decision.allowed
	assert decision.layer == "approval" and decision.rule == "Sales Order: approve cancel"
	assert 'role "System Manager"' in decision.reason
	assert policy.approval_needed("submit", "Sales Order", {}) is None
	assert policy.approval_needed("delete", "Sales Order", {}) is None
	assert policy.approval_needed("submit", "Sales Invoice", {}).rule == "Sales Invoice: approve submit"
	assert policy.approval_needed("cancel", "Customer", {}) is None
	assert policy.approval_needed("cancel", "Supplier", {}) is None  # no rule at all


def test_approval_conditions_trigger_create_and_update_when_every_condition_is_met():
	policy = resolve([approving_profile()])
	assert policy.approval_needed("update", "Sales Order", {"grand_total": 12000}) is not None
	assert policy.approval_needed("update", "Sales Order", {"grand_total": 10000}) is None
	assert policy.approval_needed("update", "Sales Order", {}) is None
	assert policy.approval_needed("create", "Sales Order", {"grand_total": 99999}) is None
	needed = policy.approval_needed("create", "Sales Invoice", {"customer": " cust-in-1 "})
	assert needed is not None and 'customer = "CUST-IN-1"' in needed.reason
	assert policy.approval_needed("create", "Sales Invoice", {"customer": "CUST-EG-1"}) is None


def test_approval_conditions_are_not_limits_and_existing_profiles_need_no_approval():
	policy = resolve([approving_profile()])
	# An "approve update" condition never refuses: a small update is allowed without approval.
	assert policy.check_update("Sales Order", {"grand_total": 1}, {"grand_total": 5}).allowed
	assert policy.check_update("Sales Order", {"grand_total": 1}, {"grand_total": 50000}).allowed
	plain = resolve([Profile("Old", (Rule("Sales Order", ALL),))])
	assert not plain.has_approvals()
	assert all(plain.approval_needed(op, "Sales Order", {"grand_total": 1e9}) is None for op in ALL)
	assert policy.has_approvals()
	assert policy.approver_role("Sales Order") == "System Manager"
	assert policy.summary("Sales Order")["approval"] == ["cancel", "update"]


def test_rule_refuses_approval_on_operations_that_cannot_wait():
	with pytest.raises(ValueError, match="approval applies to"):
		Rule("Sales Order", ALL, approval_operations=frozenset({"read"}))


# ---------------------------------------------------------------- the pure request rules


def test_fingerprint_binds_tool_and_exact_arguments_but_not_the_approval_id():
	base = rules.fingerprint("cancel_document", CANCEL)
	assert base == rules.fingerprint("cancel_document", {**CANCEL, "approval_id": "MCP-APR-1"})
	assert base == rules.fingerprint("cancel_document", dict(reversed(list(CANCEL.items()))))
	assert base != rules.fingerprint("cancel_document", {**CANCEL, "name": "SO-0002"})
	assert base != rules.fingerprint("submit_document", CANCEL)
	assert rules.fingerprint("t", {"v": 10}) != rules.fingerprint("t", {"v": 10.0})


def test_the_call_in_plain_words():
	text = rules.describe_call(
		"cancel",
		"Sales Invoice",
		"ACC-SINV-2026-00012",
		{"grand_total": 12400, "currency": "USD", "customer": "Nile Traders"},
	)
	assert (
		text
		== "cancel Sales Invoice ACC-SINV-2026-00012 for customer Nile Traders, grand total 12,400.00 USD"
	)
	assert rules.describe_call("create", "Sales Order", None, {}) == "create Sales Order"


def _view(**kw) -> rules.ApprovalView:
	base = {
		"name": "MCP-APR-1",
		"status": rules.APPROVED,
		"requester": SALES,
		"tool": "cancel_document",
		"operation": "cancel",
		"doctype": "Sales Order",
		"document_name": "SO-0001",
		"fingerprint": rules.fingerprint("cancel_document", CANCEL),
		"expires_at": datetime.now() + timedelta(minutes=5),
	}
	return rules.ApprovalView(**{**base, **kw})


@pytest.mark.parametrize(
	("change", "user", "tool", "args", "says"),
	[
		({}, SALES, "cancel_document", CANCEL, None),
		({}, MANAGER, "cancel_document", CANCEL, "not made by you"),
		({}, SALES, "submit_document", CANCEL, "approves a call of cancel_document"),
		({}, SALES, "cancel_document", {**CANCEL, "name": "SO-0002"}, "arguments differ"),
		({"status": rules.EXECUTED}, SALES, "cancel_document", CANCEL, "already executed"),
		(
			{"status": rules.REJECTED, "note": "too big", "approver": APPROVER},
			SALES,
			"cancel_document",
			CANCEL,
			"too big",
		),
		({"expires_at": datetime.now() - timedelta(seconds=1)}, SALES, "cancel_document", CANCEL, "expired"),
	],
)
def test_execution_refusals(change, user, tool, args, says):
	refusal = rules.execution_refusal(
		_view(**change),
		user=user,
		tool=tool,
		call_fingerprint=rules.fingerprint(tool, args),
		now=datetime.now(),
	)
	if says is None:
		assert refusal is None
	else:
		assert refusal is not None and says in refusal


def test_decision_refusals_self_approval_role_and_status():
	pending = _view(status=rules.PENDING, requester=APPROVER)
	kw = {"approver_role": "System Manager", "now": datetime.now()}
	own = rules.decision_refusal(
		pending, approver=APPROVER, approver_roles={"System Manager"}, allow_self_approval=False, **kw
	)
	assert own is not None and "cannot decide it yourself" in own
	assert (
		rules.decision_refusal(
			pending, approver=APPROVER, approver_roles={"System Manager"}, allow_self_approval=True, **kw
		)
		is None
	)
	role = rules.decision_refusal(
		pending, approver=MANAGER, approver_roles={"Sales User"}, allow_self_approval=False, **kw
	)
	assert role is not None and "role System Manager" in role
	done = rules.decision_refusal(
		_view(status=rules.REJECTED),
		approver=APPROVER,
		approver_roles={"System Manager"},
		allow_self_approval=False,
		**kw,
	)
	assert done is not None and "already rejected" in done


# ---------------------------------------------------------------- the one dispatch path


def test_a_call_that_needs_approval_waits_writes_nothing_and_is_not_an_error():
	store = MemoryStore()
	state = make_state(store)
	out = run_tool(state, "cancel_document", CANCEL)
	assert "isError" not in out
	waiting = out["structuredContent"]
	assert waiting["status"] == "waiting_for_approval"
	assert waiting["approval_url"].endswith(f"/app/mcp-approval-request/{waiting['approval_id']}")
	assert "call cancel_document again with exactly the same arguments" in waiting["message"]
	assert store.docs["Sales Order"]["SO-0001"]["docstatus"] == 1  # nothing cancelled
	row = store.approvals[waiting["approval_id"]]
	assert (
		row["status"] == rules.PENDING
		and row["requester"] == SALES
		and row["approver_role"] == "System Manager"
	)
	assert row["summary"] == "cancel Sales Order SO-0001 for customer CUST-EG-1, grand total 200.00"
	assert store.notified == [("System Manager", waiting["approval_id"])]
	assert state.audit["result"] == "Approval Requested"
	assert state.audit["approval_request"] == waiting["approval_id"]
	assert state.audit["rule"] == "Sales Order: approve cancel"


def test_approve_then_run_once_exactly_as_approved():
	store = MemoryStore()
	approval_id = call(store, "cancel_document", CANCEL)["structuredContent"]["approval_id"]
	# Before anyone decides: still waiting, nothing claimed.
	again = call(store, "cancel_document", {**CANCEL, "approval_id": approval_id})
	assert again["structuredContent"]["status"] == "waiting_for_approval"
	assert store.approvals[approval_id]["status"] == rules.PENDING
	store.decide(approval_id, APPROVER, approve=True)
	# Other arguments under this approval: refused, nothing done, approval still usable.
	other = call(
		store, "cancel_document", {"doctype": "Sales Order", "name": "SO-0002", "approval_id": approval_id}
	)
	assert other["isError"] and "arguments differ" in json.loads(other["content"][0]["text"])["message"]
	assert store.docs["Sales Order"]["SO-0002"]["docstatus"] == 1
	# Another user with this approval: it does not exist for them.
	stranger = call(store, "cancel_document", {**CANCEL, "approval_id": approval_id}, user=MANAGER)
	assert stranger["isError"] and json.loads(stranger["content"][0]["text"])["error"] == "not_found"
	state = make_state(store)
	done = run_tool(state, "cancel_document", {**CANCEL, "approval_id": approval_id})
	assert "isError" not in done and done["structuredContent"]["docstatus"] == 2
	assert store.docs["Sales Order"]["SO-0001"]["docstatus"] == 2
	assert store.approvals[approval_id]["status"] == rules.EXECUTED
	assert state.audit["result"] == "Allowed" and state.audit["approval_request"] == approval_id
	twice = call(store, "cancel_document", {**CANCEL, "approval_id": approval_id})
	assert twice["isError"] and "already executed" in twice["content"][0]["text"]


def test_an_approved_call_still_passes_every_check_and_a_failure_keeps_the_approval():
	store = MemoryStore()
	approval_id = call(store, "cancel_document", CANCEL)["structuredContent"]["approval_id"]
	store.decide(approval_id, APPROVER, approve=True)
	# The document changed since (someone cancelled it in Desk): ERPNext refuses, nothing is consumed.
	store.docs["Sales Order"]["SO-0001"]["docstatus"] = 2
	failed = call(store, "cancel_document", {**CANCEL, "approval_id": approval_id})
	assert failed["isError"]
	assert store.approvals[approval_id]["status"] == rules.APPROVED
	# The profile no longer allows cancel: the approval does not widen it.
	narrowed = Profile("Approvals", (Rule("Sales Order", frozenset({"read"})),))
	store.docs["Sales Order"]["SO-0001"]["docstatus"] = 1
	refused = call(store, "cancel_document", {**CANCEL, "approval_id": approval_id}, profiles=[narrowed])
	assert refused["isError"]
	assert store.docs["Sales Order"]["SO-0001"]["docstatus"] == 1


def test_rejected_and_expired_are_refused_with_the_reason():
	store = MemoryStore()
	rejected = call(store, "cancel_document", CANCEL)["structuredContent"]["approval_id"]
	store.decide(rejected, APPROVER, approve=False, note="the customer paid already")
	out = call(store, "cancel_document", {**CANCEL, "approval_id": rejected})
	assert out["isError"] and "the customer paid already" in out["content"][0]["text"]
	expired = call(store, "cancel_document", CANCEL)["structuredContent"]["approval_id"]
	store.decide(expired, APPROVER, approve=True)
	store.approvals[expired]["expires_at"] = datetime.now() - timedelta(seconds=1)
	out = call(store, "cancel_document", {**CANCEL, "approval_id": expired})
	assert out["isError"] and "expired" in out["content"][0]["text"]
	assert store.docs["Sales Order"]["SO-0001"]["docstatus"] == 1


def test_self_approval_is_refused_unless_allowed():
	store = MemoryStore()
	approval_id = call(store, "cancel_document", CANCEL, user=APPROVER)["structuredContent"]["approval_id"]
	with pytest.raises(PermissionError, match="cannot decide it yourself"):
		store.decide(approval_id, APPROVER, approve=True)
	store.decide(approval_id, APPROVER, approve=True, allow_self=True)
	assert store.approvals[approval_id]["status"] == rules.APPROVED


def test_update_waits_only_above_the_condition_and_create_by_condition():
	store = MemoryStore()
	for name, total in (("SO-D1", 200.0), ("SO-D2", 20000.0)):
		store.docs["Sales Order"][name] = {
			**store.docs["Sales Order"]["SO-0001"],
			"name": name,
			"docstatus": 0,
			"grand_total": total,
		}
	small = call(
		store,
		"update_generic_document",
		{"doctype": "Sales Order", "name": "SO-D1", "values": {"po_no": "A"}},
	)
	assert "isError" not in small and small["structuredContent"]["name"] == "SO-D1"
	big = call(
		store,
		"update_generic_document",
		{"doctype": "Sales Order", "name": "SO-D2", "values": {"po_no": "B"}},
	)
	assert big["structuredContent"]["status"] == "waiting_for_approval"
	assert store.docs["Sales Order"]["SO-D2"].get("po_no") is None
	values = {"customer": "CUST-IN-1", "items": [{"item_code": "WIDGET", "qty": 1, "rate": 5}]}
	created = call(store, "create_generic_document", {"doctype": "Sales Invoice", "values": values})
	approval_id = created["structuredContent"]["approval_id"]
	assert len(store.docs["Sales Invoice"]) == 1
	assert store.approvals[approval_id]["summary"].startswith("create Sales Invoice for customer CUST-IN-1")
	store.decide(approval_id, APPROVER, approve=True)
	made = call(
		store,
		"create_generic_document",
		{"doctype": "Sales Invoice", "values": values, "approval_id": approval_id},
	)
	assert "isError" not in made and len(store.docs["Sales Invoice"]) == 2


def test_get_approval_status_tells_the_requester_only():
	store = MemoryStore()
	approval_id = call(store, "cancel_document", CANCEL)["structuredContent"]["approval_id"]
	status = call(store, "get_approval_status", {"approval_id": approval_id})["structuredContent"]
	assert status["status"] == "pending" and status["tool"] == "cancel_document"
	store.decide(approval_id, APPROVER, approve=False, note="no")
	status = call(store, "get_approval_status", {"approval_id": approval_id})["structuredContent"]
	assert status == {**status, "status": "rejected", "reason": "no", "decided_by": APPROVER}
	other = call(store, "get_approval_status", {"approval_id": approval_id}, user=MANAGER)
	assert other["isError"]


def test_approval_id_only_where_a_profile_has_approvals():
	store = MemoryStore()
	with_approvals = {t.name: t.as_wire() for t in catalogue(make_state(store))}
	plain = {
		t.name: t.as_wire()
		for t in catalogue(make_state(store, profiles=[Profile("P", (Rule("Sales Order", ALL),))]))
	}
	assert "get_approval_status" in with_approvals and "get_approval_status" not in plain
	for name in (
		"create_generic_document",
		"update_generic_document",
		"delete_generic_document",
		"submit_document",
		"cancel_document",
	):
		assert "approval_id" in with_approvals[name]["inputSchema"]["properties"], name
		assert "approval_id" not in plain[name]["inputSchema"]["properties"], name
	assert "approval_id" not in with_approvals["get_generic_document"]["inputSchema"]["properties"]
	refused = call(
		store,
		"cancel_document",
		{**CANCEL, "approval_id": "x"},
		profiles=[Profile("P", (Rule("Sales Order", ALL),))],
	)
	assert refused["isError"] and "approval_id" in refused["content"][0]["text"]


@pytest.mark.parametrize("name", ["get_approval_status", "cancel_document"])
def test_approval_tools_match_their_snapshot(name):
	tool = {t.name: t.as_wire() for t in catalogue(make_state(MemoryStore()))}[name]
	text = json.dumps(tool, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
	path = SNAPS / f"{name}.json"
	import os

	if os.environ.get("ERPNEXT_MCP_UPDATE_TOOLSNAPS") == "1":
		path.parent.mkdir(exist_ok=True)
		path.write_text(text)
	assert path.read_text() == text


# ---------------------------------------------------------------- over HTTP, the real SDK client


@pytest.fixture
def server(harness):
	harness.app.profiles[SALES] = [approving_profile()]
	harness.app.profiles[APPROVER] = [approving_profile()]
	return harness


def headers(user=SALES):
	return {"Authorization": TOKEN_OF[user]}


def test_handshake_flow_over_http_with_the_sdk_client(server):
	store = server.app.store

	async def flow():
		async with connect(server.url, headers()) as s:
			tools = {t["name"] for t in await s.list_tools()}
			assert "get_approval_status" in tools
			first = await s.call_tool("cancel_document", CANCEL)
			assert not first.isError
			approval_id = first.structuredContent["approval_id"]
			store.decide(approval_id, APPROVER, approve=True)
			status = await s.call_tool("get_approval_status", {"approval_id": approval_id})
			assert status.structuredContent["status"] == "approved"
			done = await s.call_tool("cancel_document", {**CANCEL, "approval_id": approval_id})
			assert not done.isError and done.structuredContent["docstatus"] == 2
			again = await s.call_tool("cancel_document", {**CANCEL, "approval_id": approval_id})
			assert again.isError and "already executed" in again.text

	asyncio.run(flow())
	assert store.docs["Sales Order"]["SO-0001"]["docstatus"] == 2


@pytest.mark.skipif(sdk.SDK_MAJOR < 2, reason="the 2026-07-28 revision exists only in the 2.x SDK")
def test_2026_input_required_with_url_request_and_sealed_state(server):
	import mcp.types as types

	store = server.app.store
	seen = []

	async def approve_in_browser(context, params):
		# What a person does with the URL: opens the approval page and clicks Approve.
		seen.append(params)
		approval_id = params.url.rsplit("/", 1)[1]
		# A fresh worker opens the state: no codec cached in this process.
		sdk._SiteCodec._codecs.clear()
		store.decide(approval_id, APPROVER, approve=True)
		return types.ElicitResult(action="accept")

	async def flow():
		async with connect(
			server.url, headers(), mode="2026-07-28", elicitation_callback=approve_in_browser
		) as s:
			await s.list_tools()
			return await s.call_tool("cancel_document", CANCEL)

	done = asyncio.run(flow())
	assert not done.isError and done.structuredContent["docstatus"] == 2
	assert len(seen) == 1 and seen[0].mode == "url" and "/app/mcp-approval-request/" in seen[0].url
	[row] = store.approvals.values()
	assert row["status"] == rules.EXECUTED


@pytest.mark.skipif(sdk.SDK_MAJOR < 2, reason="the 2026-07-28 revision exists only in the 2.x SDK")
def test_2026_request_state_is_sealed_bound_and_refused_when_tampered_or_from_another_site(server):
	import httpx

	h = {
		"Accept": "application/json, text/event-stream",
		"Content-Type": "application/json",
		"Authorization": TOKEN_OF[SALES],
		"MCP-Protocol-Version": "2026-07-28",
		"Mcp-Method": "tools/call",
		"Mcp-Name": "cancel_document",
	}
	meta = {
		"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientInfo": {"name": "tier1", "version": "1"},
		"io.modelcontextprotocol/clientCapabilities": {"elicitation": {"url": {}}},
	}

	def post(params):
		body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, **params}}
		return httpx.post(server.url, headers=h, json=body).json()

	first = post({"name": "cancel_document", "arguments": CANCEL})["result"]
	assert first["resultType"] == "input_required"
	state = first["requestState"]
	[approval_id] = server.app.store.approvals
	assert approval_id not in state  # sealed, not readable
	request = first["inputRequests"]["approval"]
	assert request["method"] == "elicitation/create" and request["params"]["mode"] == "url"
	server.app.store.decide(approval_id, APPROVER, approve=True)
	tampered = post({"name": "cancel_document", "arguments": CANCEL, "requestState": state[:-2] + "AA"})
	assert tampered["error"]["message"] == "Invalid or expired requestState"
	other_args = post(
		{"name": "cancel_document", "arguments": {**CANCEL, "name": "SO-0002"}, "requestState": state}
	)
	assert other_args["error"]["message"] == "Invalid or expired requestState"
	server.app.state_secret = b"another-site-has-another-encryption-key!"
	assert post({"name": "cancel_document", "arguments": CANCEL, "requestState": state})["error"]
	server.app.state_secret = b"tier1-site-secret-derived-from-encryption-key"
	assert server.app.store.docs["Sales Order"]["SO-0001"]["docstatus"] == 1
	done = post({"name": "cancel_document", "arguments": CANCEL, "requestState": state})["result"]
	assert done.get("isError") is not True and done["structuredContent"]["docstatus"] == 2
