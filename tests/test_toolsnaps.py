"""Every tool's definition as a client receives it, snapshotted (github-mcp-server's __toolsnaps__): a
schema, description or annotation changes only on purpose. After a deliberate change, rewrite them
with ERPNEXT_MCP_UPDATE_TOOLSNAPS=1 and review the diff like code. Sizes are held too: every byte of
tools/list is paid by the model on every turn."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from erpnext_mcp.policy import DOCTYPE_TOOL_KINDS, OPERATIONS, Profile, Rule, resolve
from erpnext_mcp.server.app import catalogue
from erpnext_mcp.server.context import CallState, EndpointSettings
from tests.memory_backend import MemoryBackend, MemoryStore

SNAPS = Path(__file__).parent / "__toolsnaps__"
UPDATE = os.environ.get("ERPNEXT_MCP_UPDATE_TOOLSNAPS") == "1"
# bytes: the whole tools/list of a new profile, 17 generic tools (aggregate_documents, search_link,
# run_report and make_document added 5.4 KB to the 14.9 KB of the first 13)
GENERIC_BUDGET = 20_500


def snapshot_state() -> CallState:
	everything = frozenset(OPERATIONS)
	profile = Profile(
		"snapshots",
		(
			Rule("Customer", everything, doctype_tools=frozenset(DOCTYPE_TOOL_KINDS)),
			Rule("Sales Invoice", everything),
			Rule("Sales Order", frozenset({"read"})),
		),
		reports=frozenset({"Customer Credit"}),
	)
	state = CallState(
		backend=MemoryBackend(MemoryStore(), "manager@example.com"),
		policy=resolve([profile]),
		settings=EndpointSettings(enabled=True),
		headers={},
		protocol_version="2025-06-18",
	)
	return state


def wire_tools() -> list[dict]:
	return [t.as_wire() for t in catalogue(snapshot_state())]


def canonical(tool: dict) -> str:
	return json.dumps(tool, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


TOOLS = wire_tools()


@pytest.mark.parametrize("tool", TOOLS, ids=[t["name"] for t in TOOLS])
def test_tool_matches_its_snapshot(tool):
	path = SNAPS / f"{tool['name']}.json"
	if UPDATE:
		path.write_text(canonical(tool))
	assert path.exists(), f"no snapshot for {tool['name']}: run with ERPNEXT_MCP_UPDATE_TOOLSNAPS=1"
	assert path.read_text() == canonical(tool), (
		f"{tool['name']} changed; if on purpose, run with ERPNEXT_MCP_UPDATE_TOOLSNAPS=1 and review the diff"
	)


def test_no_snapshot_is_left_for_a_tool_that_is_gone():
	names = {t["name"] for t in TOOLS}
	stale = sorted(p.stem for p in SNAPS.glob("*.json") if p.stem not in names)
	assert stale == [], f"snapshots of tools that no longer exist: {stale}"


def test_every_tool_declares_read_only_hint_and_a_required_list_where_it_needs_one():
	for tool in TOOLS:
		assert isinstance(tool["annotations"].get("readOnlyHint"), bool), tool["name"]
		schema = tool["inputSchema"]
		assert schema["type"] == "object" and schema.get("additionalProperties") is False, tool["name"]


def test_the_generic_tools_fit_their_budget():
	generic = [t for t in TOOLS if "customer" not in t["name"]]
	size = sum(len(json.dumps(t, separators=(",", ":"))) for t in generic)
	assert len(generic) == 17
	assert size <= GENERIC_BUDGET, f"generic tools are {size} bytes, over {GENERIC_BUDGET}"


def test_a_tools_call_finds_each_generic_tool_exactly_as_the_list_builds_it():
	"""tools/call builds only the named tool's family (tools.generic_tool); it must be the very tool
	tools/list describes, and a name that is not a generic tool is not found."""
	from erpnext_mcp.server import tools

	state = snapshot_state()
	listed = tools.generic_tools(state)
	assert len(listed) >= 17
	for spec in listed:
		found = tools.generic_tool(state, spec.name)
		assert found is not None and found.as_wire() == spec.as_wire(), spec.name
		assert (found.handler.__qualname__, found.operation) == (spec.handler.__qualname__, spec.operation)
	assert tools.generic_tool(state, "list_customer_documents") is None
	assert tools.generic_tool(state, "drop_database") is None
