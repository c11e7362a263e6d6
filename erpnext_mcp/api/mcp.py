"""The MCP endpoint: POST /api/method/erpnext_mcp.api.mcp.handle.

A thin bridge between Frappe's request and the protocol layer: it reads who Frappe authenticated,
loads Settings and the caller's profiles, and hands the raw HTTP exchange to `server.http.serve`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import frappe
from werkzeug.wrappers import Response

from erpnext_mcp.server.context import CallState, Phases
from erpnext_mcp.server.http import (
	HttpRequest,
	HttpResponse,
	jsonrpc_error,
	peek,
	peek_request_id,
	serve,
	unauthorized,
)

ENDPOINT_PATH = "/api/method/erpnext_mcp.api.mcp.handle"


def www_authenticate(req: HttpRequest | None = None, **oauth_error) -> str:
	"""The 401 challenge: Bearer with the OAuth resource metadata URL (when OAuth is on), then Token."""
	from erpnext_mcp.data.oauth import challenge

	if req is None:
		return challenge(dict(frappe.request.headers), frappe.request.scheme, **oauth_error)
	return challenge(req.headers, req.scheme, **oauth_error)


def _to_werkzeug(resp: HttpResponse) -> Response:
	response = Response(resp.body, status=resp.status)
	for key, value in resp.headers.items():
		response.headers[key] = value
	return response


def _request() -> HttpRequest:
	request = frappe.request
	return HttpRequest(
		method=request.method,
		headers={k.lower(): v for k, v in request.headers.items()},
		body=request.get_data(cache=True),
		path=request.path,
		scheme=request.scheme,
		remote_addr=getattr(frappe.local, "request_ip", None) or request.remote_addr or "",
	)


@frappe.whitelist(allow_guest=True, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], xss_safe=True)
def handle() -> Response:
	# Every answer is built here; nothing Frappe queued for its own JSON response leaks into ours.
	frappe.local.message_log = []
	phases = Phases()
	response = _to_werkzeug(respond(_request(), phases))
	# What the app itself spent, in total and per phase (auth, policy, limits, protocol, tool, audit):
	# read by dev/bench, harmless to clients.
	response.headers["Server-Timing"] = phases.header()
	# after_request: this answer is ours and already JSON-RPC; nothing to read back.
	frappe.local.erpnext_mcp_answered = True
	return response


def respond(req: HttpRequest, phases: Phases | None = None) -> HttpResponse:
	"""One HTTP exchange as the session user, and its audit record (also called in-process by the
	tier 2 tests)."""
	from erpnext_mcp import audit
	from erpnext_mcp.data import request

	started = time.monotonic()
	exchange: dict[str, Any] = {"phases": phases or Phases()}
	audit.exchange_started()
	try:
		response = _respond(req, exchange)
		try:
			with exchange["phases"].measure("audit"):
				_audit(req, response, exchange, started)
		except Exception:
			frappe.logger("erpnext_mcp").error("MCP audit record not built", exc_info=True)
	finally:
		request.end()
	return response


def _audit(req: HttpRequest, response: HttpResponse, exchange: dict[str, Any], started: float) -> None:
	from erpnext_mcp import audit, limits
	from erpnext_mcp import audit_facts as peek
	from erpnext_mcp import audit_record as record

	state: CallState | None = exchange.get("state")
	settings = exchange.get("settings")
	facts = peek.request_facts(req.headers, req.body, message=req.message())
	revision = state.protocol_version if state else None
	if facts.mcp_method == "initialize":
		negotiated = state.audit.get("negotiated_version") if state else None
		revision = negotiated or peek.negotiated_revision(response.body) or facts.protocol_version
	verdict = exchange.get("rate_limited")
	policy = exchange.get("policy")
	is_json = response.headers.get("Content-Type", "").startswith("application/json")
	row = record.build(
		facts=facts,
		http_method=req.method,
		status=response.status,
		user=frappe.session.user,
		remote_ip=req.remote_addr,
		duration_ms=(time.monotonic() - started) * 1000,
		profiles=policy.profile_names if policy is not None else (),
		audit=state.audit if state else None,
		protocol_version=revision,
		reason=limits.message(verdict) if verdict else None,
		jsonrpc_error=peek.jsonrpc_error(response.body) if is_json else None,
		served_from_cache=bool(getattr(exchange.get("backend"), "served_from_cache", False)),
	)
	# Frappe rolls back safe-method requests: their records are written after that, in after_request.
	request = getattr(frappe.local, "request", None)
	defer = request is not None and request.method in ("GET", "HEAD", "OPTIONS")
	audit.record_exchange(
		row, audit_enabled=settings.audit_enabled if settings else audit.enabled(), defer=defer
	)


def _respond(req: HttpRequest, exchange: dict[str, Any]) -> HttpResponse:
	from erpnext_mcp import limits
	from erpnext_mcp.data import request
	from erpnext_mcp.data.cache import CachedBackend
	from erpnext_mcp.data.frappe_backend import FrappeBackend
	from erpnext_mcp.data.oauth import check_bearer
	from erpnext_mcp.data.profiles import policy_for
	from erpnext_mcp.data.settings import administrator_allowed, load_settings

	phases: Phases = exchange["phases"]
	with phases.measure("auth"):
		settings = exchange["settings"] = load_settings()
		user = frappe.session.user
		authenticated = bool(user) and user != "Guest"
		post = req.method.upper() == "POST"
		if authenticated and user == "Administrator" and post and not administrator_allowed():
			return jsonrpc_error(
				403,
				-32001,
				"The Administrator user may not use MCP on this site. Create a user with only the roles the "
				"agent needs and use its API key (or allow Administrator in MCP Settings).",
			)
		# An OAuth bearer token must be meant for this endpoint (scope, resource); mcp:read narrows it.
		bearer = check_bearer(req) if authenticated else None
		if bearer is not None and bearer.refusal is not None:
			return bearer.refusal
	counting = authenticated and post and settings.enabled
	with phases.measure("policy"):
		# One Redis round trip: permission epoch, the caller's profiles and the rate-limit counters.
		prelude = request.begin(user, count=counting) if authenticated else None

	def effective_policy():
		if exchange.get("policy") is None:
			with phases.measure("policy"):
				policy = policy_for(user)
				exchange["policy"] = bearer.narrow(policy) if bearer else policy
		return exchange["policy"]

	# Rate limits (per user, a profile may set its own) before anything is served.
	if counting:
		names = effective_policy().profile_names
		with phases.measure("limits"):
			verdict = limits.check(
				user, settings, names, profile_limits=prelude.profile_limits, counted=prelude.counted
			)
		if not verdict.allowed:
			exchange["rate_limited"] = verdict
			return limits.too_many_requests(verdict, peek_request_id(req.message()))

	def make_state(protocol_version: str) -> CallState:
		policy = effective_policy()
		backend = FrappeBackend()
		if settings.cache_enabled:
			backend = CachedBackend(
				backend,
				user=user,
				policy=policy,
				ttl=settings.cache_ttl_seconds,
				max_entries=settings.cache_max_entries,
			)
		exchange["backend"] = backend
		from erpnext_mcp.data.approvals import state_secret

		return CallState(
			backend=backend,
			policy=policy,
			settings=settings,
			headers=req.headers,
			protocol_version=protocol_version,
			phases=phases,
			state_secret=state_secret(),
		)

	list_cache = None
	if (
		authenticated
		and settings.enabled
		and peek(req.message()).get("method") in ("tools/list", "tools/call")
	):
		from erpnext_mcp.data.cache import tools_list_cache

		# The key is made only when used: tools/list, or tools/call of a per-DocType tool (its map).
		list_cache = tools_list_cache(user, effective_policy, settings)
	with phases.measure("protocol"):
		response, exchange["state"] = serve(
			req,
			settings=settings,
			authenticated=authenticated,
			www_authenticate=lambda: www_authenticate(req),  # built only for a 401
			make_state=make_state,
			list_cache=list_cache,
		)
	return response


def after_request(response=None, request=None) -> None:
	"""Runs after Frappe's commit or rollback: Frappe's own answers become JSON-RPC, and every request to
	the endpoint is on record (audit.after_request)."""
	if request is None or response is None or request.path != ENDPOINT_PATH:
		return
	from erpnext_mcp import audit

	try:
		if not getattr(frappe.local, "erpnext_mcp_answered", False):
			_as_jsonrpc(response, request)
	finally:
		audit.after_request(request, response)


def _as_jsonrpc(response, request) -> None:
	"""Frappe answers some failures before our method runs (bad credentials, unparsable JSON) with its
	own error page or JSON; on the MCP endpoint those become JSON-RPC errors a client understands."""
	content_type = response.headers.get("Content-Type", "")
	body = None
	if content_type.startswith("application/json"):
		try:
			body = json.loads(response.get_data())
		except ValueError:
			body = None
		if isinstance(body, dict) and body.get("jsonrpc") == "2.0":
			return  # ours
	exc_type = body.get("exc_type") if isinstance(body, dict) else None
	if (
		response.status_code == 401
		or exc_type in AUTH_EXCEPTIONS
		or (response.status_code == 403 and not frappe.session.user)
	):
		message = (
			"Invalid credentials: the API key/secret or token was not accepted. Check "
			"'Authorization: token <api_key>:<api_secret>' and that the user is enabled."
		)
		if _sent_bearer(request):
			message = "The access token is invalid, expired or revoked: sign in again (OAuth)."
			replacement = unauthorized(www_authenticate(error="invalid_token", description=message))
		else:
			replacement = unauthorized(www_authenticate())
		replacement.body = json.dumps(
			{"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}}
		).encode()
	elif _is_unparsable(request) or exc_type == "DataError":
		# DataError: Frappe v16 parses a JSON body itself (orjson, 1024 levels deep at most) before any
		# method runs, and answers 417 for one it cannot read; for JSON-RPC that is a parse error.
		replacement = jsonrpc_error(400, -32700, "Parse error: the request body is not valid JSON.")
	elif response.status_code >= 400:
		replacement = jsonrpc_error(
			response.status_code, -32603, "The request could not be processed by the site.", None
		)
	else:
		return
	response.set_data(replacement.body)
	response.status_code = replacement.status
	response.headers["Content-Type"] = "application/json"
	for key, value in replacement.headers.items():
		response.headers[key] = value


# Frappe's exceptions for credentials it could not accept (a malformed Basic token raises the second
# with status 400): all of them are "who are you?" answers, so 401 with a challenge.
AUTH_EXCEPTIONS = frozenset({"AuthenticationError", "InvalidAuthorizationToken", "SessionExpired"})


def _sent_bearer(request) -> bool:
	return (request.headers.get("Authorization") or "").strip().lower().startswith("bearer ")


def _is_unparsable(request) -> bool:
	try:
		json.loads(request.get_data(cache=True) or b"null")
	except (ValueError, RecursionError):
		return True
	return False
