"""OAuth 2.1 on Frappe's own provider: the single authority on which bearer tokens the MCP endpoint
accepts, what they may do, and how codes and tokens are issued for MCP clients.

What is Frappe's and what is ours:
- Frappe's: the OAuth Client / OAuth Authorization Code / OAuth Bearer Token DocTypes, its request
  validator (frappe.oauth.OAuthWebRequestValidator) on oauthlib, PKCE verification, token storage, and
  `validate_oauth`, which turns a bearer token into the session user on every request.
- Ours, as a subclass of that validator used only by this app's endpoints: loopback redirect URIs on
  any port (RFC 8252), PKCE S256 required, codes that expire, the code's redirect URI checked at the
  token endpoint, the session user (not a cookie) as the code's user, client secrets actually checked,
  refresh tokens rotated, revocation that checks the token's client, and each code and token bound to
  the resource it was asked for (RFC 8707) in a custom field.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

import frappe
from frappe.oauth import OAuthWebRequestValidator
from frappe.utils import get_datetime, get_url, now_datetime

from erpnext_mcp.policy.token_scope import narrow
from erpnext_mcp.server import oauth as rules
from erpnext_mcp.server.http import HttpRequest, HttpResponse, jsonrpc_error, peek_request_id

CODE_LIFETIME = timedelta(minutes=10)
METHOD_PREFIX = "/api/method/erpnext_mcp.api.oauth"
REGISTRATION_DCR = "Dynamic Client Registration"
REGISTRATION_CIMD = "Client ID Metadata Document"
# Site config key (not a Desk setting, so nobody switches it on by accident): lets Client ID Metadata
# Documents be fetched over plain http from 127.0.0.1/localhost. For tests and local development only.
DEV_LOOPBACK_METADATA_KEY = "erpnext_mcp_allow_http_loopback_client_metadata"

_MODULE = "ERPNext MCP"
CUSTOM_FIELDS = {
	"OAuth Client": [
		{
			"fieldname": "mcp_section",
			"fieldtype": "Section Break",
			"label": "MCP Sign-in",
			"insert_after": "allowed_roles",
			"collapsible": 1,
		},
		{
			"fieldname": "mcp_registration",
			"fieldtype": "Select",
			"label": "Registered Through",
			"options": f"\n{REGISTRATION_DCR}\n{REGISTRATION_CIMD}",
			"read_only": 1,
			"insert_after": "mcp_section",
			"description": "How this client registered itself to sign users in to the MCP server. Empty: "
			"created by hand.",
		},
		{
			"fieldname": "mcp_client_id_url",
			"fieldtype": "Data",
			"label": "Client ID Metadata Document URL",
			"length": 500,
			"search_index": 1,
			"read_only": 1,
			"insert_after": "mcp_registration",
			"description": "The client_id this client uses: its redirect URIs and name come from this document.",
		},
		{
			"fieldname": "mcp_token_endpoint_auth_method",
			"fieldtype": "Select",
			"label": "Token Endpoint Authentication",
			"options": "\nnone\nclient_secret_post",
			"read_only": 1,
			"insert_after": "mcp_client_id_url",
			"description": "none: a public client that proves itself with PKCE; client_secret_post: it also "
			"sends its client secret.",
		},
		{
			"fieldname": "mcp_metadata_fetched_at",
			"fieldtype": "Datetime",
			"label": "Metadata Fetched At",
			"read_only": 1,
			"insert_after": "mcp_token_endpoint_auth_method",
		},
	],
	"OAuth Authorization Code": [
		{
			"fieldname": "mcp_resource",
			"fieldtype": "Data",
			"label": "Resource",
			"length": 500,
			"read_only": 1,
			"insert_after": "code_challenge_method",
			"description": "The resource (RFC 8707) this code was issued for.",
		},
	],
	"OAuth Bearer Token": [
		{
			"fieldname": "mcp_resource",
			"fieldtype": "Data",
			"label": "Resource",
			"length": 500,
			"read_only": 1,
			"insert_after": "status",
			"description": "The resource (RFC 8707) this token may be used at. A token bound to the MCP "
			"endpoint is refused everywhere else on the site.",
		},
	],
}


def setup_custom_fields() -> None:
	"""after_install / after_migrate: the MCP fields on Frappe's OAuth DocTypes (removed with the app)."""
	from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

	create_custom_fields(
		{dt: [{**f, "module": _MODULE} for f in fields] for dt, fields in CUSTOM_FIELDS.items()},
		update=True,
	)
	sync_frappe_oauth_settings()


# ------------------------------------------------------------------ settings and URLs


@dataclass(frozen=True)
class OAuthSettings:
	mcp_enabled: bool
	enabled: bool
	dynamic_client_registration: bool
	client_id_metadata_documents: bool


def _flag(doc, fieldname: str, default: int) -> bool:
	value = doc.get(fieldname)
	return bool(default if value is None else int(value))


def oauth_settings() -> OAuthSettings:
	doc = frappe.get_cached_doc("MCP Settings")
	return OAuthSettings(
		mcp_enabled=bool(doc.get("enabled")),
		enabled=_flag(doc, "oauth_enabled", 1),
		dynamic_client_registration=_flag(doc, "allow_dynamic_client_registration", 1),
		client_id_metadata_documents=_flag(doc, "allow_client_id_metadata_documents", 1),
	)


def allow_http_loopback_metadata() -> bool:
	return bool(frappe.conf.get(DEV_LOOPBACK_METADATA_KEY))


def sync_frappe_oauth_settings(mcp_settings=None) -> None:
	"""Frappe v16 publishes the site's OAuth documents itself (OAuth Settings): while MCP sign-in is on,
	its Protected Resource Metadata must name the MCP scopes, so that clients ask for them.
	`mcp_settings`: the MCP Settings being saved (the cached copy may still be the old one)."""
	if not native_discovery() or not frappe.db.exists("DocType", "OAuth Settings"):
		return
	if mcp_settings is not None:
		on = bool(mcp_settings.get("enabled")) and _flag(mcp_settings, "oauth_enabled", 1)
	else:
		settings = oauth_settings()
		on = settings.mcp_enabled and settings.enabled
	if not on:
		return
	doc = frappe.get_single("OAuth Settings")
	scopes = [s.strip() for s in (doc.scopes_supported or "").split("\n") if s.strip()]
	missing = [s for s in (rules.SCOPE_FULL, rules.SCOPE_READ) if s not in scopes]
	if missing:
		doc.scopes_supported = "\n".join(scopes + missing)
		doc.save(ignore_permissions=True)


def native_discovery() -> bool:
	"""Frappe v16 answers /.well-known/oauth-* itself (before any app's route): step aside there."""
	from frappe.integrations import oauth2

	return hasattr(oauth2, "handle_wellknown")


def origin_of(headers, scheme: str) -> str:
	return rules.public_origin(headers, scheme, fallback=get_url())


def request_origin() -> str:
	request = frappe.request
	return origin_of(dict(request.headers), request.scheme)


def challenge(
	headers, scheme: str, *, error: str | None = None, description: str | None = None, scope: str = "mcp"
) -> str:
	"""WWW-Authenticate for the MCP endpoint as this request reached it."""
	realm = frappe.local.site or "erpnext"
	metadata = None
	try:
		if oauth_settings().enabled:
			metadata = rules.protected_resource_metadata_url(origin_of(headers, scheme))
	except Exception:
		metadata = None  # Settings unreadable (e.g. during install): API keys still work
	return rules.www_authenticate(
		realm, resource_metadata=metadata, scope=scope, error=error, error_description=description
	)


# ------------------------------------------------------------------ tokens at the MCP endpoint


def token_hash(raw: str) -> str:
	"""How Frappe stores a token: as given on v15, hashed on versions that hash tokens."""
	try:
		from frappe.integrations.doctype.oauth_bearer_token.oauth_bearer_token import get_oauth_token_hash
	except ImportError:
		return raw
	return get_oauth_token_hash(raw)


def bearer_of(headers) -> str | None:
	value = ""
	for key, v in headers.items():
		if key.lower() == "authorization":
			value = v or ""
	scheme, _, token = value.strip().partition(" ")
	if scheme.lower() != "bearer" or not token.strip():
		return None
	return token.strip()


def token_record(raw: str):
	return frappe.db.get_value(
		"OAuth Bearer Token",
		{"access_token": token_hash(raw)},
		["name", "user", "client", "scopes", "status", "expiration_time", "mcp_resource"],
		as_dict=True,
	)


@dataclass
class BearerCheck:
	"""The answer for one request: refused (with the response to send) or which operations it may use."""

	refusal: HttpResponse | None = None
	operations: frozenset[str] | None = None  # None: whatever the profile allows
	scope: str = rules.SCOPE_FULL

	def narrow(self, policy):
		return narrow(policy, self.operations, self.scope)


def _refuse(req: HttpRequest, status: int, error: str, description: str) -> BearerCheck:
	header = challenge(req.headers, req.scheme, error=error, description=description)
	return BearerCheck(
		refusal=jsonrpc_error(
			status,
			-32001,
			f"{description} (OAuth error: {error})",
			{"WWW-Authenticate": header},
			peek_request_id(req.body),
		)
	)


def accepted_resources(origin: str) -> set[str]:
	accepted = {rules.canonical_resource(rules.endpoint_url(origin))}
	if native_discovery():
		# Frappe's own protected resource metadata names the site itself as the resource.
		accepted.add(rules.canonical_resource(origin))
	return accepted


def check_bearer(req: HttpRequest) -> BearerCheck:
	"""Is this request's bearer token (which Frappe already accepted for the session user) one for
	the MCP endpoint: OAuth on, an MCP scope, bound to this resource, its user enabled?"""
	raw = bearer_of(req.headers)
	if raw is None or frappe.session.user in (None, "", "Guest"):
		return BearerCheck()
	if not oauth_settings().enabled:
		return _refuse(
			req, 401, "invalid_token", "OAuth sign-in is turned off for MCP on this site (MCP Settings)"
		)
	row = token_record(raw)
	if (
		not row
		or row.status != "Active"
		or not row.expiration_time
		or get_datetime(row.expiration_time) <= now_datetime()
	):
		return _refuse(req, 401, "invalid_token", "The access token is invalid, expired or revoked")
	if row.user != frappe.session.user:
		return _refuse(req, 401, "invalid_token", "The access token does not belong to this session")
	origin = origin_of(req.headers, req.scheme)
	expected = rules.endpoint_url(origin)
	if rules.canonical_resource(row.mcp_resource or "") not in accepted_resources(origin):
		bound = row.mcp_resource or "no resource"
		return _refuse(
			req,
			401,
			"invalid_token",
			f"The access token was issued for {bound}, not for this MCP server; sign in again with "
			f"resource={expected}",
		)
	access = rules.token_access(row.scopes)
	if access is None:
		check = _refuse(
			req, 403, "insufficient_scope", 'The access token lacks the scope "mcp" (or "mcp:read")'
		)
		return check
	if not frappe.db.get_value("User", row.user, "enabled"):
		return _refuse(req, 401, "invalid_token", "The token's user is disabled")
	if access == "read":
		return BearerCheck(operations=rules.READ_OPERATIONS, scope=rules.SCOPE_READ)
	return BearerCheck()


def confine_mcp_tokens() -> None:
	"""auth_hooks: a token issued for the MCP endpoint (bound to it, or carrying an MCP scope) works
	only there. Frappe would otherwise accept it on its whole REST API, around the MCP profile."""
	request = getattr(frappe.local, "request", None)
	if request is None or frappe.session.user in (None, "", "Guest"):
		return
	raw = bearer_of(dict(request.headers))
	if raw is None or request.path == rules.ENDPOINT_PATH:
		return
	row = frappe.db.get_value(
		"OAuth Bearer Token", {"access_token": token_hash(raw)}, ["scopes", "mcp_resource"], as_dict=True
	)
	if row and (row.mcp_resource or rules.token_access(row.scopes)):
		frappe.set_user("Guest")  # validate_auth then answers 401


# ------------------------------------------------------------------ binding codes and tokens


def _carry_resource(row) -> bool:
	"""A code or refresh token is good only for the resource it was issued for (RFC 8707 §2.2): refuse
	a request naming another one, and carry the bound resource on to the new token."""
	context = frappe.flags.get("erpnext_mcp_oauth")
	if context is not None:
		wanted = context.get("resource")
		if wanted and rules.canonical_resource(wanted) != rules.canonical_resource(row.mcp_resource or ""):
			return False
		context["resource"] = row.mcp_resource
	return True


def on_new_grant(doc, method=None) -> None:
	"""doc_events before_insert (OAuth Authorization Code, OAuth Bearer Token): bind it to the resource
	our endpoints validated; refuse MCP-registered clients on Frappe's own endpoints, which do not
	apply the checks above."""
	context = frappe.flags.get("erpnext_mcp_oauth")
	if context is not None:
		if context.get("resource"):
			doc.mcp_resource = context["resource"]
		return
	mcp_client = doc.client and frappe.db.get_value("OAuth Client", doc.client, "mcp_registration")
	if mcp_client and not native_discovery():
		frappe.throw(
			frappe._("This client registered for MCP sign-in; use the MCP authorization endpoints."),
			frappe.PermissionError,
		)
	if mcp_client and doc.doctype == "OAuth Authorization Code":
		# Frappe v16's provider is the one MCP clients discover there; it makes PKCE optional, MCP
		# (OAuth 2.1) does not: a code for an MCP-registered client needs an S256 challenge.
		if (doc.get("code_challenge_method") or "").lower() != "s256" or not doc.get("code_challenge"):
			frappe.throw(
				frappe._("MCP sign-in needs PKCE: send code_challenge with code_challenge_method=S256."),
				frappe.PermissionError,
			)
	if native_discovery():
		resource = frappe.form_dict.get("resource") or (
			frappe.request.args.get("resource") if getattr(frappe.local, "request", None) else None
		)
		if isinstance(resource, str) and rules.canonical_resource(resource):
			doc.mcp_resource = rules.canonical_resource(resource)


class issuing:
	"""Context for one call into oauthlib from our endpoints: codes and tokens created inside are ours."""

	def __init__(self, resource: str | None = None):
		self.context = {"resource": resource}

	def __enter__(self):
		frappe.flags.erpnext_mcp_oauth = self.context
		return self.context

	def __exit__(self, *exc):
		frappe.flags.erpnext_mcp_oauth = None
		return False


# ------------------------------------------------------------------ the validator


def client_row(name: str | None):
	if not name:
		return None
	return frappe.db.get_value(
		"OAuth Client",
		name,
		[
			"name",
			"client_id",
			"client_secret",
			"app_name",
			"scopes",
			"redirect_uris",
			"default_redirect_uri",
			"skip_authorization",
			"response_type",
			"grant_type",
			"mcp_registration",
			"mcp_client_id_url",
			"mcp_token_endpoint_auth_method",
		],
		as_dict=True,
	)


def redirect_uris_of(row) -> list[str]:
	return [u for u in (row.redirect_uris or "").split() if u] or (
		[row.default_redirect_uri] if row.default_redirect_uri else []
	)


class MCPRequestValidator(OAuthWebRequestValidator):
	"""Frappe's validator with the rules MCP clients need (see the module docstring)."""

	def is_pkce_required(self, client_id, request):
		return True

	def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
		row = client_row(client_id)
		return bool(row) and rules.redirect_uri_allowed(redirect_uri, redirect_uris_of(row))

	def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
		row = client_row(client_id)
		return bool(row) and all(s in rules.client_scopes(row.scopes) for s in scopes)

	def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
		return grant_type in rules.GRANT_TYPES

	def save_authorization_code(self, client_id, code, request, *args, **kwargs):
		# Frappe takes the user from the user_id cookie, which the browser controls; the session is
		# the truth. Everything else as Frappe stores it.
		doc = frappe.new_doc("OAuth Authorization Code")
		doc.scopes = " ".join(request.scopes)
		doc.redirect_uri_bound_to_authorization_code = request.redirect_uri
		doc.client = client_id
		doc.user = frappe.session.user
		doc.authorization_code = code["code"]
		doc.code_challenge = request.code_challenge
		doc.code_challenge_method = (request.code_challenge_method or "").lower()
		doc.insert(ignore_permissions=True)
		frappe.db.commit()

	def _code(self, code):
		return frappe.db.get_value(
			"OAuth Authorization Code",
			code,
			[
				"client",
				"user",
				"validity",
				"creation",
				"code_challenge",
				"code_challenge_method",
				"redirect_uri_bound_to_authorization_code",
				"mcp_resource",
			],
			as_dict=True,
		)

	def validate_code(self, client_id, code, client, request, *args, **kwargs):
		row = self._code(code)
		if not row or row.client != client_id or row.validity != "Valid" or not row.code_challenge:
			return False
		if get_datetime(row.creation) + CODE_LIFETIME < now_datetime():
			self.invalidate_authorization_code(client_id, code, request)
			return False
		if not frappe.db.get_value("User", row.user, "enabled"):
			return False
		if not super().validate_code(client_id, code, client, request, *args, **kwargs):
			return False
		request.bound_redirect_uri = row.redirect_uri_bound_to_authorization_code
		return _carry_resource(row)

	def get_code_challenge(self, code, request):
		row = self._code(code)
		return row.code_challenge if row else None

	def get_code_challenge_method(self, code, request):
		row = self._code(code)
		if not row:
			return None
		return "S256" if (row.code_challenge_method or "").lower() == "s256" else row.code_challenge_method

	def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
		request = kwargs.get("request") or (args[0] if args else None)
		bound = getattr(request, "bound_redirect_uri", None)
		if bound is None:
			row = self._code(code)
			bound = row.redirect_uri_bound_to_authorization_code if row else None
		if request is not None and getattr(request, "using_default_redirect_uri", False):
			return False
		return bool(bound) and redirect_uri == bound

	def client_authentication_required(self, request, *args, **kwargs):
		row = client_row(request.client_id)
		return bool(request.client_secret) or bool(
			row and row.mcp_token_endpoint_auth_method == "client_secret_post"
		)

	def authenticate_client(self, request, *args, **kwargs):
		row = client_row(request.client_id)
		if not row or not request.client_secret or not row.client_secret:
			return False
		if not hmac.compare_digest(str(request.client_secret), str(row.client_secret)):
			return False
		request.client = frappe._dict(row, client_id=row.name)
		return True

	def authenticate_client_id(self, client_id, request, *args, **kwargs):
		row = client_row(client_id)
		if not row or row.mcp_token_endpoint_auth_method == "client_secret_post":
			return False
		request.client = frappe._dict(row, client_id=row.name)
		return True

	def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
		row = frappe.db.get_value(
			"OAuth Bearer Token",
			{"refresh_token": token_hash(refresh_token)},
			["name", "status", "client", "user", "mcp_resource"],
			as_dict=True,
		)
		if not row or row.status != "Active" or row.client != getattr(client, "client_id", None):
			return False
		if not frappe.db.get_value("User", row.user, "enabled"):
			return False
		request.user = row.user
		request.previous_token = row.name
		return _carry_resource(row)

	def save_bearer_token(self, token, request, *args, **kwargs):
		result = super().save_bearer_token(token, request, *args, **kwargs)
		previous = getattr(request, "previous_token", None)
		if previous:
			# Refresh tokens rotate: the old pair stops working the moment the new one is issued.
			frappe.db.set_value("OAuth Bearer Token", previous, "status", "Revoked")
			frappe.db.commit()
		return result

	def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
		order = (
			["refresh_token", "access_token"]
			if token_type_hint == "refresh_token"
			else [
				"access_token",
				"refresh_token",
			]
		)
		client = getattr(request.client, "client_id", None) if request.client else None
		for fieldname in order:
			row = frappe.db.get_value(
				"OAuth Bearer Token", {fieldname: token_hash(token)}, ["name", "client"], as_dict=True
			)
			if row:
				if row.client == client:
					frappe.db.set_value("OAuth Bearer Token", row.name, "status", "Revoked")
					frappe.db.commit()
				return


def oauth_server():
	"""oauthlib's authorization-code server (no implicit or password grants) on our validator."""
	if not getattr(frappe.local, "erpnext_mcp_oauth_server", None):
		from oauthlib.oauth2 import WebApplicationServer

		frappe.local.erpnext_mcp_oauth_server = WebApplicationServer(MCPRequestValidator())
	return frappe.local.erpnext_mcp_oauth_server
