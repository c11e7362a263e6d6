"""Tier 1's stdio server: the real erpnext_mcp.server.stdio loop with the in-memory backend, run as a
subprocess by test_stdio.py exactly as a desktop client would launch `bench ... erpnext-mcp stdio`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from erpnext_mcp.policy import Profile, Rule, resolve
from erpnext_mcp.server.context import CallState, EndpointSettings
from erpnext_mcp.server.stdio import serve
from tests.memory_backend import MemoryBackend, MemoryStore

store = MemoryStore()
user = sys.argv[1]
profile = Profile(
	name="stdio",
	rules=(
		Rule(
			doctype="Customer",
			operations=frozenset({"read", "create"}),
			doctype_tools=frozenset({"list", "get", "create"}),
		),
	),
)
finished = []


def make_state() -> CallState:
	return CallState(
		backend=MemoryBackend(store, user),
		policy=resolve([profile]),
		settings=EndpointSettings(enabled=True),
		headers={},
		protocol_version="stdio",
	)


def finish(state: CallState) -> None:
	finished.append(state.audit)
	print(
		f"audit: {state.audit.get('method')} {state.audit.get('tool')} {state.audit.get('result')}",
		file=sys.stderr,
	)


serve(make_state, finish)
