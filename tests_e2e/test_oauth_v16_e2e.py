"""OAuth sign-in on Frappe v16, over HTTP, the way a hosted or desktop MCP client does it there.

Frappe v16 publishes its own OAuth provider: it answers the 401 challenge, /.well-known/oauth-
protected-resource and /.well-known/oauth-authorization-server, and its authorize, token and
revocation endpoints. This app adds what v16 lacks and keeps its own checks at the endpoint:
registration of loopback redirect URIs with the MCP scopes (Frappe's registration endpoint, answered
by the app), PKCE S256 for MCP clients, tokens bound to this resource, the scope check and tokens
confined to the MCP endpoint. (On v15 the app is the whole provider: test_oauth_e2e.py.)
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests_e2e.test_oauth_e2e import ACCEPT, INITIALIZE, http_client, login, mcp, pkce, signed_in

pytestmark = pytest.mark.skipif(
	int(os.environ.get("ERPNEXT_MCP_FRAPPE_MAJOR") or 0) < 16,
	reason="Frappe v15 has no OAuth provider documents of its own (the app's: test_oauth_e2e.py)",
)


def origin_of(site) -> str:
	parts = urlsplit(site["url"])
	return f"{parts.scheme}://{parts.netloc}"


def discover(site) -> tuple[dict, dict]:
	with http_client(site) as http:
		r = http.post(site["url"], headers={"Accept": ACCEPT}, json=INITIALIZE)
		assert r.status_code == 401, r.text
		assert r.json()["error"]["code"] == -32001  # still a JSON-RPC answer
		challenge = r.headers["www-authenticate"]
		assert challenge.startswith("Bearer "), challenge
		metadata_url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1)
		assert metadata_url == f"{origin_of(site)}/.well-known/oauth-protected-resource"
		prm = http.get(metadata_url)
		assert prm.status_code == 200, prm.text
		prm = prm.json()
		assert prm["resource"] == origin_of(site)
		# The app keeps Frappe's document naming the MCP scopes, so clients ask for them.
		assert {"mcp", "mcp:read"} <= set(prm["scopes_supported"])
		issuer = prm["authorization_servers"][0]
		asm = http.get(f"{issuer}/.well-known/oauth-authorization-server")
		assert asm.status_code == 200, asm.text
		asm = asm.json()
		assert asm["issuer"] == issuer
		assert "S256" in asm["code_challenge_methods_supported"]
		assert asm["registration_endpoint"].endswith("/api/method/frappe.integrations.oauth2.register_client")
		return prm, asm


def register(site, asm, redirect_uri: str, scope: str = "mcp") -> dict:
	body = {
		"client_name": "OAuth v16 e2e client",
		"redirect_uris": [redirect_uri],
		"grant_types": ["authorization_code", "refresh_token"],
		"response_types": ["code"],
		"token_endpoint_auth_method": "none",
		"scope": scope,
	}
	with http_client(site) as http:
		r = http.post(asm["registration_endpoint"], json=body)
	assert r.status_code == 201, r.text
	client = r.json()
	assert "client_secret" not in client
	return client


def allow(browser: httpx.Client, asm, **params) -> httpx.Response:
	"""Frappe's confirmation page, and the user's "Allow" (the page's button follows success_url)."""
	r = browser.get(asm["authorization_endpoint"], params={"response_type": "code", **params})
	assert r.status_code == 200, r.text[:2000]
	found = re.search(r'window\.location\.replace\("([^"]*oauth2\.approve[^"]*)"\)', r.text)
	assert found, r.text[:2000]
	success = html.unescape(found.group(1)).replace("\\u0026", "&")
	return browser.get(f"{asm['issuer']}{success}")


def sign_in(site, asm, *, scope="mcp", port=None) -> tuple[dict, dict]:
	redirect_uri = f"http://127.0.0.1:{port or 49152 + secrets.randbelow(10000)}/callback"
	client = register(site, asm, redirect_uri, scope)
	verifier, challenge = pkce()
	state = secrets.token_urlsafe(12)
	with login(site, "oauth_sales") as browser:
		r = allow(
			browser,
			asm,
			client_id=client["client_id"],
			redirect_uri=redirect_uri,
			scope=scope,
			state=state,
			code_challenge=challenge,
			code_challenge_method="S256",
			resource=origin_of(site),
		)
	assert r.status_code in (301, 302, 303), r.text[:2000]
	location = r.headers["location"]
	assert location.startswith(redirect_uri + "?"), location
	query = parse_qs(urlsplit(location).query)
	assert query["state"] == [state]
	with http_client(site) as http:
		t = http.post(
			asm["token_endpoint"],
			data={
				"grant_type": "authorization_code",
				"code": query["code"][0],
				"redirect_uri": redirect_uri,
				"client_id": client["client_id"],
				"code_verifier": verifier,
				"resource": origin_of(site),
			},
		)
	assert t.status_code == 200, t.text
	return client, t.json()


@pytest.fixture(scope="module")
def discovered(site):
	return discover(site)


def test_sign_in_with_frappes_provider_then_mcp_as_that_user(site, discovered):
	_prm, asm = discovered
	client, tokens = sign_in(site, asm)
	assert tokens["scope"] == "mcp" and tokens["refresh_token"]

	async def as_the_user(access_token):
		async with signed_in(site, access_token) as s:
			conn = await s.call_tool("test_connection")
			assert conn.structuredContent["user"] == site["oauth_sales"]["user"]
			doc = await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			assert doc.isError is False, doc.text
			refused = await s.call_tool(
				"get_generic_document", {"doctype": "Supplier", "name": site["supplier"]}
			)
			assert refused.isError is True  # the user's ERPNext roles still apply

	asyncio.run(as_the_user(tokens["access_token"]))
	# Confined to the MCP endpoint: Frappe's REST API does not take an MCP token.
	with http_client(site) as http:
		rest = http.get(
			f"{asm['issuer']}/api/resource/Customer",
			headers={"Authorization": f"Bearer {tokens['access_token']}"},
		)
	assert rest.status_code in (401, 403), rest.text
	# Revoked with Frappe's revocation endpoint: refused at once.
	with http_client(site) as http:
		r = http.post(
			asm["revocation_endpoint"],
			data={
				"token": tokens["access_token"],
				"token_type_hint": "access_token",
				"client_id": client["client_id"],
			},
		)
	assert r.status_code == 200, r.text
	assert mcp(site, tokens["access_token"], INITIALIZE).status_code == 401


def test_read_scope_token_reads_but_cannot_write(site, discovered):
	_prm, asm = discovered
	_client, tokens = sign_in(site, asm, scope="mcp:read")
	assert tokens["scope"] == "mcp:read"

	async def go():
		async with signed_in(site, tokens["access_token"]) as s:
			names = {t["name"] for t in await s.list_tools()}
			assert "list_generic_documents" in names
			assert not {n for n in names if n.startswith(("create_", "update_", "delete_"))}, names
			refused = await s.call_tool(
				"create_generic_document", {"doctype": "Customer", "values": {"customer_name": "Nope"}}
			)
			assert refused.isError is True

	asyncio.run(go())


def test_a_code_without_pkce_is_refused_for_an_mcp_client(site, discovered):
	_prm, asm = discovered
	redirect_uri = "http://127.0.0.1:50011/callback"
	client = register(site, asm, redirect_uri)
	with login(site, "oauth_sales") as browser:
		r = browser.get(
			asm["authorization_endpoint"],
			params={
				"response_type": "code",
				"client_id": client["client_id"],
				"redirect_uri": redirect_uri,
				"scope": "mcp",
				"state": "s",
			},
		)
		found = re.search(r'window\.location\.replace\("([^"]*oauth2\.approve[^"]*)"\)', r.text)
		assert found, r.text[:2000]
		approved = browser.get(f"{asm['issuer']}{html.unescape(found.group(1))}")
	location = approved.headers.get("location", "")
	assert "code=" not in location, (approved.status_code, location, approved.text[:500])
	assert "PKCE" in approved.text or "error" in location, (
		approved.status_code,
		location,
		approved.text[:500],
	)


def test_registration_keeps_the_apps_rules(site, discovered):
	_prm, asm = discovered
	with http_client(site) as http:
		for bad in (
			{"redirect_uris": ["http://attacker.example/cb"]},
			{"redirect_uris": ["javascript:alert(1)"]},
			{"redirect_uris": []},
		):
			r = http.post(asm["registration_endpoint"], json={"client_name": "bad", **bad})
			assert r.status_code == 400, (bad, r.text)
