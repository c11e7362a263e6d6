"""The fast path: a well-formed JSON POST of `initialize`, `ping`, `tools/list` or `tools/call` is
answered in the request thread, on the SDK's own types, with no session manager, streams or event loop.

Only a request the SDK's transport would accept exactly as sent comes here: the same Host, Origin,
Accept, Content-Type and MCP-Protocol-Version checks the transport makes, and the message validated
with `mcp.types` as the SDK's session validates it (`JSONRPCMessage`, then `ClientRequest`). Anything
else (notifications, batches, responses, malformed envelopes, unknown methods, refused headers, the
2026-07-28 envelope) returns None and goes to the SDK's transport, which answers it as it always has.
The answer is built and serialized the way the SDK builds it (`InitializeResult` from the server's
initialization options, `EmptyResult`, our two handlers, `ErrorData` for a protocol error), so tier 1
compares both paths byte for byte (tests/harness.py).

SDK line: on 1.x (beside Frappe v15) the dispatch above is ours, on the SDK's types. On 2.x (beside
v16) the request goes through the SDK's own single-exchange driver (`sdk.serve_one_request`: the
runner with its validation, middleware and result sieve) on a loop kept per thread, and is serialized
as its JSON-RPC dispatcher and transport write it; a request in the 2026-07-28 envelope (an
MCP-Protocol-Version the handshake does not know) always goes to the SDK's transport.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import mcp.types as types
import pydantic_core
from pydantic import ValidationError

from erpnext_mcp.server import app, sdk
from erpnext_mcp.server.context import CallState

METHODS = frozenset({"initialize", "ping", "tools/list", "tools/call"})
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_SSE = "text/event-stream"


_off: ContextVar[bool] = ContextVar("erpnext_mcp_fast_path_off", default=False)


def enabled() -> bool:
	"""On unless ERPNEXT_MCP_FAST_PATH=0 in the environment or inside disabled()."""
	return sdk.FAST_PATH and not _off.get() and os.environ.get("ERPNEXT_MCP_FAST_PATH", "1") != "0"


@contextmanager
def disabled() -> Iterator[None]:
	"""Every request served inside goes to the SDK's transport (tier 1 compares both paths)."""
	token = _off.set(True)
	try:
		yield
	finally:
		_off.reset(token)


def _transport_accepts(headers: dict[str, str], allowed_origins: tuple[str, ...] | list[str]) -> bool:
	"""True when the SDK's transport would pass this POST to the session: its transport-security check
	(Content-Type prefix, Host, Origin), its Accept check (JSON and SSE) and its Content-Type check."""
	content_type = headers.get("content-type")
	if not content_type or not content_type.lower().startswith(CONTENT_TYPE_JSON):
		return False
	if not headers.get("host"):
		return False  # the transport is told this request's own Host; without one it refuses (421)
	origin = headers.get("origin")
	if origin and origin not in allowed_origins:
		return False
	if sdk.ACCEPT_NEEDS_SSE:
		accept = [media.strip() for media in headers.get("accept", "").split(",")]
		if not any(m.startswith(CONTENT_TYPE_JSON) for m in accept):
			return False
		if not any(m.startswith(CONTENT_TYPE_SSE) for m in accept):
			return False
	else:
		# 2.x in JSON-response mode asks for JSON alone: the transport's own check (it reads only
		# request.headers["accept"]), wildcards included.
		from mcp.server.streamable_http import check_accept_headers

		has_json, _has_sse = check_accept_headers(SimpleNamespace(headers=headers))
		if not has_json:
			return False
	parts = [part.strip() for part in content_type.split(";")[0].split(",")]
	return CONTENT_TYPE_JSON in parts


def request_of(
	headers: dict[str, str], message: Any, allowed_origins: tuple[str, ...] | list[str]
) -> tuple[Any, Any] | None:
	"""(the JSON-RPC request id, the typed ClientRequest) when the fast path may answer; else None."""
	if not isinstance(message, dict) or message.get("method") not in METHODS or "id" not in message:
		return None
	if not _transport_accepts(headers, allowed_origins):
		return None
	if sdk.SDK_MAJOR >= 2:
		return _request_of_2x(headers, message)
	if not _is_jsonrpc_request(message):
		return None
	if message["method"] != "initialize":
		version = headers.get(sdk.PROTOCOL_VERSION_HEADER)
		if (version if version is not None else sdk.DEFAULT_HTTP_VERSION) not in sdk.HANDSHAKE_VERSIONS:
			return None
	try:
		# As the 1.x session validates it: the request as JSONRPCRequest dumps it (no None members).
		typed = types.ClientRequest.model_validate({k: v for k, v in message.items() if v is not None})
	except ValidationError:
		return None
	return message["id"], typed.root


def _is_jsonrpc_request(message: dict) -> bool:
	"""What the 1.x transport's JSONRPCMessage validation accepts as a JSONRPCRequest, checked in
	place (the same rules, without building the model): jsonrpc "2.0", an int (not bool) or string
	id, a string method, params an object or absent. A message that also carries result or error
	could read as a response too: it goes to the transport to decide."""
	request_id = message.get("id")
	return (
		message.get("jsonrpc") == "2.0"
		and (type(request_id) is int or isinstance(request_id, str))
		and isinstance(message.get("method"), str)
		and isinstance(message.get("params", {}), dict | None)
		and "result" not in message
		and "error" not in message
	)


class _Request2x:
	"""SDK 2.x: what the transport hands its dispatcher (method, raw params) and the revision the
	stateless transport seeds the connection with."""

	__slots__ = ("method", "params", "version")

	def __init__(self, method: str, params: Any, version: str):
		self.method, self.params, self.version = method, params, version


def _request_of_2x(headers: dict[str, str], message: dict) -> tuple[Any, _Request2x] | None:
	version = headers.get(sdk.PROTOCOL_VERSION_HEADER)
	if version is not None and version not in sdk.HANDSHAKE_VERSIONS:
		return None  # the 2026-07-28 envelope, or a revision to refuse: the SDK's transport decides
	from mcp_types.jsonrpc import jsonrpc_message_adapter

	try:
		root = jsonrpc_message_adapter.validate_python(message, by_name=False)
	except ValidationError:
		return None
	if not isinstance(root, types.JSONRPCRequest):
		return None
	return root.id, _Request2x(root.method, root.params, version or sdk.DEFAULT_HTTP_VERSION)


_loops = threading.local()


def _run(coroutine) -> Any:
	"""Run a coroutine to completion on this thread's own event loop (made once per thread, not per
	request: the transport's per-request loop, streams and task groups are what this path saves)."""
	loop = getattr(_loops, "loop", None)
	if loop is None or loop.is_closed():
		loop = _loops.loop = asyncio.new_event_loop()
	return loop.run_until_complete(coroutine)


def _dispatch_2x(
	state: CallState, request_id: Any, request: _Request2x
) -> tuple[Any, types.ErrorData | None]:
	answer = _run(
		sdk.serve_one_request(app.get_server(), request_id, request.method, request.params, request.version)
	)
	if isinstance(answer, types.ErrorData):
		return None, answer
	if request.method == "initialize":
		state.audit["negotiated_version"] = answer.get("protocolVersion")
	return answer, None


def _initialize(request: types.InitializeRequest) -> types.InitializeResult:
	options = _init_options()
	requested = request.params.protocolVersion
	return types.InitializeResult(
		protocolVersion=requested if requested in sdk.HANDSHAKE_VERSIONS else types.LATEST_PROTOCOL_VERSION,
		capabilities=options.capabilities,
		serverInfo=types.Implementation(name=options.server_name, version=options.server_version),
		instructions=options.instructions,
	)


_options = None


def _init_options():
	"""What the SDK's session answers initialize with: the server's own initialization options."""
	global _options
	if _options is None:
		_options = app.get_server().create_initialization_options()
	return _options


def dispatch(state: CallState, request_id: Any, request: Any) -> tuple[Any, types.ErrorData | None]:
	"""(result, None) or (None, error): what the SDK's session and lowlevel server would answer."""
	if isinstance(request, _Request2x):
		return _dispatch_2x(state, request_id, request)
	try:
		if isinstance(request, types.InitializeRequest):
			result = _initialize(request)
			state.audit["negotiated_version"] = result.protocolVersion
			return result, None
		if isinstance(request, types.PingRequest):
			return types.EmptyResult(), None
		if isinstance(request, types.ListToolsRequest):
			return app.list_tools_result(state), None
		if isinstance(request, types.CallToolRequest):
			return app.call_tool_result(state, request.params.name, request.params.arguments), None
	except Exception as e:
		if sdk.is_protocol_error(e):
			return None, sdk.error_data(e)
		# The lowlevel server's own answer to a handler that raised.
		return None, types.ErrorData(code=0, message=str(e), data=None)
	raise AssertionError(f"not a fast-path request: {type(request).__name__}")


def result_json(result: Any) -> bytes:
	"""A success result as the SDK writes it inside its answer: `result` is the only member the SDK's
	envelope models could shape, and they dump a dict exactly as pydantic_core.to_json does."""
	if sdk.SDK_MAJOR < 2:
		# The 1.x session sends the result model dumped to a dict (by alias, JSON mode, no None fields).
		result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
	return pydantic_core.to_json(result)


def answer(request_id: Any, encoded_result: bytes) -> bytes:
	"""The JSON-RPC success envelope around a result_json() (also for a cached tools/list answer)."""
	return (
		b'{"jsonrpc":"2.0","id":' + pydantic_core.to_json(request_id) + b',"result":' + encoded_result + b"}"
	)


def serialize(request_id: Any, result: Any, error: types.ErrorData | None) -> bytes:
	"""The JSON-RPC answer exactly as the SDK's session and transport write it (tier 1 compares the
	bytes)."""
	if error is None:
		return answer(request_id, result_json(result))
	message = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)
	if sdk.SDK_MAJOR >= 2:
		# The 2.x dispatcher writes the error as is; the transport dumps exclude_unset.
		return message.model_dump_json(by_alias=True, exclude_unset=True).encode()
	return types.JSONRPCMessage(message).model_dump_json(by_alias=True, exclude_none=True).encode()
