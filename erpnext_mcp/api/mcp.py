"""The MCP endpoint: POST /api/method/erpnext_mcp.api.mcp.handle.

A thin bridge between Frappe's request and the protocol layer: it reads who Frappe authenticated,
loads Settings and the caller's profiles, and hands the raw HTTP exchange to `server.http.serve`.
"""

from __future__ import annotations

import json

import frappe
from werkzeug.wrappers import Response

from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.http import HttpRequest, HttpResponse, jsonrpc_error, serve, unauthorized

ENDPOINT_PATH = "/api/method/erpnext_mcp.api.mcp.handle"


def www_authenticate() -> str:
	return f'Token realm="{frappe.local.site}", Bearer realm="{frappe.local.site}"'


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
	return _to_werkzeug(respond(_request()))


def respond(req: HttpRequest) -> HttpResponse:
	"""One HTTP exchange as the session user (also called in-process by the tier 2 tests)."""
	from erpnext_mcp.data.frappe_backend import FrappeBackend
	from erpnext_mcp.data.profiles import policy_for
	from erpnext_mcp.data.settings import administrator_allowed, load_settings

	settings = load_settings()
	user = frappe.session.user
	authenticated = bool(user) and user != "Guest"
	if authenticated and user == "Administrator" and not administrator_allowed() and req.method == "POST":
		return jsonrpc_error(
			403,
			-32001,
			"The Administrator user may not use MCP on this site. Create a user with only the roles the "
			"agent needs and use its API key (or allow Administrator in MCP Settings).",
		)

	def make_state(protocol_version: str) -> CallState:
		return CallState(
			backend=FrappeBackend(),
			policy=policy_for(user),
			settings=settings,
			headers=req.headers,
			protocol_version=protocol_version,
		)

	response, _state = serve(
		req,
		settings=settings,
		authenticated=authenticated,
		www_authenticate=www_authenticate(),
		make_state=make_state,
	)
	return response


def after_request(response=None, request=None) -> None:
	"""Frappe answers some failures before our method runs (bad credentials, unparsable JSON) with its
	own error page or JSON; on the MCP endpoint those become JSON-RPC errors a client understands."""
	if request is None or response is None or request.path != ENDPOINT_PATH:
		return
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
		replacement = unauthorized(www_authenticate())
		replacement.body = json.dumps(
			{
				"jsonrpc": "2.0",
				"id": None,
				"error": {
					"code": -32001,
					"message": "Invalid credentials: the API key/secret or token was not accepted. Check "
					"'Authorization: token <api_key>:<api_secret>' and that the user is enabled.",
				},
			}
		).encode()
	elif _is_unparsable(request):
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


def _is_unparsable(request) -> bool:
	try:
		json.loads(request.get_data(cache=True) or b"null")
	except (ValueError, RecursionError):
		return True
	return False
