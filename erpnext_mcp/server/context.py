"""The per-request state every tool handler reads: who calls, through which backend and policy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
	from erpnext_mcp.data.backend import DataBackend
	from erpnext_mcp.policy import EffectivePolicy


MAX_TOOLS_LIMIT = 128  # the cap some clients enforce on tools/list


@dataclass
class EndpointSettings:
	"""What MCP Settings says, read once per request (pure data, no Frappe). These defaults are THE
	defaults: data/settings.py falls back to them, the DocType's JSON declares the same values (tier 1
	checks), and the patch that filled fields added later reads them."""

	enabled: bool = False
	allowed_origins: tuple[str, ...] = ()
	per_doctype_tools: bool = True
	max_per_doctype_tools: int = 100
	max_tools: int = 60  # per caller, generic tools included; never above MAX_TOOLS_LIMIT
	max_page_length: int = 100
	default_page_length: int = 20
	# Requests per user per window; 0 = unlimited (a profile may set its own, see limits.py).
	rate_limit_per_minute: int = 120
	rate_limit_per_hour: int = 2000
	# Read cache (data/cache.py): get/list/search results per user and policy, in Redis.
	cache_enabled: bool = True
	cache_ttl_seconds: int = 60
	cache_max_entries: int = 2000
	# MCP Audit Log (audit.py): one record per request; older ones removed by Log Settings.
	audit_enabled: bool = True
	audit_retention_days: int = 90
	# Approvals (issue 16): how long a request waits, and whether its requester may approve it.
	approval_expiry_minutes: int = 30
	allow_self_approval: bool = False


@dataclass
class Phases:
	"""Where one exchange's server time went, for the Server-Timing header (dev/bench reads it):
	auth, policy, limits, protocol (the MCP layer around the tool), tool, audit; `mcp` is the total."""

	started: float = field(default_factory=time.perf_counter)
	spent: dict[str, float] = field(default_factory=dict)

	@contextmanager
	def measure(self, name: str) -> Iterator[None]:
		start = time.perf_counter()
		try:
			yield
		finally:
			self.spent[name] = self.spent.get(name, 0.0) + (time.perf_counter() - start) * 1000

	def header(self) -> str:
		spent = dict(self.spent)
		if "protocol" in spent and "tool" in spent:
			spent["protocol"] = max(spent["protocol"] - spent["tool"], 0.0)  # the tool is inside it
		total = (time.perf_counter() - self.started) * 1000
		return ", ".join([f"mcp;dur={total:.2f}", *(f"{k};dur={v:.2f}" for k, v in spent.items())])


@dataclass
class CallState:
	"""One HTTP exchange: set before the SDK runs and read by every handler it calls."""

	backend: DataBackend
	policy: EffectivePolicy
	settings: EndpointSettings
	headers: dict[str, str]
	protocol_version: str
	# Filled by the handlers for the audit record: names, never values (method, tool, doctype,
	# operation, names, fields, returned, result, reason, error_kind, layer, rule, error_reference).
	audit: dict[str, Any] = field(default_factory=dict)
	# Per-DocType tools the plan left out because of max_tools (test_connection names them).
	tools_omitted: list[str] = field(default_factory=list)
	# Server-Timing phases of the HTTP exchange (None elsewhere: stdio, tier 1).
	phases: Phases | None = None
	# Where the plan's tool name → (DocType, kind) map is kept with the tools/list answer, under the
	# same key (http.ListCache); None: the plan is computed when a per-DocType tool is called.
	tool_index: Any = None
	# The approved request this call runs under (server/app.py sets it after every check), or None.
	approval: Any = None
	# 2026-07-28: the secret the requestState is sealed with (derived from the site's encryption_key
	# by the endpoint, so every worker of the site derives the same); None where the state is not used.
	state_secret: bytes | None = None


_current: ContextVar[CallState | None] = ContextVar("erpnext_mcp_call_state", default=None)


def current() -> CallState:
	state = _current.get()
	if state is None:
		raise RuntimeError("no MCP call in progress")
	return state


def current_or_none() -> CallState | None:
	return _current.get()


def activate(state: CallState):
	return _current.set(state)


def deactivate(token) -> None:
	_current.reset(token)
