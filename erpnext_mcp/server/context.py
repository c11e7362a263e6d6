"""The per-request state every tool handler reads: who calls, through which backend and policy."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
	from erpnext_mcp.data.backend import DataBackend
	from erpnext_mcp.policy import EffectivePolicy


@dataclass
class EndpointSettings:
	"""What MCP Settings says, read once per request (pure data, no Frappe)."""

	enabled: bool = False
	allowed_origins: tuple[str, ...] = ()
	per_doctype_tools: bool = True
	max_per_doctype_tools: int = 300
	max_page_length: int = 100
	default_page_length: int = 20


@dataclass
class CallState:
	"""One HTTP exchange: set before the SDK runs and read by every handler it calls."""

	backend: DataBackend
	policy: EffectivePolicy
	settings: EndpointSettings
	headers: dict[str, str]
	protocol_version: str
	# Filled by the handlers for the audit record: names, never values.
	audit: dict[str, Any] = field(default_factory=dict)


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
