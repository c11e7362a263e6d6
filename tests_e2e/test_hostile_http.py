"""Hostile authentication and transport over real HTTP, where Frappe's own auth runs first. Each case
sends a write that would create a uniquely named Customer and then checks, as a legitimate user, that
nothing was created; answers are JSON-RPC, never a Frappe page or a traceback."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

ACCEPT = "application/json, text/event-stream"


def probe_body(marker: str) -> dict:
	return {
		"jsonrpc": "2.0",
		"id": 7,
		"method": "tools/call",
		"params": {
			"name": "create_generic_document",
			"arguments": {
				"doctype": "Customer",
				"values": {"customer_name": marker, "customer_type": "Company"},
			},
		},
	}


def base_headers(site, **extra):
	return {
		"Accept": ACCEPT,
		"Content-Type": "application/json",
		"X-Frappe-Site-Name": site["host"],
		"MCP-Protocol-Version": "2025-06-18",
		**extra,
	}


def created(site, marker) -> bool:
	body = {
		"jsonrpc": "2.0",
		"id": 1,
		"method": "tools/call",
		"params": {
			"name": "list_generic_documents",
			"arguments": {"doctype": "Customer", "filters": {"customer_name": marker}},
		},
	}
	r = httpx.post(site["url"], headers=base_headers(site, Authorization=site["sales"]), json=body)
	return bool(r.json()["result"]["structuredContent"]["documents"])


def CASES(site):
	key, secret = site["sales"].split(" ", 1)[1].split(":")
	return [
		("missing credentials", {}, None, 401),
		("wrong secret", {"Authorization": f"token {key}:wrong"}, None, 401),
		("unknown key", {"Authorization": "token nosuchkey:nosuchsecret"}, None, 401),
		("token without colon", {"Authorization": f"token {key}{secret}"}, None, 401),
		("token with extra parts", {"Authorization": f"token {key}:{secret}:x"}, None, 401),
		("basic with bad base64", {"Authorization": "Basic !!!notbase64"}, None, 401),
		(
			"basic with wrong secret",
			{"Authorization": "Basic " + base64.b64encode(f"{key}:nope".encode()).decode()},
			None,
			401,
		),
		("bearer garbage", {"Authorization": "Bearer garbage-token"}, None, 401),
		("three-part header", {"Authorization": f"token {key}:{secret} extra"}, None, 401),
		("disabled user", {"Authorization": site["disabled"]}, None, 401),
		("administrator key", {"Authorization": site["administrator"]}, None, 403),
		("token in the URL", {}, {"api_key": key, "api_secret": secret, "token": f"{key}:{secret}"}, 401),
		("foreign origin", {"Authorization": site["sales"], "Origin": "https://evil.example"}, None, 403),
		(
			"bad protocol version",
			{"Authorization": site["sales"], "MCP-Protocol-Version": "1999-01-01"},
			None,
			400,
		),
		("garbage session cookie", {"Cookie": "sid=garbage; user_id=Administrator"}, None, 401),
	]


@pytest.mark.parametrize("index", range(15))
def test_hostile_authentication(site, index):
	name, headers, query, status = CASES(site)[index]
	marker = f"MCP hostile {uuid.uuid4().hex[:10]}"
	r = httpx.post(site["url"], headers=base_headers(site, **headers), params=query, json=probe_body(marker))
	assert r.status_code == status, (name, r.status_code, r.text[:300])
	body = r.json()
	assert body["jsonrpc"] == "2.0" and "error" in body, name
	for leak in ("<html", "Traceback", "exc_type", "pymysql", "/opt/"):
		assert leak not in r.text, (name, leak)
	if status == 401:
		assert "www-authenticate" in r.headers, name
	assert not created(site, marker), f"{name}: the write went through"


def test_token_in_the_body_is_not_a_credential(site):
	key, secret = site["sales"].split(" ", 1)[1].split(":")
	marker = f"MCP hostile {uuid.uuid4().hex[:10]}"
	body = {**probe_body(marker), "api_key": key, "api_secret": secret, "authorization": site["sales"]}
	r = httpx.post(site["url"], headers=base_headers(site), json=body)
	assert r.status_code == 401
	assert not created(site, marker)


@pytest.mark.parametrize(
	"content,content_type,status",
	[
		(b'{"jsonrpc": "2.0", "id": 1,', "application/json", 400),
		(b"[" * 50_000 + b"]" * 50_000, "application/json", 400),
		(b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', "application/json", 400),
		(b"jsonrpc=2.0&method=ping", "application/x-www-form-urlencoded", (400, 415)),
	],
)
def test_hostile_transport(site, content, content_type, status):
	statuses = status if isinstance(status, tuple) else (status,)
	r = httpx.post(
		site["url"],
		headers=base_headers(site, Authorization=site["sales"], **{"Content-Type": content_type}),
		content=content,
	)
	assert r.status_code in statuses, r.text[:300]
	assert r.json()["jsonrpc"] == "2.0"
	assert "Traceback" not in r.text and "<html" not in r.text


def _call(site, name, arguments, token="sales"):
	body = {
		"jsonrpc": "2.0",
		"id": 1,
		"method": "tools/call",
		"params": {"name": name, "arguments": arguments},
	}
	r = httpx.post(site["url"], headers=base_headers(site, Authorization=site[token]), json=body, timeout=60)
	return r.json()["result"]


def test_concurrent_updates_with_the_same_read_give_one_winner_and_one_conflict(site):
	"""Two agents read the same Customer, then update it at the same moment, each saying which version
	it read: the row lock serialises them and the modified check turns the second into a conflict."""
	from concurrent.futures import ThreadPoolExecutor

	doc = _call(site, "get_generic_document", {"doctype": "Customer", "name": site["customer"]})
	modified = doc["structuredContent"]["document"]["modified"]

	def update(i):
		return _call(
			site,
			"update_generic_document",
			{
				"doctype": "Customer",
				"name": site["customer"],
				"values": {"customer_name": "MCP E2E Customer"},
				"expected_modified": modified,
			},
		)

	with ThreadPoolExecutor(max_workers=2) as pool:
		results = list(pool.map(update, range(2)))
	outcomes = sorted("error" if r.get("isError") else "ok" for r in results)
	assert outcomes == ["error", "ok"], results
	conflict = next(r for r in results if r.get("isError"))
	text = conflict["content"][0]["text"]
	assert "conflict" in text and '"retryable": true' in text


def test_concurrent_retries_of_one_create_make_one_document(site):
	from concurrent.futures import ThreadPoolExecutor

	marker = f"MCP retry {uuid.uuid4().hex[:10]}"
	args = {
		"doctype": "Customer",
		"values": {"customer_name": marker, "customer_type": "Company"},
		"idempotency_key": f"e2e-{uuid.uuid4().hex}",
	}
	with ThreadPoolExecutor(max_workers=3) as pool:
		results = list(pool.map(lambda _: _call(site, "create_generic_document", args), range(3)))
	names = {r["structuredContent"]["name"] for r in results if not r.get("isError")}
	assert len(names) == 1, results
	for r in results:
		if r.get("isError"):
			assert '"retryable": true' in r["content"][0]["text"]
	listed = _call(
		site, "list_generic_documents", {"doctype": "Customer", "filters": {"customer_name": marker}}
	)
	assert len(listed["structuredContent"]["documents"]) == 1
