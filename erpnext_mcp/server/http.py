"""One Streamable HTTP exchange, served inside whatever WSGI request carries it (Frappe's or a test's).

The SDK's own transport does the protocol work (version negotiation, Accept/Content-Type/Origin
checks, JSON-RPC parsing and errors, 202 for notifications, the 2026-07-28 stateless envelope): we
hand it the request as an ASGI scope and collect its answer. What it cannot know stays here: the
site's on/off switch, authentication and the 401 that tells a client how to sign in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pydantic_core

from erpnext_mcp.server import app, context, fast, sdk
from erpnext_mcp.server.context import CallState, EndpointSettings

MAX_BODY_BYTES = 4 * 1024 * 1024


_UNPARSABLE = object()


@dataclass
class HttpRequest:
	method: str
	headers: dict[str, str]  # lower-case names
	body: bytes
	path: str = "/api/method/erpnext_mcp.api.mcp.handle"
	scheme: str = "http"
	remote_addr: str = "127.0.0.1"
	_message: Any = field(default=None, init=False, repr=False, compare=False)
	_parsed: bool = field(default=False, init=False, repr=False, compare=False)

	def message(self) -> Any:
		"""The body as JSON, parsed once for the whole exchange; UNPARSABLE when it is not JSON."""
		if not self._parsed:
			try:
				self._message = json.loads(self.body)
			except (ValueError, RecursionError):
				self._message = _UNPARSABLE
			self._parsed = True
		return self._message


UNPARSABLE = _UNPARSABLE


@dataclass
class HttpResponse:
	status: int
	headers: dict[str, str] = field(default_factory=dict)
	body: bytes = b""

	def json(self) -> Any:
		return json.loads(self.body) if self.body else None


def jsonrpc_error(
	status: int, code: int, message: str, headers: dict[str, str] | None = None, request_id=None
) -> HttpResponse:
	body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
	return HttpResponse(
		status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()
	)


def peek(message: Any) -> dict[str, Any]:
	"""The JSON-RPC envelope (id, method, ...), if the message (HttpRequest.message(), or raw body
	bytes) is one object; {} otherwise."""
	if isinstance(message, (bytes, str)):
		try:
			message = json.loads(message)
		except (ValueError, RecursionError):
			return {}
	return message if isinstance(message, dict) else {}


def peek_request_id(message: Any) -> Any:
	return peek(message).get("id")


def method_not_allowed() -> HttpResponse:
	# No server-initiated stream: every answer travels on its POST, so GET has nothing to serve.
	return jsonrpc_error(
		405, -32000, "Method not allowed: send MCP JSON-RPC messages with POST.", {"Allow": "POST"}
	)


def disabled() -> HttpResponse:
	return jsonrpc_error(
		503,
		-32000,
		"The MCP server is disabled on this site. An administrator can enable it in MCP Settings.",
	)


def unauthorized(www_authenticate: str, request_id=None) -> HttpResponse:
	return jsonrpc_error(
		401,
		-32001,
		"Authentication required: send the header 'Authorization: token <api_key>:<api_secret>' "
		"(ERPNext user → API Access → Generate Keys) or an OAuth bearer token.",
		{"WWW-Authenticate": www_authenticate},
		request_id,
	)


def forbidden_origin(origin: str, request_id=None) -> HttpResponse:
	return jsonrpc_error(
		403,
		-32000,
		f"Origin {origin} is not allowed. An administrator can add it in MCP Settings → Allowed Origins.",
		request_id=request_id,
	)


def _scope(req: HttpRequest) -> dict[str, Any]:
	host = req.headers.get("host", "localhost")
	server_host, _, port = host.partition(":")
	return {
		"type": "http",
		"asgi": {"version": "3.0", "spec_version": "2.3"},
		"http_version": "1.1",
		"method": req.method.upper(),
		"scheme": req.scheme,
		"path": req.path,
		"raw_path": req.path.encode(),
		"root_path": "",
		"query_string": b"",
		"headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in req.headers.items()],
		"client": (req.remote_addr, 0),
		"server": (server_host, int(port) if port.isdigit() else (443 if req.scheme == "https" else 80)),
	}


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def accepted_origins(req: HttpRequest, configured: tuple[str, ...]) -> tuple[str, ...]:
	"""The Origins a browser request may come from: MCP Settings' list (which holds the site's own URL),
	and a page served by this very server on a loopback address (http://localhost:PORT calling
	http://localhost:PORT). A DNS-rebinding page cannot be that: its Host is the attacker's name."""
	host = (req.headers.get("host") or "").strip().lower()
	hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
	if hostname in LOOPBACK_HOSTS:
		return (*configured, f"{req.scheme}://{host}")
	return configured


async def _exchange(req: HttpRequest, allowed_origins: list[str]) -> HttpResponse:
	status = 500
	headers: dict[str, str] = {}
	chunks: list[bytes] = []
	sent_body = False

	async def receive():
		nonlocal sent_body
		if not sent_body:
			sent_body = True
			return {"type": "http.request", "body": req.body, "more_body": False}
		# The client stays connected until our answer is complete.
		await anyio.sleep_forever()

	async def send(message):
		nonlocal status
		if message["type"] == "http.response.start":
			status = message["status"]
			for k, v in message.get("headers", []):
				headers[k.decode("latin-1").title()] = v.decode("latin-1")
		elif message["type"] == "http.response.body":
			chunks.append(message.get("body", b""))

	manager = sdk.session_manager(
		app.get_server(), allowed_origins=allowed_origins, host=req.headers.get("host", "localhost")
	)
	async with manager.run():
		await manager.handle_request(_scope(req), receive, send)
	return HttpResponse(status, headers, b"".join(chunks))


def _as_jsonrpc(resp: HttpResponse, request_id) -> HttpResponse:
	"""The SDK answers a few transport refusals in plain text; clients get JSON-RPC everywhere."""
	if resp.status < 400 or resp.headers.get("Content-Type", "").startswith("application/json"):
		return resp
	text = resp.body.decode("utf-8", "replace").strip() or {
		403: "Forbidden: this Origin is not allowed (MCP Settings → Allowed Origins)",
		406: "Not Acceptable: send 'Accept: application/json, text/event-stream'",
		413: "Request body too large",
		415: "Unsupported Media Type: send 'Content-Type: application/json'",
	}.get(resp.status, "Request refused")
	extra = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-type", "content-length")}
	return jsonrpc_error(resp.status, -32600 if resp.status != 403 else -32000, text, extra, request_id)


@dataclass
class ListCache:
	"""Where a caller's serialized tools/list result, and the plan's tool name → DocType map that
	tools/call reads (app.py), wait for the next request (Redis on a site). `key` (or a function that
	makes it, called only when needed) must already say everything the list depends on (user, roles,
	policy, permission epoch, settings); the revision and cursor are added here."""

	key: str | Callable[[], str]
	get: Callable[[str], str | None]
	put: Callable[[str, str], None]

	def base_key(self) -> str:
		if callable(self.key):
			self.key = self.key()
		return self.key


def _plain_tools_list(req: HttpRequest, envelope: dict[str, Any]) -> str | None:
	"""The cache key suffix for a handshake-era tools/list request that no transport check could fail
	(the SDK answers anything else, so only this exact shape may skip it); None otherwise."""
	if envelope.get("method") != "tools/list" or envelope.get("jsonrpc") != "2.0":
		return None
	request_id = envelope.get("id")
	if isinstance(request_id, bool) or not isinstance(request_id, (int, str)):
		return None
	if set(envelope) - {"jsonrpc", "id", "method", "params"}:
		return None
	params = envelope.get("params") or {}
	if not isinstance(params, dict) or set(params) - {"cursor"}:
		return None
	cursor = params.get("cursor")
	if cursor is not None and not isinstance(cursor, str):
		return None
	version = req.headers.get(sdk.PROTOCOL_VERSION_HEADER) or sdk.DEFAULT_HTTP_VERSION
	if version not in sdk.HANDSHAKE_VERSIONS:
		return None
	if not req.headers.get("content-type", "").lower().startswith("application/json"):
		return None
	accept = req.headers.get("accept", "")
	if "application/json" not in accept or "text/event-stream" not in accept:
		return None
	return f"{sdk.SDK_VERSION}:{version}:{cursor or ''}"


def serve(
	req: HttpRequest,
	*,
	settings: EndpointSettings,
	authenticated: bool,
	www_authenticate: str | Callable[[], str],
	make_state: Callable[[str], CallState],
	list_cache: ListCache | None = None,
) -> tuple[HttpResponse, CallState | None]:
	"""Answer one HTTP request to the MCP endpoint; also returns the CallState (for the audit record)."""
	if req.method.upper() != "POST":
		return method_not_allowed(), None
	if not settings.enabled:
		return disabled(), None
	# Parsed once for the exchange; off the fast path the SDK parses again, as the transport it is.
	message = req.message()
	parsed = message is not UNPARSABLE
	if not parsed:
		message = None
	envelope = message if isinstance(message, dict) else {}
	request_id = envelope.get("id")
	origin = req.headers.get("origin")
	allowed_origins = accepted_origins(req, settings.allowed_origins)
	if origin and origin.rstrip("/") not in allowed_origins:
		# Checked here as well as in the SDK: the 1.x transport answers 400 where the spec wants 403.
		return forbidden_origin(origin, request_id), None
	if not authenticated:
		challenge = www_authenticate() if callable(www_authenticate) else www_authenticate
		return unauthorized(challenge, request_id), None
	if len(req.body) > MAX_BODY_BYTES:
		return jsonrpc_error(413, -32600, f"Request body larger than {MAX_BODY_BYTES} bytes"), None
	if not parsed:
		# Answered here: the 1.x transport turns a too-deeply nested body into a 500.
		return jsonrpc_error(400, -32700, "Parse error: the request body is not valid JSON."), None
	if "id" in envelope and sdk.unknown_request_method(envelope.get("method")):
		return jsonrpc_error(
			200, -32601, f"Method not found: {str(envelope.get('method'))[:100]}", request_id=request_id
		), None
	state = make_state(sdk.negotiated_version(req.headers))
	state.tool_index = list_cache
	# Plain initialize / ping / tools/list / tools/call: answered here on the SDK's types (server/fast.py).
	fast_request = fast.request_of(req.headers, message, allowed_origins) if fast.enabled() else None
	cache_key = None
	if list_cache is not None and (suffix := _plain_tools_list(req, envelope)):
		if fast_request is not None or not fast.enabled():
			cache_key = f"{list_cache.base_key()}:{suffix}"
			cached = list_cache.get(cache_key)
			if cached is not None:
				# The same answer as the first time; only the id differs.
				state.audit["method"] = "tools/list"
				return _answer(envelope["id"], cached), state
	token = context.activate(state)
	try:
		if fast_request is not None:
			request_id, typed = fast_request
			result, error = fast.dispatch(state, request_id, typed)
			if error is not None:
				body = fast.serialize(request_id, None, error)
			else:
				encoded = fast.result_json(result)
				if cache_key is not None:
					list_cache.put(cache_key, encoded.decode())
				body = fast.answer(request_id, encoded)
			return HttpResponse(200, {"Content-Type": "application/json"}, body), state
		resp = anyio.run(_exchange, req, list(allowed_origins))
	finally:
		context.deactivate(token)
	if cache_key is not None and resp.status == 200:
		# Off the fast path (ERPNEXT_MCP_FAST_PATH=0) the SDK's answer is the only source.
		try:
			result = json.loads(resp.body).get("result")
		except (ValueError, AttributeError):
			result = None
		if isinstance(result, dict) and "tools" in result:
			list_cache.put(cache_key, pydantic_core.to_json(result).decode())
	return _as_jsonrpc(resp, request_id), state


def _answer(request_id: Any, result_json: str) -> HttpResponse:
	return HttpResponse(
		200, {"Content-Type": "application/json"}, fast.answer(request_id, result_json.encode())
	)
