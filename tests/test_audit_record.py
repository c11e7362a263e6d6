"""The audit record's pure parts: what a request says about itself (audit_facts.py) and the row built
from an exchange (audit_record.py): names, never values."""

from __future__ import annotations

import json

import pytest

from erpnext_mcp import audit_facts as peek
from erpnext_mcp import audit_record as record
from erpnext_mcp.policy import Condition, Profile, Rule, resolve
from erpnext_mcp.server.app import run_tool
from erpnext_mcp.server.context import CallState, EndpointSettings
from tests.memory_backend import MemoryBackend, MemoryStore

SALES = "sales@example.com"


def body(obj) -> bytes:
	return json.dumps(obj).encode()


# ---------------------------------------------------------------- peek


def test_initialize_names_the_client_and_the_requested_revision():
	facts = peek.request_facts(
		{"user-agent": "python-httpx/0.28.1"},
		body(
			{
				"jsonrpc": "2.0",
				"id": 1,
				"method": "initialize",
				"params": {
					"protocolVersion": "2025-06-18",
					"clientInfo": {"name": "claude-ai", "version": "0.1.0"},
				},
			}
		),
	)
	assert (facts.mcp_method, facts.client_name, facts.client_version) == ("initialize", "claude-ai", "0.1.0")
	assert facts.protocol_version == "2025-06-18"
	assert facts.user_agent == "python-httpx/0.28.1"
	assert not facts.parse_error


def test_stateless_revision_carries_client_info_in_meta():
	meta = {peek.CLIENT_INFO_META_KEY: {"name": "inspector", "version": "2.0"}}
	facts = peek.request_facts(
		{"mcp-protocol-version": "2026-07-28"},
		body({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "x", "_meta": meta}}),
	)
	assert (facts.client_name, facts.client_version, facts.protocol_version) == (
		"inspector",
		"2.0",
		"2026-07-28",
	)


def test_user_agent_is_the_fallback_for_the_client():
	facts = peek.request_facts(
		{"user-agent": "node-fetch/1.0 (+https://x)", "mcp-protocol-version": "2025-03-26"},
		body({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
	)
	assert (facts.client_name, facts.client_version) == ("node-fetch", "1.0")
	assert facts.protocol_version == "2025-03-26"


@pytest.mark.parametrize(
	"raw, method, parse_error",
	[
		(b'{"jsonrpc": "2.0", "id": ', None, True),
		(b"\xff\xfe", None, True),
		(b"[1, 2]", "batch", False),
		(b'"just a string"', None, False),
		(b'{"method": 12, "params": "nope"}', None, False),
		(b"", None, False),
	],
)
def test_hostile_bodies_never_raise(raw, method, parse_error):
	facts = peek.request_facts({}, raw)
	assert facts.mcp_method == method
	assert facts.parse_error is parse_error


def test_long_client_strings_are_cut():
	facts = peek.request_facts(
		{"user-agent": "u" * 5000},
		body({"method": "initialize", "params": {"clientInfo": {"name": "n" * 5000, "version": 7}}}),
	)
	assert len(facts.client_name) == 140 and facts.client_version is None and len(facts.user_agent) == 140


def test_answers_are_read_for_revision_and_errors():
	assert peek.negotiated_revision(
		body({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-06-18"}})
	) == ("2025-06-18")
	assert peek.negotiated_revision(b"not json") is None
	assert peek.jsonrpc_error(
		body({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "nope"}})
	) == (
		-32601,
		"nope",
	)
	ok = body(
		{"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": '{"error": "x"}'}]}}
	)
	assert peek.jsonrpc_error(ok) is None


# ---------------------------------------------------------------- record


FACTS = peek.RequestFacts(
	mcp_method="tools/call", client_name="c", client_version="1", protocol_version="2025-06-18"
)


def build(**kw):
	args = {
		"facts": FACTS,
		"http_method": "post",
		"status": 200,
		"user": "u@example.com",
		"remote_ip": "10.0.0.1",
		"duration_ms": 12.345,
	}
	args.update(kw)
	return record.build(**args)


@pytest.mark.parametrize(
	"status, audit, error, expected",
	[
		(200, {}, None, "Allowed"),
		(200, {"result": "Denied"}, None, "Denied"),
		(200, {}, (-32601, "Method not found"), "Error"),
		(401, {}, None, "Denied"),
		(403, {}, None, "Denied"),
		(429, {}, None, "Rate Limited"),
		(400, {}, (-32700, "Parse error"), "Error"),
		(503, {}, None, "Error"),
		(202, {}, None, "Allowed"),
	],
)
def test_result_follows_the_exchange(status, audit, error, expected):
	assert build(status=status, audit=audit, jsonrpc_error=error)["result"] == expected


def test_reason_is_assembled_from_names_never_from_the_message():
	audit = {
		"result": "Denied",
		"reason": 'Profile "P" refuses: customer_name is "Top Secret Ltd"',
		"error_kind": "permission_denied",
		"layer": "profile condition",
		"rule": "Customer: condition row 2 (territory in (Secretland))",
	}
	row = build(audit=audit)
	assert row["reason"] == "permission denied by profile condition (rule Customer: condition row 2)"
	assert "Secret" not in json.dumps(row, default=str)


def test_rule_labels_lose_condition_descriptions():
	assert record.rule_label("Customer: condition territory = Europe") == "Customer: condition"
	assert record.rule_label("Customer: fields") == "Customer: fields"
	assert record.rule_label("Customer: allowed fields (customer_name)") == "Customer: allowed fields"
	assert record.rule_label(None) is None


def test_quoted_request_values_are_cut_from_protocol_messages():
	row = build(status=200, jsonrpc_error=(-32602, "Invalid params: input_value='hunter2', input_type=str"))
	assert "hunter2" not in row["reason"] and row["reason"].startswith("JSON-RPC invalid params (-32602)")


def test_names_and_fields_are_bounded_and_only_names():
	row = build(
		audit={
			"names": [f"DOC-{i}" for i in range(150)],
			"fields": {"customer_name", "items.qty", "x' OR 1=1", "", 5, "a b"},
			"returned": {f"f{i}" for i in range(400)},
		}
	)
	lines = row["document_names"].split("\n")
	assert lines[0] == "DOC-0" and lines[-1] == "... 50 more" and len(lines) == 101
	assert row["fields_named"] == "customer_name, items.qty"
	assert row["fields_returned"].endswith("... 100 more")
	assert row["duration_ms"] == 12.3 and row["http_method"] == "POST" and row["request_count"] == 1


def test_returned_fieldnames_include_child_rows():
	result = {
		"document": {"name": "X", "items": [{"item_code": "A", "qty": 1}], "customer": "C"},
		"documents": [{"name": "Y", "territory": "T"}],
	}
	assert record.returned_fieldnames(result) == {
		"name",
		"items",
		"items.item_code",
		"items.qty",
		"customer",
		"territory",
	}
	assert record.returned_fieldnames({"fields": [{"fieldname": "x"}]}) == set()


# ---------------------------------------------------------------- from a real tool call


def state(profiles):
	return CallState(
		backend=MemoryBackend(MemoryStore(), SALES),
		policy=resolve(profiles),
		settings=EndpointSettings(enabled=True),
		headers={},
		protocol_version="2025-06-18",
	)


def test_a_refused_write_leaves_kind_layer_and_rule_and_no_value():
	profile = Profile(
		"Sales",
		(
			Rule(
				"Customer",
				frozenset({"read", "create"}),
				conditions=(
					Condition("customer_type", "in", ["Company"], frozenset({"create"}), "condition row 1"),
				),
			),
		),
	)
	s = state([profile])
	secret = "Partnership-Zebra-4711"
	result = run_tool(
		s,
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "Zebra Secret Co", "customer_type": secret}},
	)
	assert result["isError"]
	assert s.audit["error_kind"] == "permission_denied" and s.audit["layer"]
	row = build(audit=s.audit)
	assert row["result"] == "Denied" and row["operation"] == "create" and row["document_type"] == "Customer"
	assert row["fields_named"] == "customer_name, customer_type"
	text = json.dumps(row, default=str)
	assert secret not in text and "Zebra Secret Co" not in text


def test_a_read_records_the_returned_field_names():
	profile = Profile("Sales", (Rule("Customer", frozenset({"read"})),))
	s = state([profile])
	result = run_tool(s, "get_generic_document", {"doctype": "Customer", "name": "CUST-EG-1"})
	assert not result.get("isError")
	row = build(audit=s.audit)
	returned = set(row["fields_returned"].split(", "))
	assert {"name", "customer_name"} <= returned
	assert row["document_names"] == "CUST-EG-1"
	text = json.dumps(row, default=str)
	values = [
		v for v in result["structuredContent"]["document"].values() if isinstance(v, str) and len(v) > 3
	]
	assert values
	for value in values:
		# A value may only show up inside the document's own name (e.g. "EG-1" of "CUST-EG-1").
		if value not in "CUST-EG-1" and value not in returned:
			assert value not in text
