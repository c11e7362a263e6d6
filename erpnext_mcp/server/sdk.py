"""The one place that knows the two `mcp` SDK lines apart (1.12.x beside Frappe v15, 2.x beside v16).

Everything else builds results as plain dicts in wire (camelCase) form and lets `mcp.types` validate
them, which both lines accept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import lru_cache
from importlib.metadata import version as _dist_version
from typing import Any, ClassVar

import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

SDK_VERSION = _dist_version("mcp")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])

if SDK_MAJOR >= 2:
	from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
else:
	from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS as HANDSHAKE_PROTOCOL_VERSIONS

	MODERN_PROTOCOL_VERSIONS = ()

HANDSHAKE_VERSIONS: tuple[str, ...] = tuple(HANDSHAKE_PROTOCOL_VERSIONS)
STATELESS_VERSIONS: tuple[str, ...] = tuple(MODERN_PROTOCOL_VERSIONS)
# What a request without MCP-Protocol-Version speaks, per the Streamable HTTP spec.
DEFAULT_HTTP_VERSION = "2025-03-26"
# server/fast.py answers plain handshake-era requests without the transport, on both lines: on 1.x
# with its own dispatch on the SDK's types, on 2.x through the SDK's single-exchange driver (serve_one).
# The 2026-07-28 envelope always goes to the SDK's transport.
FAST_PATH = True
# The 1.x transport in JSON-response mode still asks Accept for both JSON and SSE; 2.x asks JSON only
# (and honours wildcards).
ACCEPT_NEEDS_SSE = SDK_MAJOR < 2
PROTOCOL_VERSION_HEADER = "mcp-protocol-version"

ListTools = Callable[[], Awaitable[list[dict[str, Any]]]]
# (tool name, arguments, approval id from a 2026-07-28 requestState or None) → a CallToolResult dict;
# a call that waits for approval carries INPUT_REQUIRED_KEY (see server/approvals.py).
CallTool = Callable[[str, dict[str, Any], str | None], Awaitable[dict[str, Any]]]
INPUT_REQUIRED_KEY = "_input_required"
# Who the sealed requestState is for: another service holding the same key cannot use it.
STATE_AUDIENCE = "erpnext-mcp"


def build_server(
	*,
	name: str,
	version: str,
	instructions: str,
	list_tools: ListTools,
	call_tool: CallTool,
	list_cache_ttl_ms: int = 0,
) -> Server:
	"""A lowlevel SDK server whose tools/list and tools/call go to our two coroutines.

	`list_tools` returns tool dicts; `call_tool` returns a CallToolResult dict (errors included), so
	the SDK never has to guess how to present a failure.
	"""

	async def _tools() -> Any:
		return types.ListToolsResult.model_validate({"tools": await list_tools()})

	async def _call(name: str, arguments: dict[str, Any] | None) -> Any:
		result = await call_tool(name, dict(arguments or {}), None)
		# The handshake revisions answer a waiting call with its normal "waiting" result.
		result.pop(INPUT_REQUIRED_KEY, None)
		return types.CallToolResult.model_validate(result)

	if SDK_MAJOR >= 2:
		from mcp.server.caching import CacheHint
		from mcp.server.request_state import RequestStateBoundary

		async def on_list_tools(ctx, params):
			_note_version(ctx.protocol_version)
			return await _tools()

		async def on_call_tool(ctx, params):
			_note_version(ctx.protocol_version)
			if ctx.protocol_version not in STATELESS_VERSIONS:
				return await _call(params.name, params.arguments)
			return await _call_modern(call_tool, params)

		server = Server(
			name,
			version=version,
			instructions=instructions,
			# The tool list depends on the caller's roles and profile: never shared between callers.
			cache_hints={"tools/list": CacheHint(ttl_ms=list_cache_ttl_ms, scope="private")},
			on_list_tools=on_list_tools,
			on_call_tool=on_call_tool,
		)
		# 2026-07-28 requestState: sealed and opened by the SDK's own boundary (AES-256-GCM, bound to
		# the tool, the arguments' digest, the user and an expiry), under the site's key.
		server.middleware.append(RequestStateBoundary(_SiteStateSecurity(), default_audience=STATE_AUDIENCE))
		return server

	server = Server(name, version=version, instructions=instructions)

	def note_session_version() -> None:
		# Over stdio the 1.x session remembers what initialize negotiated; over stateless HTTP the
		# MCP-Protocol-Version header (already in the CallState) is all there is.
		try:
			params = server.request_context.session.client_params
		except LookupError:
			return
		if params is not None:
			_note_version(params.protocolVersion)

	async def handle_list_tools(request: types.ListToolsRequest):
		note_session_version()
		return types.ServerResult(await _tools())

	async def handle_call_tool(request: types.CallToolRequest):
		note_session_version()
		return types.ServerResult(await _call(request.params.name, request.params.arguments))

	# Registered directly rather than through the decorators: the 1.x decorators re-validate and
	# reshape results, which our handlers already do identically on both lines.
	server.request_handlers[types.ListToolsRequest] = handle_list_tools
	server.request_handlers[types.CallToolRequest] = handle_call_tool
	return server


APPROVAL_INPUT = "approval"  # the key of the one input request a waiting call sends (2026-07-28)


async def _call_modern(call_tool: CallTool, params) -> Any:
	"""tools/call at 2026-07-28: a call that waits for approval answers input_required with a URL
	request for the approval page and the approval id as requestState (sealed on the way out by the
	boundary); the client's retry brings it back opened, and the call runs under that approval."""
	approval_id = getattr(params, "request_state", None)
	responses = getattr(params, "input_responses", None) or {}
	answer = responses.get(APPROVAL_INPUT)
	if approval_id and answer is not None and getattr(answer, "action", "accept") != "accept":
		text = (
			f"The approval page was {getattr(answer, 'action', 'declined')}d in the client, so this call did not run. "
			f"Approval request {approval_id} stays as it is until an approver decides or it expires; "
			"get_approval_status tells where it stands."
		)
		return types.CallToolResult.model_validate(
			{"content": [{"type": "text", "text": text}], "isError": True}
		)
	result = await call_tool(params.name, dict(params.arguments or {}), approval_id)
	waiting = result.pop(INPUT_REQUIRED_KEY, None)
	if waiting is None:
		return types.CallToolResult.model_validate(result)
	return types.InputRequiredResult(
		input_requests={
			APPROVAL_INPUT: types.ElicitRequest(
				params=types.ElicitRequestURLParams(message=waiting["message"], url=waiting["url"])
			)
		},
		request_state=waiting["approval_id"],
	)


class _SiteStateSecurity:
	"""The SDK's RequestStateSecurity, per request: the key is the site's (CallState.state_secret,
	derived from its encryption_key, the same in every worker), the principal is the ERPNext user, the
	lifetime is MCP Settings' approval expiry."""

	audience = None

	def __init__(self):
		self.codec = _SiteCodec()

	@property
	def ttl(self) -> float:
		from erpnext_mcp.server import context

		return float(max(context.current().settings.approval_expiry_minutes, 1) * 60)

	@staticmethod
	def bind_principal(ctx) -> str | None:
		from erpnext_mcp.server import context

		return context.current().backend.caller()["user"]


class _SiteCodec:
	"""The SDK's AES-GCM codec under the current site's secret (one codec per secret, cached)."""

	_codecs: ClassVar[dict[bytes, Any]] = {}

	def _codec(self):
		from mcp.server.request_state import AESGCMRequestStateCodec

		from erpnext_mcp.server import context

		secret = context.current().state_secret
		if not secret:
			raise RuntimeError("no requestState secret for this site")
		codec = self._codecs.get(secret)
		if codec is None:
			codec = self._codecs[secret] = AESGCMRequestStateCodec([secret])
		return codec

	def seal(self, payload: bytes) -> str:
		return self._codec().seal(payload)

	def unseal(self, token: str) -> bytes:
		return self._codec().unseal(token)


class _JsonResponseDispatchContext:
	"""The SDK's DispatchContext for one request answered as plain JSON on a stateless POST, as the 2.x
	stateless transport builds it: no back channel for server requests (NoBackChannelError), and
	notifications have no wire in JSON-response mode, so they are dropped."""

	message_metadata = None

	def __init__(self, request_id: Any):
		import anyio
		from mcp.shared.transport_context import TransportContext

		self.transport = TransportContext(kind="streamable-http", can_send_request=False)
		self.request_id = request_id
		self.cancel_requested = anyio.Event()

	@property
	def can_send_request(self) -> bool:
		return False

	async def notify(self, method, params, opts=None) -> None:
		return None

	async def send_raw_request(self, method, params, opts=None):
		from mcp.shared.exceptions import NoBackChannelError

		raise NoBackChannelError(method)

	async def progress(self, progress, total=None, message=None) -> None:
		return None


async def serve_one_request(server: Server, request_id: Any, method: str, params: Any, version: str) -> Any:
	"""SDK 2.x: one handshake-era request through the SDK's own single-exchange driver (the runner,
	its validation, middleware and result sieve, as the stateless transport runs them), without the
	transport's streams and task groups. Returns the result dict, or the ErrorData the SDK's JSON-RPC
	dispatcher would write for what the handler chain raised."""
	from mcp.server.connection import Connection
	from mcp.server.runner import serve_one
	from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data

	connection = Connection.from_envelope(version, None, None)
	try:
		async with server.lifespan(server) as lifespan_state:
			return await serve_one(
				server,
				_JsonResponseDispatchContext(request_id),
				method,
				params,
				connection=connection,
				lifespan_state=lifespan_state,
			)
	except Exception as e:
		error = handler_exception_to_error_data(e)
		# The dispatcher's own catch-all for anything else (code 0, pinned by the SDK for v1 compat).
		return error if error is not None else types.ErrorData(code=0, message=str(e))


def session_manager(server: Server, *, allowed_origins: list[str], host: str) -> StreamableHTTPSessionManager:
	"""A stateless, JSON-answering transport for exactly one HTTP exchange.

	The host was already matched to the site by Frappe; the Origin allow-list is the SDK's own check.
	"""
	security = TransportSecuritySettings(
		enable_dns_rebinding_protection=True,
		allowed_hosts=[host],
		allowed_origins=list(allowed_origins),
	)
	return StreamableHTTPSessionManager(
		app=server, json_response=True, stateless=True, security_settings=security
	)


def negotiated_version(headers: dict[str, str]) -> str:
	"""The revision this request speaks: its MCP-Protocol-Version header, else the spec's default."""
	return headers.get(PROTOCOL_VERSION_HEADER) or DEFAULT_HTTP_VERSION


def protocol_error(code: int, message: str) -> Exception:
	"""An exception the SDK answers with a JSON-RPC error (not a tool result)."""
	if SDK_MAJOR >= 2:
		from mcp.shared.exceptions import MCPError

		return MCPError(code, message)
	from mcp.shared.exceptions import McpError

	return McpError(types.ErrorData(code=code, message=message))


INVALID_PARAMS = types.INVALID_PARAMS


_negotiated: ContextVar[str | None] = ContextVar("erpnext_mcp_negotiated_version", default=None)


def _note_version(version: str | None) -> None:
	"""Remember what the SDK negotiated for the message being handled (read by negotiated())."""
	if version:
		_negotiated.set(version)


def negotiated() -> str | None:
	return _negotiated.get()


def error_data(exc: BaseException) -> types.ErrorData:
	"""The JSON-RPC error a protocol_error() exception stands for."""
	if SDK_MAJOR >= 2:
		return types.ErrorData(code=exc.code, message=exc.message, data=getattr(exc, "data", None))
	return exc.error


def is_protocol_error(exc: BaseException) -> bool:
	if SDK_MAJOR >= 2:
		from mcp.shared.exceptions import MCPError

		return isinstance(exc, MCPError)
	from mcp.shared.exceptions import McpError

	return isinstance(exc, McpError)


def unknown_request_method(method: object) -> bool:
	"""True for a request method the 1.x SDK does not know: it would answer -32602 ("Invalid request
	parameters") where JSON-RPC wants -32601. The 2.x line answers it correctly itself."""
	if SDK_MAJOR >= 2 or not isinstance(method, str):
		return False
	return method not in _known_request_methods()


@lru_cache(maxsize=1)
def _known_request_methods() -> frozenset[str]:
	import typing

	union = types.ClientRequest.model_fields["root"].annotation
	return frozenset(typing.get_args(m.model_fields["method"].annotation)[0] for m in typing.get_args(union))
