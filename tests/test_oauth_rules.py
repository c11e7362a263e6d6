"""Tier 1 tests of server/oauth.py (public URLs, challenges, scopes, redirect URIs, client metadata, the
guarded metadata fetch) and policy/token_scope.py (an mcp:read token narrows the policy)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from erpnext_mcp.policy import Profile, Rule, resolve
from erpnext_mcp.policy.token_scope import LAYER_TOKEN_SCOPE, ScopedPolicy, narrow
from erpnext_mcp.server import oauth as o

ENDPOINT = "/api/method/erpnext_mcp.api.mcp.handle"

# ------------------------------------------------------------------ public URLs


@pytest.mark.parametrize(
	"headers, scheme, expected",
	[
		({"Host": "erp.example.com"}, "https", "https://erp.example.com"),
		({"Host": "erp.example.com:443"}, "https", "https://erp.example.com"),
		({"Host": "erp.example.com:8443"}, "https", "https://erp.example.com:8443"),
		({"Host": "127.0.0.1:8000"}, "http", "http://127.0.0.1:8000"),
		({"Host": "ERP.Example.COM"}, "http", "http://erp.example.com"),
		# behind a reverse proxy
		(
			{"Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "erp.example.com"},
			"http",
			"https://erp.example.com",
		),
		(
			{
				"Host": "backend",
				"X-Forwarded-Proto": "https, http",
				"X-Forwarded-Host": "erp.example.com:9443, backend",
			},
			"http",
			"https://erp.example.com:9443",
		),
		(
			{
				"Host": "backend",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host": "erp.example.com",
				"X-Forwarded-Port": "8443",
			},
			"http",
			"https://erp.example.com:8443",
		),
		(
			{
				"Host": "backend",
				"X-Forwarded-Proto": "https",
				"X-Forwarded-Host": "erp.example.com",
				"X-Forwarded-Port": "443",
			},
			"http",
			"https://erp.example.com",
		),
		({"Host": "[::1]:8000"}, "http", "http://[::1]:8000"),
		({"host": "erp.example.com", "x-forwarded-proto": "gopher"}, "https", "https://erp.example.com"),
	],
)
def test_public_origin(headers, scheme, expected):
	assert o.public_origin(headers, scheme) == expected


@pytest.mark.parametrize("host", ['evil.com/"x', "a b", "x@y", "", "erp.example.com:99999999"])
def test_public_origin_ignores_a_malformed_host(host):
	assert o.public_origin({"Host": host}, "https", fallback="https://site.example:8443/x") in (
		"https://site.example:8443",
		"https://localhost",
	)


def test_resource_comparison_is_canonical():
	a = o.canonical_resource("https://ERP.example.com:443/api/method/erpnext_mcp.api.mcp.handle/")
	assert a == o.canonical_resource("https://erp.example.com/api/method/erpnext_mcp.api.mcp.handle")
	assert a != o.canonical_resource("http://erp.example.com/api/method/erpnext_mcp.api.mcp.handle")
	assert a != o.canonical_resource("https://erp.example.com:8443/api/method/erpnext_mcp.api.mcp.handle")
	assert a != o.canonical_resource("https://erp.example.com/api/method/other")
	assert o.canonical_resource("not a url") == ""
	assert o.canonical_resource("ftp://x/y") == ""


# ------------------------------------------------------------------ documents and challenges


def test_metadata_documents():
	prm = o.protected_resource_metadata("https://erp.example.com:8443", "ERPNext")
	assert prm["resource"] == "https://erp.example.com:8443" + ENDPOINT
	assert prm["authorization_servers"] == ["https://erp.example.com:8443"]
	assert prm["scopes_supported"] == ["mcp", "mcp:read"]
	asm = o.authorization_server_metadata(
		"https://erp.example.com",
		registration=False,
		client_id_metadata_documents=True,
		method_prefix="/api/method/erpnext_mcp.api.oauth",
	)
	assert asm["issuer"] == "https://erp.example.com"
	assert asm["code_challenge_methods_supported"] == ["S256"]
	assert "registration_endpoint" not in asm
	assert asm["client_id_metadata_document_supported"] is True
	assert "client_secret_basic" not in asm["token_endpoint_auth_methods_supported"]
	assert o.protected_resource_metadata_url("https://e.x") == (
		"https://e.x/.well-known/oauth-protected-resource" + ENDPOINT
	)


def test_www_authenticate_names_the_metadata_first():
	value = o.www_authenticate("site", resource_metadata="https://e.x/.well-known/oauth-protected-resource/p")
	assert value.startswith('Bearer realm="site", resource_metadata="https://e.x/.well-known/')
	assert 'scope="mcp"' in value
	assert value.endswith('Token realm="site"')
	err = o.www_authenticate(
		"site", resource_metadata="https://e.x/m", error="invalid_token", error_description='bad "token"\n'
	)
	assert 'error="invalid_token"' in err and 'error_description="bad token"' in err
	assert o.www_authenticate("site") == 'Token realm="site"'  # OAuth off: API keys only


# ------------------------------------------------------------------ scopes


def test_token_access():
	assert o.token_access("mcp") == "full"
	assert o.token_access("mcp:read mcp") == "full"
	assert o.token_access(["mcp:read"]) == "read"
	assert o.token_access("all openid") is None
	assert o.token_access(None) is None


def test_grantable_scopes():
	assert o.grantable_scopes(None, "mcp mcp:read") == ["mcp", "mcp:read"]
	assert o.grantable_scopes("mcp:read", "mcp") == ["mcp:read"]  # mcp includes mcp:read
	assert o.grantable_scopes("claudeai mcp", "mcp") == ["mcp"]  # unknown scopes are left out
	assert o.grantable_scopes("openid", "mcp:read") == ["mcp:read"]
	with pytest.raises(o.OAuthProblem) as e:
		o.grantable_scopes("mcp", "mcp:read")
	assert e.value.error == "invalid_scope"
	with pytest.raises(o.OAuthProblem):
		o.grantable_scopes(None, "all openid")  # a Frappe client that was never meant for MCP


# ------------------------------------------------------------------ redirect URIs


@pytest.mark.parametrize(
	"uri",
	[
		"https://claude.ai/api/mcp/auth_callback",
		"http://127.0.0.1/callback",
		"http://127.0.0.1:33418/",
		"http://localhost:6274/oauth/callback",
		"http://[::1]:8080/cb",
		"cursor://anysphere.cursor-retrieval/oauth/callback",
		"com.example.app:/oauth2redirect",
	],
)
def test_redirect_uris_accepted(uri):
	assert o.redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
	"uri",
	[
		"http://attacker.example/cb",
		"http://127.0.0.1.nip.io/cb",
		"javascript:alert(1)",
		"data:text/html,hi",
		"file:///etc/passwd",
		"https://ok.example/cb#frag",
		"https://user:pw@ok.example/cb",
		"https://ok.example/c b",
		"/relative/path",
		"https://",
		"",
		None,
		42,
	],
)
def test_redirect_uris_refused(uri):
	assert o.redirect_uri_problem(uri)


def test_loopback_redirects_match_on_any_port():
	registered = ["http://127.0.0.1/callback", "https://app.example/cb"]
	assert o.redirect_uri_allowed("http://127.0.0.1:51234/callback", registered)
	assert o.redirect_uri_allowed("http://127.0.0.1/callback", registered)
	assert o.redirect_uri_allowed("https://app.example/cb", registered)
	assert not o.redirect_uri_allowed("https://app.example:8443/cb", registered)  # not loopback
	assert not o.redirect_uri_allowed("http://127.0.0.1:51234/other", registered)
	assert not o.redirect_uri_allowed("http://localhost:51234/callback", registered)  # other host
	assert not o.redirect_uri_allowed("http://127.0.0.1:51234/callback?x=1", registered)
	assert not o.redirect_uri_allowed("http://127.0.0.1:51234/callback", ["https://app.example/cb"])


# ------------------------------------------------------------------ client metadata


def test_registration_defaults_and_normalisation():
	meta = o.parse_client_metadata({"redirect_uris": ["https://a.example/cb", "https://a.example/cb"]})
	assert meta.redirect_uris == ["https://a.example/cb"]
	assert meta.token_endpoint_auth_method == "client_secret_post"  # RFC 7591's basic, sent in the body
	assert meta.scopes == ["mcp", "mcp:read"]
	assert meta.client_name == "MCP client"
	public = o.parse_client_metadata(
		{
			"redirect_uris": ["http://127.0.0.1/cb"],
			"token_endpoint_auth_method": "none",
			"scope": "claudeai mcp:read",
			"client_name": "Agent\x00\n<b>",
			"grant_types": ["refresh_token", "authorization_code"],
		}
	)
	assert public.token_endpoint_auth_method == "none"
	assert public.scopes == ["mcp:read"]
	assert public.client_name == "Agentb"
	assert public.grant_types == ["authorization_code", "refresh_token"]
	assert public.registration_response()["scope"] == "mcp:read"


@pytest.mark.parametrize(
	"data, error",
	[
		([], "invalid_client_metadata"),
		({}, "invalid_redirect_uri"),
		({"redirect_uris": "https://a.example/cb"}, "invalid_redirect_uri"),
		({"redirect_uris": ["http://a.example/cb"]}, "invalid_redirect_uri"),
		({"redirect_uris": [f"https://a.example/{i}" for i in range(30)]}, "invalid_redirect_uri"),
		({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}, "invalid_client_metadata"),
		(
			{"redirect_uris": ["https://a.example/cb"], "grant_types": ["refresh_token"]},
			"invalid_client_metadata",
		),
		({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}, "invalid_client_metadata"),
		(
			{"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
			"invalid_client_metadata",
		),
	],
)
def test_registration_refusals(data, error):
	with pytest.raises(o.OAuthProblem) as e:
		o.parse_client_metadata(data)
	assert e.value.error == error


def test_metadata_document_rules():
	url = "https://client.example/oauth/metadata.json"
	doc = {"client_id": url, "client_name": "C", "redirect_uris": ["https://client.example/cb"]}
	assert o.parse_client_metadata(doc, document_url=url).token_endpoint_auth_method == "none"
	for bad in (
		{**doc, "client_id": "https://client.example/other.json"},
		{**doc, "token_endpoint_auth_method": "client_secret_post"},
		{**doc, "client_secret": "s"},
	):
		with pytest.raises(o.OAuthProblem):
			o.parse_client_metadata(bad, document_url=url)


@pytest.mark.parametrize(
	"url, loopback_ok, ok",
	[
		("https://claude.ai/oauth/mcp-oauth-client-metadata", False, True),
		("https://client.example/", False, False),  # needs a path
		("https://client.example", False, False),
		("http://client.example/meta.json", False, False),
		("http://127.0.0.1:8000/meta.json", False, False),
		("http://127.0.0.1:8000/meta.json", True, True),
		("http://10.0.0.1/meta.json", True, False),
		("https://client.example/a/../meta.json", False, False),
		("https://client.example/meta.json#x", False, False),
		("https://u:p@client.example/meta.json", False, False),
		("https://client.example/" + "a" * 600, False, False),
	],
)
def test_client_id_url_rules(url, loopback_ok, ok):
	assert (o.client_id_url_problem(url, allow_http_loopback=loopback_ok) is None) is ok


@pytest.mark.parametrize(
	"address, ok",
	[
		("93.184.216.34", True),
		("2606:4700:4700::1111", True),
		("10.0.0.5", False),
		("172.16.3.4", False),
		("192.168.1.1", False),
		("169.254.169.254", False),  # cloud metadata service
		("100.64.0.1", False),
		("127.0.0.1", False),
		("::1", False),
		("::ffff:10.0.0.1", False),
		("fd00::1", False),
		("224.0.0.1", False),
		("0.0.0.0", False),
		("not-an-ip", False),
	],
)
def test_address_allowed(address, ok):
	assert o.address_allowed(address) is ok


def test_loopback_address_only_in_test_mode():
	assert o.address_allowed("127.0.0.1", allow_loopback=True)
	assert not o.address_allowed("10.0.0.1", allow_loopback=True)


# ------------------------------------------------------------------ the guarded fetch


class _Handler(BaseHTTPRequestHandler):
	routes: ClassVar[dict] = {}

	def do_GET(self):
		status, headers, body = self.routes.get(self.path, (404, {}, b""))
		self.send_response(status)
		for k, v in headers.items():
			self.send_header(k, v)
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)

	def log_message(self, *args):
		pass


@pytest.fixture
def metadata_server():
	server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	thread.start()
	yield f"http://127.0.0.1:{server.server_address[1]}", _Handler.routes
	server.shutdown()


def test_fetch_a_document(metadata_server):
	base, routes = metadata_server
	url = f"{base}/client.json"
	routes["/client.json"] = (
		200,
		{"Content-Type": "application/json"},
		json.dumps({"client_id": url}).encode(),
	)
	assert o.fetch_client_metadata_document(url, allow_http_loopback=True) == {"client_id": url}
	with pytest.raises(o.OAuthProblem):
		o.fetch_client_metadata_document(url)  # loopback http only in test mode


@pytest.mark.parametrize(
	"route, reason",
	[
		((302, {"Location": "http://169.254.169.254/"}, b""), "302"),
		((200, {}, b"x" * (o.MAX_METADATA_BYTES + 10)), "larger"),
		((200, {}, b"<html>"), "not valid JSON"),
		((200, {}, b"[1, 2]"), "not a JSON object"),
		((500, {}, b"{}"), "500"),
	],
)
def test_fetch_refusals(metadata_server, route, reason):
	base, routes = metadata_server
	routes["/bad.json"] = route
	with pytest.raises(o.OAuthProblem) as e:
		o.fetch_client_metadata_document(f"{base}/bad.json", allow_http_loopback=True)
	assert reason in str(e.value)


def test_fetch_refuses_a_name_that_resolves_to_a_private_address():
	calls = []

	def resolve(host, port, **kw):
		calls.append(host)
		return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

	with pytest.raises(o.OAuthProblem) as e:
		o.fetch_client_metadata_document("https://innocent.example/meta.json", resolve=resolve)
	assert "10.1.2.3" in str(e.value) and calls == ["innocent.example"]


def test_fetch_refuses_when_any_address_is_private():
	def resolve(host, port, **kw):
		return [
			(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
			(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.10", port)),
		]

	with pytest.raises(o.OAuthProblem):
		o.fetch_client_metadata_document("https://mixed.example/meta.json", resolve=resolve)


# ------------------------------------------------------------------ mcp:read narrows the policy


def _policy():
	return resolve(
		[
			Profile(
				"Sales",
				(
					Rule("Customer", frozenset({"read", "create", "update"})),
					Rule("Sales Order", frozenset({"create"})),
				),
			)
		]
	)


def test_read_scope_narrows_to_read():
	base = _policy()
	scoped = narrow(base, o.READ_OPERATIONS, "mcp:read")
	assert isinstance(scoped, ScopedPolicy)
	assert scoped.check_operation("read", "Customer").allowed
	denied = scoped.check_operation("create", "Customer")
	assert not denied.allowed and denied.layer == LAYER_TOKEN_SCOPE
	assert "mcp:read" in denied.reason and '"mcp"' in denied.reason
	assert scoped.doctypes() == ["Customer"]  # Sales Order had only create
	assert scoped.summary("Customer")["operations"]["update"] is False
	assert not scoped.explain("update", "Customer").allowed
	# The profile still decides what a read may see.
	assert not scoped.check_operation("read", "Supplier").allowed
	assert scoped.check_operation("read", "Supplier").layer != LAYER_TOKEN_SCOPE


def test_full_scope_leaves_the_policy_alone():
	base = _policy()
	assert narrow(base, None, "mcp") is base
