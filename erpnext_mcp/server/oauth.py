"""OAuth 2.1 for the MCP endpoint, the parts that need no framework: public URLs, challenges, scopes,
redirect URI rules, client metadata checks and the guarded fetch of a Client ID Metadata Document.

Pure Python (no `import frappe`): the Frappe side (api/oauth.py, data/oauth.py) asks, this answers.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ENDPOINT_PATH = "/api/method/erpnext_mcp.api.mcp.handle"
PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"
AUTHORIZATION_SERVER_PATH = "/.well-known/oauth-authorization-server"

SCOPE_FULL = "mcp"
SCOPE_READ = "mcp:read"
SCOPES = (SCOPE_FULL, SCOPE_READ)
SCOPE_DESCRIPTIONS = {
	SCOPE_FULL: "Use ERPNext through MCP as you: read and, where your MCP profile allows it, change documents",
	SCOPE_READ: "Read ERPNext documents through MCP as you (no changes)",
}
READ_OPERATIONS = frozenset({"read"})

GRANT_TYPES = ("authorization_code", "refresh_token")
# client_secret_basic is not offered: Frappe reads every "Authorization: Basic" header as an API key
# and refuses the request before any OAuth endpoint runs.
AUTH_METHODS = ("none", "client_secret_post")

MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
MAX_CLIENT_ID_URL_LENGTH = 500
MAX_METADATA_BYTES = 16 * 1024
METADATA_TIMEOUT_SECONDS = 5.0

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Schemes a redirect may never use, whatever the client says.
BLOCKED_SCHEMES = frozenset(
	{"javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss", "mailto", "tel", "sms"}
)
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*$")
_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\s]")


class OAuthProblem(ValueError):
	"""A request or document that OAuth must refuse: `error` is the RFC error code, str() the reason."""

	def __init__(self, error: str, description: str):
		super().__init__(description)
		self.error = error
		self.description = description


# ------------------------------------------------------------------ public URLs


def _first(value: str | None) -> str:
	return (value or "").split(",")[0].strip()


def public_origin(headers: Mapping[str, str], scheme: str = "http", fallback: str = "") -> str:
	"""scheme://host[:port] as the client sees this site: X-Forwarded-Proto/Host/Port when a reverse
	proxy sets them, else the request's own scheme and Host; a default port is dropped, others kept."""
	h = {k.lower(): v for k, v in headers.items()}
	proto = _first(h.get("x-forwarded-proto")).lower() or (scheme or "http").lower()
	if proto not in ("http", "https"):
		proto = (scheme or "http").lower() if (scheme or "").lower() in ("http", "https") else "http"
	host = _first(h.get("x-forwarded-host")) or (h.get("host") or "").strip()
	if not _HOST_RE.match(host):
		if fallback:
			return canonical_origin(fallback)
		host = "localhost"
	port = _first(h.get("x-forwarded-port"))
	has_port = host.rsplit("]", 1)[-1].count(":") == 1
	if port.isdigit() and not has_port and h.get("x-forwarded-host"):
		host = f"{host}:{port}"
	return canonical_origin(f"{proto}://{host}")


def canonical_origin(url: str) -> str:
	parts = urlsplit(url)
	scheme = parts.scheme.lower()
	host = (parts.hostname or "").lower()
	if ":" in host:
		host = f"[{host}]"
	port = parts.port
	if port and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
		host = f"{host}:{port}"
	return f"{scheme}://{host}"


def canonical_resource(url: str) -> str:
	"""The form two resource URIs are compared in: lower-case scheme and host, no default port, no
	trailing slash, no fragment (RFC 8707 §2, RFC 3986 §6)."""
	try:
		parts = urlsplit((url or "").strip())
		origin = canonical_origin(url)
	except ValueError:
		return ""
	if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
		return ""
	path = parts.path.rstrip("/")
	query = f"?{parts.query}" if parts.query else ""
	return f"{origin}{path}{query}"


def endpoint_url(origin: str) -> str:
	return f"{origin}{ENDPOINT_PATH}"


def protected_resource_metadata_url(origin: str) -> str:
	# The path-inserted form of RFC 9728 §3.1 for the MCP endpoint.
	return f"{origin}{PROTECTED_RESOURCE_PATH}{ENDPOINT_PATH}"


# ------------------------------------------------------------------ documents


def protected_resource_metadata(origin: str, resource_name: str) -> dict:
	"""RFC 9728 metadata for the MCP endpoint: which authorization server signs users in."""
	return {
		"resource": endpoint_url(origin),
		"authorization_servers": [origin],
		"scopes_supported": list(SCOPES),
		"bearer_methods_supported": ["header"],
		"resource_name": resource_name,
	}


def authorization_server_metadata(
	origin: str, *, registration: bool, client_id_metadata_documents: bool, method_prefix: str
) -> dict:
	"""RFC 8414 metadata: this site is the issuer; endpoints are whitelisted methods under method_prefix."""
	meta = {
		"issuer": origin,
		"authorization_endpoint": f"{origin}{method_prefix}.authorize",
		"token_endpoint": f"{origin}{method_prefix}.token",
		"revocation_endpoint": f"{origin}{method_prefix}.revoke",
		"response_types_supported": ["code"],
		"response_modes_supported": ["query"],
		"grant_types_supported": list(GRANT_TYPES),
		"code_challenge_methods_supported": ["S256"],
		"token_endpoint_auth_methods_supported": list(AUTH_METHODS),
		"revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
		"scopes_supported": list(SCOPES),
		"client_id_metadata_document_supported": bool(client_id_metadata_documents),
	}
	if registration:
		meta["registration_endpoint"] = f"{origin}{method_prefix}.register"
	return meta


# ------------------------------------------------------------------ challenges


def _quoted(value: str) -> str:
	return '"' + re.sub(r'["\\\x00-\x1f\x7f]', "", value) + '"'


def www_authenticate(
	realm: str,
	*,
	resource_metadata: str | None = None,
	scope: str | None = SCOPE_FULL,
	error: str | None = None,
	error_description: str | None = None,
	api_keys: bool = True,
) -> str:
	"""The WWW-Authenticate value: a Bearer challenge naming the resource metadata (RFC 9728 §5.1) when
	OAuth is on, then Frappe's own `Token` scheme for API keys. Bearer comes first because several MCP
	clients read only the first challenge."""
	challenges = []
	if resource_metadata:
		params = [f"realm={_quoted(realm)}"]
		if error:
			params.append(f"error={_quoted(error)}")
		if error_description:
			params.append(f"error_description={_quoted(error_description)}")
		params.append(f"resource_metadata={_quoted(resource_metadata)}")
		if scope:
			params.append(f"scope={_quoted(scope)}")
		challenges.append("Bearer " + ", ".join(params))
	if api_keys or not challenges:
		challenges.append(f"Token realm={_quoted(realm)}")
	return ", ".join(challenges)


# ------------------------------------------------------------------ scopes


def split_scopes(value: str | Iterable[str] | None) -> list[str]:
	if value is None:
		return []
	items = value.split() if isinstance(value, str) else [s for v in value for s in str(v).split()]
	return list(dict.fromkeys(items))


def token_access(scopes: str | Iterable[str] | None) -> str | None:
	"""What a token's scopes let it do at the MCP endpoint: "full", "read", or None (not an MCP token)."""
	granted = set(split_scopes(scopes))
	if SCOPE_FULL in granted:
		return "full"
	if SCOPE_READ in granted:
		return "read"
	return None


def client_scopes(registered: str | Iterable[str] | None) -> list[str]:
	"""The MCP scopes a client may be granted: what it registered, where "mcp" includes "mcp:read"."""
	scopes = [s for s in split_scopes(registered) if s in SCOPES]
	if SCOPE_FULL in scopes and SCOPE_READ not in scopes:
		scopes.append(SCOPE_READ)
	return scopes


def grantable_scopes(requested: str | None, allowed: str | Iterable[str] | None) -> list[str]:
	"""The scopes to grant: those asked for that the client may have (unknown or unavailable ones are
	left out, RFC 6749 §3.3), or all the client registered when nothing usable was asked for."""
	may = client_scopes(allowed)
	if not may:
		raise OAuthProblem("invalid_scope", "This client may not request any MCP scope.")
	asked = [s for s in split_scopes(requested) if s in SCOPES]
	if not asked:
		return [s for s in split_scopes(allowed) if s in SCOPES]
	granted = [s for s in asked if s in may]
	if not granted:
		raise OAuthProblem("invalid_scope", f"This client may not request the scope {' '.join(asked)}.")
	return granted


# ------------------------------------------------------------------ redirect URIs


def is_loopback_redirect(uri: str) -> bool:
	try:
		parts = urlsplit(uri)
		return parts.scheme.lower() == "http" and (parts.hostname or "").lower() in LOOPBACK_HOSTS
	except ValueError:
		return False


def redirect_uri_problem(uri: object) -> str | None:
	"""Why `uri` cannot be a redirect URI, or None. https anywhere; http only on loopback (RFC 8252 §7.3);
	private-use schemes for native apps (RFC 8252 §7.1); never a fragment, user info or dangerous scheme."""
	if not isinstance(uri, str) or not uri:
		return "a redirect URI must be a non-empty string"
	if len(uri) > MAX_URI_LENGTH or _CONTROL_RE.search(uri):
		return f"{uri[:80]!r} is too long or contains spaces or control characters"
	try:
		parts = urlsplit(uri)
		parts.port
	except ValueError:
		return f"{uri!r} is not a valid URI"
	scheme = parts.scheme.lower()
	if not scheme or not _SCHEME_RE.match(scheme):
		return f"{uri!r} is not an absolute URI"
	if parts.fragment or "#" in uri:
		return f"{uri!r} must not contain a fragment"
	if parts.username or parts.password:
		return f"{uri!r} must not contain user information"
	if scheme in BLOCKED_SCHEMES:
		return f"{uri!r} uses a scheme that is never allowed for redirects"
	if scheme == "https":
		if not parts.hostname:
			return f"{uri!r} has no host"
	elif scheme == "http":
		if (parts.hostname or "").lower() not in LOOPBACK_HOSTS:
			return (
				f"{uri!r}: plain http is allowed only for loopback redirects (127.0.0.1, [::1] or localhost, "
				"any port); use https"
			)
	elif not (parts.path or parts.netloc):
		return f"{uri!r} has neither a host nor a path"
	return None


def redirect_uri_allowed(requested: str, registered: Iterable[str]) -> bool:
	"""Exact match, or for loopback http URIs the same host, path and query on any port (RFC 8252 §7.3)."""
	registered = [r for r in registered if r]
	if requested in registered:
		return True
	if not is_loopback_redirect(requested) or redirect_uri_problem(requested):
		return False
	want = urlsplit(requested)
	for candidate in registered:
		if not is_loopback_redirect(candidate):
			continue
		have = urlsplit(candidate)
		if (
			have.hostname == want.hostname
			and (have.path or "/") == (want.path or "/")
			and have.query == want.query
			and not want.fragment
		):
			return True
	return False


# ------------------------------------------------------------------ client metadata


@dataclass
class ClientMetadata:
	"""What a client registered (RFC 7591) or published (Client ID Metadata Document), after checks."""

	client_name: str
	redirect_uris: list[str]
	scopes: list[str]
	token_endpoint_auth_method: str = "none"
	grant_types: list[str] = field(default_factory=lambda: list(GRANT_TYPES))
	client_uri: str | None = None

	def registration_response(self) -> dict:
		out = {
			"client_name": self.client_name,
			"redirect_uris": list(self.redirect_uris),
			"grant_types": list(self.grant_types),
			"response_types": ["code"],
			"token_endpoint_auth_method": self.token_endpoint_auth_method,
			"scope": " ".join(self.scopes),
		}
		if self.client_uri:
			out["client_uri"] = self.client_uri
		return out


def _clean_text(value: object, limit: int) -> str:
	# Printable text without angle brackets: a name the client chose is shown to users as text.
	text = "".join(ch for ch in str(value) if ch.isprintable() and ch not in "<>").strip()
	return text[:limit]


def parse_client_metadata(data: object, *, document_url: str | None = None) -> ClientMetadata:
	"""Check registration metadata (RFC 7591 §2) or a Client ID Metadata Document (document_url set).

	Raises OAuthProblem("invalid_client_metadata" / "invalid_redirect_uri", reason)."""
	if not isinstance(data, dict):
		raise OAuthProblem("invalid_client_metadata", "The client metadata must be a JSON object.")
	if document_url is not None and data.get("client_id") != document_url:
		raise OAuthProblem(
			"invalid_client_metadata",
			"The metadata document's client_id must be exactly the URL it was fetched from.",
		)
	uris = data.get("redirect_uris")
	if not isinstance(uris, list) or not uris:
		raise OAuthProblem("invalid_redirect_uri", "redirect_uris must be a non-empty list.")
	if len(uris) > MAX_REDIRECT_URIS:
		raise OAuthProblem("invalid_redirect_uri", f"At most {MAX_REDIRECT_URIS} redirect_uris are accepted.")
	for uri in uris:
		problem = redirect_uri_problem(uri)
		if problem:
			raise OAuthProblem("invalid_redirect_uri", problem)
	grant_types = data.get("grant_types", ["authorization_code"])
	if (
		not isinstance(grant_types, list)
		or not grant_types
		or any(g not in GRANT_TYPES for g in grant_types)
		or "authorization_code" not in grant_types
	):
		raise OAuthProblem(
			"invalid_client_metadata",
			"grant_types must include authorization_code and may add refresh_token; nothing else is supported.",
		)
	response_types = data.get("response_types", ["code"])
	if not isinstance(response_types, list) or any(r != "code" for r in response_types):
		raise OAuthProblem("invalid_client_metadata", 'response_types may only be ["code"].')
	method = data.get("token_endpoint_auth_method")
	if document_url is not None:
		# A metadata document is public: a shared secret cannot belong to it.
		if method not in (None, "none") or "client_secret" in data:
			raise OAuthProblem(
				"invalid_client_metadata",
				'A Client ID Metadata Document must use token_endpoint_auth_method "none" (with PKCE).',
			)
		method = "none"
	elif method in (None, "client_secret_basic"):
		# RFC 7591's default is client_secret_basic, which Frappe cannot receive (it reads every Basic
		# header as an API key); the same secret travels in the body instead. The response says so.
		method = "client_secret_post"
	elif method not in AUTH_METHODS:
		raise OAuthProblem(
			"invalid_client_metadata",
			f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}.",
		)
	asked = split_scopes(data.get("scope") if isinstance(data.get("scope"), str) else None)
	scopes = [s for s in asked if s in SCOPES] or list(SCOPES)
	client_uri = data.get("client_uri")
	if not (isinstance(client_uri, str) and client_uri.startswith("https://") and len(client_uri) <= 500):
		client_uri = None
	name = _clean_text(data.get("client_name") or "", 100) or "MCP client"
	return ClientMetadata(
		client_name=name,
		redirect_uris=list(dict.fromkeys(uris)),
		scopes=scopes,
		token_endpoint_auth_method=method,
		grant_types=[g for g in GRANT_TYPES if g in grant_types],
		client_uri=client_uri,
	)


# ------------------------------------------------------------------ Client ID Metadata Documents


def looks_like_client_id_url(client_id: str | None) -> bool:
	return bool(client_id) and client_id.lower().startswith(("https://", "http://"))


def client_id_url_problem(url: str, *, allow_http_loopback: bool = False) -> str | None:
	"""Why `url` cannot be a Client ID Metadata Document URL, or None: https with a host and a path,
	no fragment, user info or dot segments; plain http only to loopback and only in test mode."""
	if len(url) > MAX_CLIENT_ID_URL_LENGTH or _CONTROL_RE.search(url):
		return f"the client_id URL is longer than {MAX_CLIENT_ID_URL_LENGTH} characters or has spaces"
	try:
		parts = urlsplit(url)
		parts.port
	except ValueError:
		return "the client_id is not a valid URL"
	scheme = parts.scheme.lower()
	host = (parts.hostname or "").lower()
	if scheme == "http":
		if not (allow_http_loopback and host in LOOPBACK_HOSTS):
			return "a client_id URL must use https"
	elif scheme != "https":
		return "a client_id URL must use https"
	if not host:
		return "the client_id URL has no host"
	if parts.username or parts.password or parts.fragment or "#" in url:
		return "the client_id URL must not contain user information or a fragment"
	if not parts.path or parts.path == "/":
		return "the client_id URL must have a path"
	if any(seg in (".", "..") for seg in parts.path.split("/")):
		return "the client_id URL must not contain . or .. path segments"
	return None


def address_allowed(address: str, *, allow_loopback: bool = False) -> bool:
	"""May the server connect to this IP for a metadata document? Only public addresses (no private,
	loopback, link-local, multicast, reserved or CGNAT ranges); loopback only in test mode."""
	try:
		ip = ipaddress.ip_address(address.split("%", 1)[0])
	except ValueError:
		return False
	if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
		ip = ip.ipv4_mapped
	if ip.is_loopback:
		return allow_loopback
	return ip.is_global and not ip.is_multicast


class _PinnedHTTPConnection(http.client.HTTPConnection):
	def __init__(self, host: str, address: str, port: int, timeout: float):
		super().__init__(host, port, timeout=timeout)
		self._address = address

	def connect(self):
		self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
	"""Connects to the address already checked, while TLS still verifies the certificate for `host`."""

	def __init__(self, host: str, address: str, port: int, timeout: float):
		super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
		self._address = address

	def connect(self):
		sock = socket.create_connection((self._address, self.port), self.timeout)
		self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_client_metadata_document(
	url: str,
	*,
	allow_http_loopback: bool = False,
	timeout: float = METADATA_TIMEOUT_SECONDS,
	max_bytes: int = MAX_METADATA_BYTES,
	resolve=socket.getaddrinfo,
) -> dict:
	"""GET a Client ID Metadata Document with the guards SSRF needs: the URL rules above, every address
	the name resolves to must be public (loopback only in test mode) and the connection goes to that
	checked address (no DNS rebinding), no redirects, a size cap and a deadline. Raises OAuthProblem."""
	problem = client_id_url_problem(url, allow_http_loopback=allow_http_loopback)
	if problem:
		raise OAuthProblem("invalid_client", problem)
	parts = urlsplit(url)
	host = parts.hostname or ""
	scheme = parts.scheme.lower()
	port = parts.port or (443 if scheme == "https" else 80)
	deadline = time.monotonic() + timeout
	try:
		infos = resolve(host, port, type=socket.SOCK_STREAM)
	except (OSError, UnicodeError) as e:
		raise OAuthProblem("invalid_client", f"the client_id host {host} could not be resolved ({e})")
	addresses = list(dict.fromkeys(info[4][0] for info in infos))
	if not addresses:
		raise OAuthProblem("invalid_client", f"the client_id host {host} has no address")
	for address in addresses:
		if not address_allowed(address, allow_loopback=allow_http_loopback):
			raise OAuthProblem(
				"invalid_client",
				f"the client_id host {host} resolves to {address}, which is not a public address",
			)
	cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
	conn = cls(host, addresses[0], port, timeout)
	path = parts.path + (f"?{parts.query}" if parts.query else "")
	try:
		conn.request(
			"GET",
			path,
			headers={"Accept": "application/json", "User-Agent": "erpnext-mcp-oauth/1", "Host": parts.netloc},
		)
		resp = conn.getresponse()
		if resp.status != 200:
			raise OAuthProblem(
				"invalid_client",
				f"the client_id URL answered HTTP {resp.status} (redirects are not followed)",
			)
		length = resp.getheader("Content-Length")
		if length and length.isdigit() and int(length) > max_bytes:
			raise OAuthProblem(
				"invalid_client", f"the client metadata document is larger than {max_bytes} bytes"
			)
		chunks, size = [], 0
		while True:
			if time.monotonic() > deadline:
				raise OAuthProblem("invalid_client", "the client metadata document took too long to arrive")
			chunk = resp.read(4096)
			if not chunk:
				break
			size += len(chunk)
			if size > max_bytes:
				raise OAuthProblem(
					"invalid_client", f"the client metadata document is larger than {max_bytes} bytes"
				)
			chunks.append(chunk)
	except OAuthProblem:
		raise
	except (OSError, http.client.HTTPException, ssl.SSLError) as e:
		raise OAuthProblem("invalid_client", f"the client metadata document could not be fetched ({e})")
	finally:
		conn.close()
	try:
		data = json.loads(b"".join(chunks))
	except (ValueError, RecursionError):
		raise OAuthProblem("invalid_client", "the client metadata document is not valid JSON")
	if not isinstance(data, dict):
		raise OAuthProblem("invalid_client", "the client metadata document is not a JSON object")
	return data
