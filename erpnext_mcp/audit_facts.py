"""What one HTTP request says about itself before anything serves it: its MCP method, client and
protocol revision, for the audit record (pure; reads the raw body, never trusts it)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"  # 2026-07-28: client info on every request
PROTOCOL_VERSION_HEADER = "mcp-protocol-version"
_TEXT_MAX = 140
_PRODUCT_RE = re.compile(r"^\s*([^\s/()]+)(?:/([^\s()]+))?")


@dataclass(frozen=True)
class RequestFacts:
	mcp_method: str | None = None
	client_name: str | None = None
	client_version: str | None = None
	protocol_version: str | None = None
	user_agent: str | None = None
	parse_error: bool = False


def _text(value: Any) -> str | None:
	if not isinstance(value, str):
		return None
	value = " ".join(value.split())
	return value[:_TEXT_MAX] or None


def _client_info(message: dict[str, Any]) -> dict[str, Any]:
	params = message.get("params")
	if not isinstance(params, dict):
		return {}
	if message.get("method") == "initialize" and isinstance(params.get("clientInfo"), dict):
		return params["clientInfo"]
	meta = params.get("_meta")
	if isinstance(meta, dict) and isinstance(meta.get(CLIENT_INFO_META_KEY), dict):
		return meta[CLIENT_INFO_META_KEY]
	return {}


_UNSET = object()


def request_facts(headers: dict[str, str], body: bytes | None, *, message: Any = _UNSET) -> RequestFacts:
	"""Method, client (MCP clientInfo, else the User-Agent's first product) and revision of a request.

	The revision is the MCP-Protocol-Version header, or for `initialize` the revision the client asks
	for (the negotiated one is in the answer). `message`: the body as the exchange already parsed it
	(HttpRequest.message()), so it is not parsed again. Nothing here raises on hostile input."""
	user_agent = _text(headers.get("user-agent"))
	revision = _text(headers.get(PROTOCOL_VERSION_HEADER))
	method = None
	info: dict[str, Any] = {}
	parse_error = False
	if body:
		if message is _UNSET:
			try:
				message = json.loads(body)
			except (ValueError, UnicodeDecodeError, RecursionError):
				message = None
				parse_error = True
		elif not isinstance(message, (dict, list, str, int, float, bool, type(None))):
			message, parse_error = None, True  # the exchange's own parse said: not JSON
		if isinstance(message, dict):
			method = _text(message.get("method"))
			info = _client_info(message)
			params = message.get("params")
			if method == "initialize" and isinstance(params, dict):
				revision = _text(params.get("protocolVersion")) or revision
		elif isinstance(message, list):
			method = "batch"
	name, version = _text(info.get("name")), _text(info.get("version"))
	if not name and user_agent:
		match = _PRODUCT_RE.match(user_agent)
		if match:
			name, version = _text(match.group(1)), _text(match.group(2))
	return RequestFacts(
		mcp_method=method,
		client_name=name,
		client_version=version,
		protocol_version=revision,
		user_agent=user_agent,
		parse_error=parse_error,
	)


def negotiated_revision(body: bytes | None) -> str | None:
	"""The revision an `initialize` answer settled on (its result.protocolVersion), if the body says so."""
	if not body or len(body) > 65536:
		return None
	try:
		message = json.loads(body)
	except (ValueError, UnicodeDecodeError, RecursionError):
		return None
	result = message.get("result") if isinstance(message, dict) else None
	return _text(result.get("protocolVersion")) if isinstance(result, dict) else None


def jsonrpc_error(body: bytes | None) -> tuple[int | None, str] | None:
	"""(code, message) when a JSON answer is a JSON-RPC error; cheap for large successful answers."""
	if not body or b'"error"' not in body[:512]:
		return None
	try:
		message = json.loads(body)
	except (ValueError, UnicodeDecodeError, RecursionError):
		return None
	error = message.get("error") if isinstance(message, dict) else None
	if not isinstance(error, dict):
		return None
	code = error.get("code") if isinstance(error.get("code"), int) else None
	return code, error.get("message") if isinstance(error.get("message"), str) else ""
