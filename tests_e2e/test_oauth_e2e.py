"""OAuth 2.1 sign-in over HTTP against the running site, done the way a hosted MCP client does it:
discovery from the endpoint's 401, Protected Resource and Authorization Server metadata, registration
(Dynamic Client Registration, or a Client ID Metadata Document served from 127.0.0.1), Frappe's login
as a real user, authorize with PKCE S256 + resource + state, the user's "Allow", the code from the
loopback redirect, the token, MCP calls as that user with the real `mcp` client, refresh, revocation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.clients import connect

# Frappe v16 publishes its own provider (documents, authorize, token): test_oauth_v16_e2e.py walks that.
pytestmark = pytest.mark.skipif(
	int(os.environ.get("ERPNEXT_MCP_FRAPPE_MAJOR") or 0) >= 16,
	reason="on Frappe v16 MCP clients sign in with Frappe's own provider (test_oauth_v16_e2e.py); "
	"these tests walk the app's own v15 provider",
)

ACCEPT = "application/json, text/event-stream"
INITIALIZE = {
	"jsonrpc": "2.0",
	"id": 1,
	"method": "initialize",
	"params": {
		"protocolVersion": "2025-06-18",
		"capabilities": {},
		"clientInfo": {"name": "oauth-e2e", "version": "1"},
	},
}


# ------------------------------------------------------------------ a small OAuth client


def b64url(data: bytes) -> str:
	return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce() -> tuple[str, str]:
	verifier = b64url(secrets.token_bytes(48))
	return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


class _Form(HTMLParser):
	def __init__(self):
		super().__init__()
		self.action = None
		self.fields: dict[str, str] = {}

	def handle_starttag(self, tag, attrs):
		a = dict(attrs)
		if tag == "form" and a.get("method", "").lower() == "post":
			self.action = a.get("action")
		if tag == "input" and a.get("type") == "hidden":
			self.fields[a["name"]] = a.get("value", "")


def http_client(site, **kw) -> httpx.Client:
	return httpx.Client(
		headers={"X-Frappe-Site-Name": site["host"]}, follow_redirects=False, timeout=60, **kw
	)


def discover(site) -> tuple[dict, dict]:
	"""What a client learns from nothing but the endpoint URL."""
	with http_client(site) as http:
		r = http.post(site["url"], headers={"Accept": ACCEPT}, json=INITIALIZE)
		assert r.status_code == 401, r.text
		challenge = r.headers["www-authenticate"]
		assert challenge.startswith("Bearer "), challenge  # several clients read only the first challenge
		assert 'scope="mcp"' in challenge
		metadata_url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1)
		assert metadata_url.endswith(
			"/.well-known/oauth-protected-resource/api/method/erpnext_mcp.api.mcp.handle"
		)
		prm = http.get(metadata_url)
		assert prm.status_code == 200, prm.text
		prm = prm.json()
		assert prm["resource"] == site["url"]
		assert set(prm["scopes_supported"]) == {"mcp", "mcp:read"}
		issuer = prm["authorization_servers"][0]
		asm = http.get(f"{issuer}/.well-known/oauth-authorization-server")
		assert asm.status_code == 200, asm.text
		asm = asm.json()
		assert asm["issuer"] == issuer
		assert "S256" in asm["code_challenge_methods_supported"]
		return prm, asm


def register(site, asm, **metadata) -> dict:
	body = {
		"client_name": "OAuth e2e client",
		"redirect_uris": ["http://127.0.0.1/callback"],
		"grant_types": ["authorization_code", "refresh_token"],
		"response_types": ["code"],
		"token_endpoint_auth_method": "none",
		"scope": "mcp",
		**metadata,
	}
	with http_client(site) as http:
		r = http.post(asm["registration_endpoint"], json=body)
	assert r.status_code == 201, r.text
	return r.json()


@contextlib.contextmanager
def login(site, who: str):
	"""A browser session: Frappe's own login as a real user."""
	with http_client(site) as http:
		origin = f"{urlsplit(site['url']).scheme}://{urlsplit(site['url']).netloc}"
		r = http.post(
			f"{origin}/api/method/login", data={"usr": site[who]["user"], "pwd": site[who]["password"]}
		)
		assert r.status_code == 200, r.text
		yield http


def authorize(browser: httpx.Client, asm, *, decision="allow", **params) -> httpx.Response:
	"""GET the authorization endpoint, then answer the confirmation page like the user would."""
	r = browser.get(asm["authorization_endpoint"], params={"response_type": "code", **params})
	if r.status_code != 200:
		return r
	form = _Form()
	form.feed(r.text)
	assert form.action, r.text[:2000]
	assert "csrf_token" in form.fields
	origin = f"{urlsplit(asm['issuer']).scheme}://{urlsplit(asm['issuer']).netloc}"
	return browser.post(f"{origin}{form.action}", data={**form.fields, "decision": decision})


def code_from(response: httpx.Response, redirect_uri: str, state: str) -> str:
	assert response.status_code == 302, response.text[:2000]
	location = response.headers["location"]
	assert location.startswith(redirect_uri + "?"), location
	query = parse_qs(urlsplit(location).query)
	assert query["state"] == [state]
	assert "error" not in query, query
	return query["code"][0]


def token_request(site, asm, **form) -> httpx.Response:
	# The token endpoint is called without any cookie, as a client does.
	with http_client(site) as http:
		return http.post(asm["token_endpoint"], data=form)


def mcp(site, access_token: str, body: dict) -> httpx.Response:
	with http_client(site) as http:
		return http.post(
			site["url"],
			headers={
				"Accept": ACCEPT,
				"Authorization": f"Bearer {access_token}",
				"MCP-Protocol-Version": "2025-06-18",
			},
			json=body,
		)


def signed_in(site, access_token: str):
	return connect(
		site["url"], {"Authorization": f"Bearer {access_token}", "X-Frappe-Site-Name": site["host"]}
	)


def full_sign_in(site, asm, client_id: str, who="oauth_sales", scope="mcp", redirect_port=53682):
	redirect_uri = f"http://127.0.0.1:{redirect_port}/callback"
	verifier, challenge = pkce()
	state = secrets.token_urlsafe(12)
	with login(site, who) as browser:
		answer = authorize(
			browser,
			asm,
			client_id=client_id,
			redirect_uri=redirect_uri,
			scope=scope,
			state=state,
			code_challenge=challenge,
			code_challenge_method="S256",
			resource=site["url"],
		)
	code = code_from(answer, redirect_uri, state)
	r = token_request(
		site,
		asm,
		grant_type="authorization_code",
		code=code,
		redirect_uri=redirect_uri,
		client_id=client_id,
		code_verifier=verifier,
		resource=site["url"],
	)
	assert r.status_code == 200, r.text
	assert r.headers.get("cache-control") == "no-store"
	return r.json()


@pytest.fixture(scope="module")
def discovered(site):
	return discover(site)


# ------------------------------------------------------------------ the whole flow


def test_whole_flow_with_dynamic_client_registration(site, discovered):
	_prm, asm = discovered
	client = register(site, asm)
	assert "client_secret" not in client  # a public client: PKCE is its proof
	assert client["token_endpoint_auth_method"] == "none"

	# The registered loopback redirect has no port; the desktop client listens on whatever port it got.
	tokens = full_sign_in(site, asm, client["client_id"], redirect_port=49152 + secrets.randbelow(10000))
	assert tokens["token_type"].lower() == "bearer"
	assert tokens["scope"] == "mcp"
	assert tokens["expires_in"] > 0 and tokens["refresh_token"]

	async def as_the_user(access_token):
		async with signed_in(site, access_token) as s:
			conn = await s.call_tool("test_connection")
			assert conn.structuredContent["user"] == site["oauth_sales"]["user"]
			doc = await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			assert doc.isError is False, doc.text
			refused = await s.call_tool(
				"get_generic_document", {"doctype": "Supplier", "name": site["supplier"]}
			)
			assert refused.isError is True  # the sales user's ERPNext roles still apply

	asyncio.run(as_the_user(tokens["access_token"]))

	# The token is for the MCP endpoint only: Frappe's REST API refuses it.
	with http_client(site) as http:
		origin = asm["issuer"]
		rest = http.get(
			f"{origin}/api/resource/Customer", headers={"Authorization": f"Bearer {tokens['access_token']}"}
		)
	assert rest.status_code in (401, 403), rest.text

	# Refresh: a new pair; the old pair stops working (rotation).
	r = token_request(
		site,
		asm,
		grant_type="refresh_token",
		refresh_token=tokens["refresh_token"],
		client_id=client["client_id"],
	)
	assert r.status_code == 200, r.text
	fresh = r.json()
	assert fresh["access_token"] != tokens["access_token"]
	assert fresh["refresh_token"] != tokens["refresh_token"]
	old = mcp(site, tokens["access_token"], INITIALIZE)
	assert old.status_code == 401
	assert 'error="invalid_token"' in old.headers["www-authenticate"]
	again = token_request(
		site,
		asm,
		grant_type="refresh_token",
		refresh_token=tokens["refresh_token"],
		client_id=client["client_id"],
	)
	assert again.status_code in (400, 401) and again.json()["error"] == "invalid_grant"
	assert mcp(site, fresh["access_token"], INITIALIZE).status_code == 200

	# Revocation: refused at once, and its refresh token with it.
	with http_client(site) as http:
		r = http.post(
			asm["revocation_endpoint"],
			data={
				"token": fresh["access_token"],
				"token_type_hint": "access_token",
				"client_id": client["client_id"],
			},
		)
	assert r.status_code == 200, r.text
	refused = mcp(site, fresh["access_token"], INITIALIZE)
	assert refused.status_code == 401
	challenge = refused.headers["www-authenticate"]
	assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
	assert "resource_metadata=" in challenge
	assert refused.json()["error"]["code"] == -32001
	r = token_request(
		site,
		asm,
		grant_type="refresh_token",
		refresh_token=fresh["refresh_token"],
		client_id=client["client_id"],
	)
	assert r.status_code in (400, 401) and r.json()["error"] == "invalid_grant"


def test_signed_out_user_is_sent_to_the_login_page(site, discovered):
	_prm, asm = discovered
	client = register(site, asm)
	_verifier, challenge = pkce()
	with http_client(site) as http:
		r = http.get(
			asm["authorization_endpoint"],
			params={
				"response_type": "code",
				"client_id": client["client_id"],
				"redirect_uri": "http://127.0.0.1:50000/callback",
				"code_challenge": challenge,
				"code_challenge_method": "S256",
				"state": "s",
			},
		)
	assert r.status_code == 302
	assert r.headers["location"].startswith("/login?redirect-to=")


def test_denying_access_returns_access_denied(site, discovered):
	_prm, asm = discovered
	_verifier, challenge = pkce()
	redirect_uri = "http://localhost:8765/cb"
	client = register(site, asm, redirect_uris=[redirect_uri])
	with login(site, "oauth_sales") as browser:
		r = authorize(
			browser,
			asm,
			decision="deny",
			client_id=client["client_id"],
			redirect_uri=redirect_uri,
			state="xyz",
			code_challenge=challenge,
			code_challenge_method="S256",
			resource=site["url"],
		)
	assert r.status_code == 302
	query = parse_qs(urlsplit(r.headers["location"]).query)
	assert query["error"] == ["access_denied"] and query["state"] == ["xyz"]


def test_pkce_code_and_resource_rules(site, discovered):
	_prm, asm = discovered
	client = register(site, asm)
	redirect_uri = "http://127.0.0.1:50001/callback"
	verifier, challenge = pkce()
	with login(site, "oauth_sales") as browser:
		common = {
			"client_id": client["client_id"],
			"redirect_uri": redirect_uri,
			"state": "st",
			"code_challenge": challenge,
		}
		# PKCE is required, and only S256.
		r = browser.get(
			asm["authorization_endpoint"],
			params={"response_type": "code", **common, "code_challenge_method": "plain"},
		)
		assert r.status_code == 302 and "error=invalid_request" in r.headers["location"]
		# A resource other than this MCP endpoint.
		r = browser.get(
			asm["authorization_endpoint"],
			params={
				"response_type": "code",
				**common,
				"code_challenge_method": "S256",
				"resource": "https://elsewhere.example/mcp",
			},
		)
		assert r.status_code == 302 and "error=invalid_target" in r.headers["location"]
		# A redirect URI that was never registered: no redirect at all, an error page.
		r = browser.get(
			asm["authorization_endpoint"],
			params={
				"response_type": "code",
				**common,
				"code_challenge_method": "S256",
				"redirect_uri": "https://evil.example/cb",
			},
		)
		assert r.status_code == 400 and "location" not in r.headers
		code = code_from(
			authorize(browser, asm, **common, code_challenge_method="S256", resource=site["url"]),
			redirect_uri,
			"st",
		)
	base = {"grant_type": "authorization_code", "code": code, "client_id": client["client_id"]}
	wrong = token_request(site, asm, **base, redirect_uri=redirect_uri, code_verifier=pkce()[0])
	assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
	other_port = token_request(
		site, asm, **base, redirect_uri="http://127.0.0.1:50002/callback", code_verifier=verifier
	)
	assert other_port.status_code == 400  # the token request must repeat the exact redirect URI
	other_resource = token_request(
		site,
		asm,
		**base,
		redirect_uri=redirect_uri,
		code_verifier=verifier,
		resource="https://elsewhere.example/mcp",
	)
	assert other_resource.status_code == 400 and other_resource.json()["error"] == "invalid_target"
	ok = token_request(site, asm, **base, redirect_uri=redirect_uri, code_verifier=verifier)
	assert ok.status_code == 200, ok.text
	replay = token_request(site, asm, **base, redirect_uri=redirect_uri, code_verifier=verifier)
	assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_read_scope_token_reads_but_cannot_write(site, discovered):
	_prm, asm = discovered
	client = register(site, asm, scope="mcp:read")
	tokens = full_sign_in(site, asm, client["client_id"], scope="mcp:read")
	assert tokens["scope"] == "mcp:read"

	async def go():
		async with signed_in(site, tokens["access_token"]) as s:
			names = {t["name"] for t in await s.list_tools()}
			assert "list_generic_documents" in names
			assert not {n for n in names if n.startswith(("create_", "update_", "delete_"))}, names
			doc = await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			assert doc.isError is False
			refused = await s.call_tool(
				"create_generic_document", {"doctype": "Customer", "values": {"customer_name": "Nope"}}
			)
			assert refused.isError is True

	asyncio.run(go())


def test_registration_refuses_unsafe_metadata(site, discovered):
	_prm, asm = discovered
	with http_client(site) as http:
		for bad in (
			{"redirect_uris": ["http://attacker.example/cb"]},
			{"redirect_uris": ["javascript:alert(1)"]},
			{"redirect_uris": ["https://ok.example/cb#frag"]},
			{"redirect_uris": []},
			{"redirect_uris": ["https://ok.example/cb"], "grant_types": ["password"]},
		):
			r = http.post(asm["registration_endpoint"], json={"client_name": "bad", **bad})
			assert r.status_code == 400, (bad, r.text)
			assert r.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")
		# CORS for browser-based clients (MCP Inspector runs the OAuth flow in the browser).
		pre = http.options(
			asm["token_endpoint"],
			headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"},
		)
		assert pre.headers.get("access-control-allow-origin") == "*"


# ------------------------------------------------------------------ Client ID Metadata Documents


class _MetadataHandler(BaseHTTPRequestHandler):
	document: bytes = b""

	def do_GET(self):
		self.send_response(200)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(self.document)))
		self.end_headers()
		self.wfile.write(self.document)

	def log_message(self, *args):
		pass


@pytest.fixture
def metadata_document():
	server = ThreadingHTTPServer(("127.0.0.1", 0), _MetadataHandler)
	url = f"http://127.0.0.1:{server.server_address[1]}/oauth/client-metadata.json"
	_MetadataHandler.document = json.dumps(
		{
			"client_id": url,
			"client_name": "CIMD e2e client",
			"redirect_uris": ["http://127.0.0.1/callback"],
			"grant_types": ["authorization_code", "refresh_token"],
			"response_types": ["code"],
			"token_endpoint_auth_method": "none",
		}
	).encode()
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	thread.start()
	yield url
	server.shutdown()


def test_whole_flow_with_a_client_id_metadata_document(site, discovered, metadata_document):
	_prm, asm = discovered
	assert asm["client_id_metadata_document_supported"] is True
	tokens = full_sign_in(site, asm, metadata_document, who="oauth_buyer", redirect_port=50123)

	async def go():
		async with signed_in(site, tokens["access_token"]) as s:
			conn = await s.call_tool("test_connection")
			assert conn.structuredContent["user"] == site["oauth_buyer"]["user"]
			ok = await s.call_tool("get_generic_document", {"doctype": "Supplier", "name": site["supplier"]})
			assert ok.isError is False

	asyncio.run(go())
	r = token_request(
		site,
		asm,
		grant_type="refresh_token",
		refresh_token=tokens["refresh_token"],
		client_id=metadata_document,
	)
	assert r.status_code == 200, r.text
	with http_client(site) as http:
		r = http.post(
			asm["revocation_endpoint"],
			data={
				"token": r.json()["refresh_token"],
				"token_type_hint": "refresh_token",
				"client_id": metadata_document,
			},
		)
	assert r.status_code == 200


# ------------------------------------------------------------------ behind a reverse proxy, a real client


class _ReverseProxy(BaseHTTPRequestHandler):
	"""A reverse proxy on another port, the way nginx fronts a bench: it names the site for Frappe and
	tells it, in X-Forwarded-Proto/Host, which URL the client used."""

	upstream = ""
	site_name = ""
	protocol_version = "HTTP/1.1"

	def _forward(self):
		body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
		drop = {"host", "connection", "content-length", "accept-encoding", "keep-alive", "transfer-encoding"}
		headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
		headers.update(
			{
				"X-Frappe-Site-Name": self.site_name,
				"X-Forwarded-Proto": "http",
				"X-Forwarded-Host": self.headers.get("Host", ""),
				"X-Forwarded-For": self.client_address[0],
				"Accept-Encoding": "identity",
			}
		)
		with httpx.Client(follow_redirects=False, timeout=120) as http:
			r = http.request(self.command, self.upstream + self.path, headers=headers, content=body)
		self.send_response(r.status_code)
		for key, value in r.headers.multi_items():
			if key.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
				self.send_header(key, value)
		self.send_header("Content-Length", str(len(r.content)))
		self.end_headers()
		self.wfile.write(r.content)

	do_GET = do_POST = do_OPTIONS = do_DELETE = _forward

	def log_message(self, *args):
		pass


@pytest.fixture
def proxied(site):
	parts = urlsplit(site["url"])
	handler = type(
		"Proxy", (_ReverseProxy,), {"upstream": f"{parts.scheme}://{parts.netloc}", "site_name": site["host"]}
	)
	server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	thread.start()
	yield {**site, "url": f"http://127.0.0.1:{server.server_address[1]}{parts.path}"}
	server.shutdown()


def _inspector_bin() -> str:
	"""MCP Inspector 2.x as tests_e2e/test_http_e2e.py installs it (npm registry, Node 22)."""
	if shutil.which("npm") is None:
		pytest.fail("npm is not installed: MCP Inspector cannot run")
	folder = os.path.join(os.environ.get("ERPNEXT_MCP_STATE", "/tmp"), "inspector")
	os.makedirs(folder, exist_ok=True)
	bin_dir = os.path.join(folder, "node_modules", ".bin")
	if not os.path.exists(os.path.join(bin_dir, "mcp-inspector")) or not os.path.exists(
		os.path.join(bin_dir, "node")
	):
		subprocess.run(
			["npm", "install", "--no-audit", "--no-fund", "node@22", "@modelcontextprotocol/inspector@2"],
			cwd=folder,
			check=True,
			capture_output=True,
			timeout=600,
		)
	return bin_dir


def _free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def test_metadata_behind_a_reverse_proxy_names_the_public_url(proxied):
	prm, asm = discover(proxied)  # every URL in them is the proxy's, port included
	assert prm["resource"] == proxied["url"]
	assert asm["issuer"] == f"http://{urlsplit(proxied['url']).netloc}"
	assert asm["token_endpoint"].startswith(asm["issuer"] + "/api/method/")


def test_mcp_inspector_signs_in_through_the_proxy_with_oauth(proxied):
	"""The real MCP Inspector CLI (the TypeScript SDK's OAuth client) against the site behind a reverse
	proxy: it discovers, registers itself, prints the authorization URL and waits on its loopback
	callback; the test plays the user's browser (Frappe login, Allow); the Inspector takes the code,
	gets a token and calls a tool as that user."""
	bin_dir = _inspector_bin()
	callback = f"http://127.0.0.1:{_free_port()}/oauth/callback"
	home = tempfile.mkdtemp(prefix="inspector-home-")
	env = {
		**os.environ,
		"PATH": bin_dir + os.pathsep + os.environ["PATH"],
		"HOME": home,
		"MCP_AUTO_OPEN_ENABLED": "true",  # "open" the URL without a TTY...
		"BROWSER": "/bin/true",  # ...in a browser that does nothing: this test is the browser
		"MCP_INSPECTOR_SECRET_STORE": "memory",
	}
	command = [
		os.path.join(bin_dir, "mcp-inspector"),
		"--cli",
		proxied["url"],
		"--transport",
		"http",
		"--method",
		"tools/call",
		"--tool-name",
		"test_connection",
		"--callback-url",
		callback,
	]
	process = subprocess.Popen(
		command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=home
	)
	try:
		seen, url = [], None
		for line in process.stdout:
			seen.append(line)
			found = re.search(r"(https?://\S+/api/method/erpnext_mcp\.api\.oauth\.authorize\?\S+)", line)
			if found:
				url = found.group(1)
				break
		assert url, "".join(seen)[-3000:]
		query = parse_qs(urlsplit(url).query)
		assert query["resource"] == [proxied["url"]]
		assert query["code_challenge_method"] == ["S256"]
		with login(proxied, "oauth_sales") as browser:
			form = _Form()
			page = browser.get(url)
			assert page.status_code == 200, page.text[:2000]
			form.feed(page.text)
			issuer = f"http://{urlsplit(proxied['url']).netloc}"
			answer = browser.post(f"{issuer}{form.action}", data={**form.fields, "decision": "allow"})
		assert answer.status_code == 302 and answer.headers["location"].startswith(callback + "?")
		httpx.get(answer.headers["location"], timeout=60)  # the browser lands on the Inspector's listener
		out, _ = process.communicate(timeout=180)
	finally:
		if process.poll() is None:
			process.kill()
	assert process.returncode == 0, "".join(seen)[-2000:] + out[-3000:]
	result = json.loads(out[out.index("{") :])
	assert result["isError"] is False
	assert result["structuredContent"]["user"] == proxied["oauth_sales"]["user"]
