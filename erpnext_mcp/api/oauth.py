"""OAuth 2.1 sign-in for MCP clients: what Frappe v15's provider lacks, in front of what it has.

- GET /.well-known/oauth-protected-resource[/api/method/erpnext_mcp.api.mcp.handle]  (RFC 9728)
- GET /.well-known/oauth-authorization-server                                     (RFC 8414)
  (also as whitelisted methods below; Frappe v16 answers /.well-known/ itself, and we step aside)
- POST register   Dynamic Client Registration (RFC 7591)
- GET  authorize  authorization code + PKCE S256, resource indicators (RFC 8707), Client ID Metadata
                  Documents, loopback redirect URIs on any port (RFC 8252); the user confirms on a page
- POST approve    the confirmation form (session + CSRF token)
- POST token      authorization_code and refresh_token grants
- POST revoke     token revocation (RFC 7009)

Codes, tokens and their checks are Frappe's provider (frappe.oauth on oauthlib) through the validator
in data/oauth.py; bearer tokens reach the MCP endpoint through Frappe's own validate_oauth.
"""

from __future__ import annotations

import html
import json
from urllib.parse import urlencode, urlsplit

import frappe
from frappe.rate_limiter import rate_limit
from werkzeug.wrappers import Response

from erpnext_mcp.data import oauth as data
from erpnext_mcp.data import oauth_clients
from erpnext_mcp.server import oauth as rules

AUTHORIZE_PARAMS = (
	"response_type",
	"client_id",
	"redirect_uri",
	"scope",
	"state",
	"code_challenge",
	"code_challenge_method",
)
OAUTH_METHODS = {
	f"{data.METHOD_PREFIX}.{name}"
	for name in (
		"protected_resource_metadata",
		"authorization_server_metadata",
		"register",
		"token",
		"revoke",
	)
}


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
	response = Response(json.dumps(body), status=status, mimetype="application/json")
	# Never stored by a shared cache: the metadata names the URL this request came in by.
	response.headers["Cache-Control"] = "no-store"
	for key, value in (headers or {}).items():
		response.headers[key] = value
	return response


def _oauth_error(status: int, error: str, description: str) -> Response:
	return _json(status, {"error": error, "error_description": description})


def _available() -> bool:
	settings = data.oauth_settings()
	return settings.mcp_enabled and settings.enabled


def _not_available() -> Response:
	return _oauth_error(
		404,
		"not_found",
		"OAuth sign-in for MCP is not turned on for this site (MCP Settings: Enable MCP Server and "
		"Enable OAuth Sign-in).",
	)


# ------------------------------------------------------------------ discovery


def protected_resource_document(origin: str) -> dict:
	host = urlsplit(origin).netloc
	return rules.protected_resource_metadata(origin, f"ERPNext MCP at {host}")


def authorization_server_document(origin: str) -> dict:
	settings = data.oauth_settings()
	return rules.authorization_server_metadata(
		origin,
		registration=settings.dynamic_client_registration,
		client_id_metadata_documents=settings.client_id_metadata_documents,
		method_prefix=data.METHOD_PREFIX,
	)


@frappe.whitelist(allow_guest=True, methods=["GET"])
def protected_resource_metadata() -> Response:
	"""RFC 9728 Protected Resource Metadata of the MCP endpoint."""
	if not _available():
		return _not_available()
	return _json(200, protected_resource_document(data.request_origin()))


@frappe.whitelist(allow_guest=True, methods=["GET"])
def authorization_server_metadata() -> Response:
	"""RFC 8414 Authorization Server Metadata of this site."""
	if not _available():
		return _not_available()
	return _json(200, authorization_server_document(data.request_origin()))


class WellKnownRenderer:
	"""page_renderer hook: serves the two discovery documents at their /.well-known/ paths (Frappe v15
	routes /.well-known/ to the website, where an app-provided renderer may answer)."""

	PRM = rules.PROTECTED_RESOURCE_PATH.strip("/")
	AS = rules.AUTHORIZATION_SERVER_PATH.strip("/")

	def __init__(self, path=None, http_status_code=None):
		self.path = (path or frappe.local.request.path).strip("/ ")
		self.http_status_code = http_status_code or 200

	def can_render(self) -> bool:
		return self.path in (self.PRM, self.AS) or self.path.startswith((self.PRM + "/", self.AS + "/"))

	def render(self) -> Response:
		if not _available():
			return _not_available()
		origin = data.request_origin()
		if self.path == self.AS:
			return _json(200, authorization_server_document(origin))
		if self.path in (self.PRM, self.PRM + rules.ENDPOINT_PATH):
			return _json(200, protected_resource_document(origin))
		return _oauth_error(404, "not_found", "No such metadata document on this site.")


# ------------------------------------------------------------------ registration


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=60, seconds=60 * 60)
def register() -> Response:
	"""RFC 7591 Dynamic Client Registration (when MCP Settings allow it)."""
	if not _available():
		return _not_available()
	if not data.oauth_settings().dynamic_client_registration:
		return _oauth_error(
			403,
			"access_denied",
			"Dynamic Client Registration is turned off on this site (MCP Settings). Use a Client ID "
			"Metadata Document, or ask an administrator for a client_id.",
		)
	try:
		body = json.loads(frappe.request.get_data(cache=True) or b"null")
	except (ValueError, RecursionError):
		return _oauth_error(400, "invalid_client_metadata", "The request body is not valid JSON.")
	try:
		registered = oauth_clients.register(body)
	except rules.OAuthProblem as e:
		return _oauth_error(400, e.error, e.description)
	frappe.db.commit()
	return _json(201, registered)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def frappe_register_client() -> Response:
	"""Frappe v16's registration endpoint (its Authorization Server Metadata names it), answered here
	while MCP sign-in is on: Frappe's own accepts only https redirect URIs outside developer mode,
	and desktop MCP clients (Claude Code, Cursor, MCP Inspector) register http://127.0.0.1:PORT
	loopback ones (RFC 8252). Otherwise Frappe's own answers (hooks.py override_whitelisted_methods)."""
	if not _available():
		from frappe.integrations import oauth2

		return oauth2.register_client()
	return register()


# ------------------------------------------------------------------ authorization


def _redirect(location: str) -> Response:
	response = Response(status=302)
	response.headers["Location"] = location
	response.headers["Cache-Control"] = "no-store"
	return response


def _append_query(uri: str, params: dict) -> str:
	params = {k: v for k, v in params.items() if v is not None}
	return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


def _error_page(message: str, status: int = 400) -> None:
	frappe.respond_as_web_page(
		frappe._("Cannot sign in"),
		html.escape(message),
		http_status_code=status,
		indicator_color="red",
		primary_action=None,
	)


def _login_redirect() -> Response:
	return _redirect("/login?" + urlencode({"redirect-to": frappe.request.full_path}))


def authorization_step(params: dict, resources: list[str], decision: str | None):
	"""One pass of the authorization request, for GET authorize (decision None: ask the user unless the
	client is trusted) and for the confirmation form (decision "allow" or "deny")."""
	from oauthlib.oauth2 import FatalClientError, OAuth2Error

	from erpnext_mcp.data.settings import administrator_allowed

	try:
		client = oauth_clients.resolve(params.get("client_id"), fetch=decision is None)
	except rules.OAuthProblem as e:
		return _error_page(e.description)
	row = data.client_row(client)
	redirect_uri = params.get("redirect_uri")
	if not redirect_uri or not rules.redirect_uri_allowed(redirect_uri, data.redirect_uris_of(row)):
		return _error_page(
			"The redirect_uri is missing or not registered for this client, so this request cannot be "
			"answered. Start the connection again from your MCP client."
		)
	state = params.get("state")

	def back(error: str, description: str) -> Response:
		return _redirect(
			_append_query(redirect_uri, {"error": error, "error_description": description, "state": state})
		)

	if params.get("response_type") != "code":
		return back("unsupported_response_type", "Only response_type=code is supported.")
	if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
		return back(
			"invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256."
		)
	origin = data.request_origin()
	expected = rules.endpoint_url(origin)
	if len(resources) > 1:
		return back("invalid_target", f"Ask for one resource: {expected}")
	resource = rules.canonical_resource(resources[0] if resources else expected)
	if resource not in data.accepted_resources(origin):
		return back("invalid_target", f"This site issues MCP tokens only for the resource {expected}")
	try:
		scopes = rules.grantable_scopes(params.get("scope"), row.scopes)
	except rules.OAuthProblem as e:
		return back(e.error, e.description)
	if frappe.session.user == "Administrator" and not administrator_allowed():
		return back(
			"access_denied",
			"The Administrator user may not use MCP on this site; sign in as a user with only the roles "
			"the agent needs.",
		)
	query = {
		"response_type": "code",
		"client_id": client,
		"redirect_uri": redirect_uri,
		"scope": " ".join(scopes),
		"code_challenge": params["code_challenge"],
		"code_challenge_method": "S256",
	}
	if state is not None:
		query["state"] = state
	uri = f"{origin}{data.METHOD_PREFIX}.authorize?{urlencode(query)}"
	server = data.oauth_server()
	try:
		granted, credentials = server.validate_authorization_request(uri, "GET", None, {})
	except FatalClientError as e:
		return _error_page(
			e.description
			if e.error != "invalid_client_id"
			else "Your user may not use this client (OAuth Client → Allowed Roles)."
		)
	except OAuth2Error as e:
		return back(e.error, e.description or e.error)
	if decision is None and not row.skip_authorization:
		return _consent_page(row, params, scopes, resource)
	if decision != "allow":
		return back("access_denied", "The user did not allow access.")
	with data.issuing(resource=resource):
		headers, _body, _status = server.create_authorization_response(
			uri, "GET", None, {}, granted, credentials
		)
	return _redirect(headers["Location"])


def _authorize_params(source) -> tuple[dict, list[str], str | None]:
	for name in AUTHORIZE_PARAMS:
		if len(source.getlist(name)) > 1:
			return {}, [], f"The parameter {name} was sent more than once."
	params = {name: source.get(name) for name in AUTHORIZE_PARAMS}
	return params, [r for r in source.getlist("resource") if r], None


@frappe.whitelist(allow_guest=True, methods=["GET"])
def authorize():
	"""The authorization endpoint: sends a signed-out user to Frappe's login page first."""
	if not _available():
		return _error_page("OAuth sign-in for MCP is not turned on for this site.", 404)
	if frappe.session.user == "Guest":
		return _login_redirect()
	params, resources, problem = _authorize_params(frappe.request.args)
	if problem:
		return _error_page(problem)
	return authorization_step(params, resources, None)


@frappe.whitelist(methods=["POST"])
def approve():
	"""The confirmation form's answer (Frappe checks the session's CSRF token on this POST)."""
	if not _available():
		return _error_page("OAuth sign-in for MCP is not turned on for this site.", 404)
	params, resources, problem = _authorize_params(frappe.request.form)
	if problem:
		return _error_page(problem)
	decision = frappe.request.form.get("decision")
	return authorization_step(params, resources, "allow" if decision == "allow" else "deny")


def _consent_page(row, params: dict, scopes: list[str], resource: str) -> None:
	from frappe.sessions import get_csrf_token

	e = html.escape
	user = frappe.session.user
	full_name = frappe.utils.get_fullname(user)
	redirect = urlsplit(params["redirect_uri"])
	goes_to = f"{redirect.scheme}://{redirect.netloc}" if redirect.netloc else f"{redirect.scheme}:"
	if row.mcp_registration == data.REGISTRATION_CIMD:
		source = frappe._("published at {0}").format(e(row.mcp_client_id_url))
	elif row.mcp_registration == data.REGISTRATION_DCR:
		source = frappe._("registered itself on this site; its name is not verified")
	else:
		source = frappe._("set up by an administrator of this site")
	hidden = {**{k: v for k, v in params.items() if v is not None}, "resource": resource}
	hidden["csrf_token"] = get_csrf_token()
	fields = "".join(f'<input type="hidden" name="{e(k)}" value="{e(str(v))}">' for k, v in hidden.items())
	shown = [rules.SCOPE_FULL] if rules.SCOPE_FULL in scopes else scopes
	items = "".join(f"<li>{e(rules.SCOPE_DESCRIPTIONS[s])}</li>" for s in shown)
	body = f"""
<p>{e(frappe._("Signed in as"))} <b>{e(full_name)}</b> ({e(user)}).</p>
<p><b>{e(row.app_name)}</b> ({source}) {e(frappe._("asks to use this site's MCP server as you:"))}</p>
<ul>{items}</ul>
<p class="text-muted small">{e(frappe._("Your ERPNext permissions and your MCP permission profile still apply. After you answer, your browser returns to"))} <code>{e(goes_to)}</code>. {e(frappe._("Allow only a client you are connecting right now. You can withdraw access later under"))} <a href="/third_party_apps">/third_party_apps</a>.</p>
<form method="post" action="{data.METHOD_PREFIX}.approve" class="mt-4">
{fields}
<button type="submit" name="decision" value="deny" class="btn btn-default btn-sm mr-2">{e(frappe._("Deny"))}</button>
<button type="submit" name="decision" value="allow" class="btn btn-primary btn-sm">{e(frappe._("Allow"))}</button>
</form>"""
	frappe.respond_as_web_page(
		# The title is rendered as HTML too; a self-registered client chose this name.
		frappe._("Allow {0} to use ERPNext?").format(e(row.app_name)),
		body,
		primary_action=None,
	)


# ------------------------------------------------------------------ token and revocation


def _client_for_token_request(form) -> str:
	return oauth_clients.resolve(form.get("client_id"), fetch=False)


def _form_body(form, client: str) -> str:
	pairs = [(k, v) for k, v in form.items(multi=True) if k not in ("resource", "client_id")]
	pairs.append(("client_id", client))
	return urlencode(pairs)


@frappe.whitelist(allow_guest=True, methods=["POST"])
def token() -> Response:
	"""The token endpoint: authorization_code (with code_verifier) and refresh_token grants."""
	from oauthlib.oauth2 import OAuth2Error

	if not _available():
		return _not_available()
	form = frappe.request.form
	if form.get("grant_type") not in rules.GRANT_TYPES:
		return _oauth_error(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")
	try:
		client = _client_for_token_request(form)
	except rules.OAuthProblem as e:
		return _oauth_error(401 if e.error == "invalid_client" else 400, e.error, e.description)
	origin = data.request_origin()
	resources = [r for r in form.getlist("resource") if r]
	if len(resources) > 1:
		return _oauth_error(400, "invalid_target", "Ask for one resource.")
	resource = rules.canonical_resource(resources[0]) if resources else None
	if resource is not None and resource not in data.accepted_resources(origin):
		return _oauth_error(
			400, "invalid_target", f"This site issues MCP tokens only for {rules.endpoint_url(origin)}"
		)
	uri = f"{origin}{data.METHOD_PREFIX}.token"
	headers = {"Content-Type": "application/x-www-form-urlencoded"}
	try:
		with data.issuing(resource=resource):
			out_headers, body, status = data.oauth_server().create_token_response(
				uri, "POST", _form_body(form, client), headers
			)
	except OAuth2Error as e:
		return _oauth_error(e.status_code, e.error, e.description or e.error)
	response = Response(body, status=status, mimetype="application/json")
	for key, value in out_headers.items():
		if key.lower() != "content-type":
			response.headers[key] = value
	response.headers["Cache-Control"] = "no-store"
	response.headers["Pragma"] = "no-cache"
	return response


@frappe.whitelist(allow_guest=True, methods=["POST"])
def revoke() -> Response:
	"""RFC 7009 revocation of an access or refresh token by the client it was issued to."""
	from oauthlib.oauth2 import OAuth2Error

	if not _available():
		return _not_available()
	form = frappe.request.form
	try:
		client = _client_for_token_request(form)
	except rules.OAuthProblem as e:
		return _oauth_error(401 if e.error == "invalid_client" else 400, e.error, e.description)
	uri = f"{data.request_origin()}{data.METHOD_PREFIX}.revoke"
	try:
		with data.issuing():
			_headers, body, status = data.oauth_server().create_revocation_response(
				uri, "POST", _form_body(form, client), {"Content-Type": "application/x-www-form-urlencoded"}
			)
	except OAuth2Error as e:
		return _oauth_error(e.status_code, e.error, e.description or e.error)
	frappe.db.commit()
	response = Response(body or "", status=status, mimetype="application/json")
	response.headers["Cache-Control"] = "no-store"
	return response


# ------------------------------------------------------------------ CORS and framing


def _is_oauth_path(path: str) -> bool:
	return (
		path in OAUTH_METHODS
		or path.startswith(rules.PROTECTED_RESOURCE_PATH)
		or path.startswith(rules.AUTHORIZATION_SERVER_PATH)
	)


def after_request(response=None, request=None) -> None:
	"""Browser-based MCP clients (MCP Inspector) discover, register and fetch tokens with fetch():
	these endpoints answer any Origin without credentials. The confirmation page may not be framed."""
	if request is None or response is None:
		return
	path = request.path
	if path in (f"{data.METHOD_PREFIX}.authorize", f"{data.METHOD_PREFIX}.approve"):
		response.headers["X-Frame-Options"] = "DENY"
		response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
		return
	if not _is_oauth_path(path):
		return
	response.headers["Access-Control-Allow-Origin"] = "*"
	response.headers.pop("Access-Control-Allow-Credentials", None)
	response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
	if request.method == "OPTIONS":
		response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
		response.headers["Access-Control-Allow-Headers"] = (
			request.headers.get("Access-Control-Request-Headers")
			or "Authorization, Content-Type, MCP-Protocol-Version"
		)
		response.headers["Access-Control-Max-Age"] = "86400"
