"""Audit, rate limits and the read cache over real HTTP (gunicorn, several workers): requests Frappe
refuses before the endpoint runs (bad credentials, unparsable JSON) are on record too, the remote IP
behind a proxy, 429 with Retry-After across workers, a repeated read served from the cache. Records
are read back the way an auditor would: a System Manager's API key on /api/resource/MCP Audit Log."""

from __future__ import annotations

import json
import random
import time
import uuid

import httpx

ACCEPT = "application/json, text/event-stream"


def headers(site, marker: str, **extra) -> dict[str, str]:
	out = {
		"Accept": ACCEPT,
		"Content-Type": "application/json",
		"X-Frappe-Site-Name": site["host"],
		"MCP-Protocol-Version": "2025-06-18",
		"User-Agent": f"{marker}/1.0",
	}
	out.update({k: v for k, v in extra.items() if v is not None})
	return out


def new_ip() -> str:
	# Each request its own documentation-range address: the unauthenticated-flood bound is per IP.
	return f"198.51.{random.randrange(100, 114)}.{random.randrange(1, 255)}"


def audit_records(site, marker: str, expect: int = 0) -> list[dict]:
	"""The records of this test's requests, as an auditor reads them. A request that wrote nothing is
	recorded just after its answer was sent (Frappe's after_response): wait up to 5 s for `expect`."""
	deadline = time.monotonic() + 5
	while True:
		rows = _audit_records(site, marker)
		if len(rows) >= expect or time.monotonic() > deadline:
			return rows
		time.sleep(0.05)


def _audit_records(site, marker: str) -> list[dict]:
	base = site["url"].split("/api/method/")[0]
	r = httpx.get(
		f"{base}/api/resource/MCP Audit Log",
		params={
			"filters": json.dumps([["user_agent", "like", f"{marker}/%"]]),
			"fields": json.dumps(["*"]),
			"order_by": "creation asc",
			"limit_page_length": 100,
		},
		headers={"Authorization": site["auditor"], "X-Frappe-Site-Name": site["host"]},
	)
	assert r.status_code == 200, r.text
	return r.json()["data"]


def rpc(method: str, params: dict | None = None, id_: int = 1) -> dict:
	body = {"jsonrpc": "2.0", "id": id_, "method": method}
	if params is not None:
		body["params"] = params
	return body


def test_refused_and_malformed_requests_are_on_record_with_the_real_client_ip(site):
	marker = f"e2e-audit-{uuid.uuid4().hex[:12]}"
	ips = [new_ip() for _ in range(5)]
	sent = [
		# no credentials: the endpoint answers 401 itself
		httpx.post(
			site["url"], headers=headers(site, marker, **{"X-Forwarded-For": ips[0]}), json=rpc("tools/list")
		),
		# wrong credentials: Frappe refuses before the endpoint runs
		httpx.post(
			site["url"],
			headers=headers(
				site, marker, Authorization="token nosuchkey:nosuchsecret", **{"X-Forwarded-For": ips[1]}
			),
			json=rpc("tools/list"),
		),
		# unparsable JSON with valid credentials: Frappe fails parsing the body before the endpoint runs
		httpx.post(
			site["url"],
			headers=headers(site, marker, Authorization=site["sales"], **{"X-Forwarded-For": ips[2]}),
			content=b'{"jsonrpc": "2.0", "id": ',
		),
		# unparsable JSON without credentials
		httpx.post(
			site["url"], headers=headers(site, marker, **{"X-Forwarded-For": ips[3]}), content=b"{not json"
		),
		# GET (a client looking for a server stream): Frappe rolls GET transactions back; still on record
		httpx.get(
			site["url"],
			headers=headers(site, marker, Authorization=site["sales"], **{"X-Forwarded-For": ips[4]}),
		),
	]
	assert [r.status_code for r in sent] == [401, 401, 400, 400, 405]
	rows = audit_records(site, marker, expect=5)
	assert len(rows) == 5, rows
	by_ip = {row["remote_ip"]: row for row in rows}
	assert set(by_ip) == set(ips)  # X-Forwarded-For's first hop, as Frappe reads it
	guest, bad_key, malformed, malformed_guest, get = (by_ip[ip] for ip in ips)
	assert (get["http_method"], get["http_status"], get["user"]) == ("GET", 405, "mcp-sales@example.com")
	assert (guest["user"], guest["result"], guest["http_status"], guest["mcp_method"]) == (
		"Guest",
		"Denied",
		401,
		"tools/list",
	)
	assert (bad_key["user"], bad_key["result"], bad_key["http_status"]) == ("Guest", "Denied", 401)
	assert "invalid credentials" in bad_key["reason"]
	assert bad_key["mcp_method"] == "tools/list"
	for row in (malformed, malformed_guest):
		assert (row["result"], row["http_status"]) == ("Error", 400)
		assert "parse error" in row["reason"]
	# Every record says who the client claimed to be and how long the site took.
	assert all(row["client_name"] == marker and row["duration_ms"] >= 0 for row in rows)


def test_an_agent_session_is_on_record_and_a_repeated_read_comes_from_the_cache(site):
	marker = f"e2e-audit-{uuid.uuid4().hex[:12]}"
	h = headers(site, marker, Authorization=site["sales"])
	init = httpx.post(
		site["url"],
		headers=h,
		json=rpc(
			"initialize",
			{
				"protocolVersion": "2025-06-18",
				"capabilities": {},
				"clientInfo": {"name": "e2e-agent", "version": "3.2.1"},
			},
		),
	)
	assert init.status_code == 200
	get = rpc(
		"tools/call",
		{"name": "get_generic_document", "arguments": {"doctype": "Customer", "name": site["customer"]}},
	)
	answers = []
	for _ in range(3):  # another suite writing Customers meanwhile may end an entry: a few tries
		answers.append(httpx.post(site["url"], headers=h, json=get).json())
		answers.append(httpx.post(site["url"], headers=h, json=get).json())
		rows = audit_records(site, marker, expect=1 + len(answers))
		if any(r["served_from_cache"] for r in rows):
			break
	assert all("result" in a and not a["result"].get("isError") for a in answers), answers
	assert answers[0]["result"]["structuredContent"] == answers[1]["result"]["structuredContent"]
	assert len(rows) == 1 + len(answers)  # one record per request, cached or not
	first = rows[0]
	assert (first["mcp_method"], first["client_name"], first["client_version"]) == (
		"initialize",
		"e2e-agent",
		"3.2.1",
	)
	assert first["protocol_version"] == "2025-06-18" and first["user"] == "mcp-sales@example.com"
	reads = rows[1:]
	assert all(
		(r["tool"], r["document_type"], r["document_names"], r["result"])
		== ("get_generic_document", "Customer", site["customer"], "Allowed")
		for r in reads
	)
	assert any(r["served_from_cache"] for r in reads), reads
	assert "customer_name" in reads[0]["fields_returned"]


def test_the_request_over_the_limit_gets_429_with_retry_after_and_others_carry_on(site):
	marker = f"e2e-audit-{uuid.uuid4().hex[:12]}"
	limit = site["limited_per_minute"]
	statuses, refused = [], None
	for i in range(limit + 2):
		r = httpx.post(
			site["url"], headers=headers(site, marker, Authorization=site["limited"]), json=rpc("ping", id_=i)
		)
		statuses.append(r.status_code)
		if r.status_code == 429:
			refused = refused or r
	assert refused is not None, statuses
	first = statuses.index(429)
	assert first <= limit and set(statuses[:first]) <= {200} and set(statuses[first:]) == {429}, statuses
	assert 1 <= int(refused.headers["Retry-After"]) <= 60
	error = refused.json()["error"]
	assert error["code"] == -32029
	assert f"{limit} requests per minute" in error["message"]
	assert error["data"]["retry_after_seconds"] == int(refused.headers["Retry-After"])
	# Another user is not affected.
	other = httpx.post(
		site["url"], headers=headers(site, marker, Authorization=site["sales"]), json=rpc("ping")
	)
	assert other.status_code == 200
	rows = audit_records(site, marker, expect=len(statuses) + 1)
	limited = [r for r in rows if r["user"] == "mcp-limited@example.com"]
	assert [r["result"] for r in limited].count("Rate Limited") == statuses.count(429)
	assert all(r["http_status"] == 429 for r in limited if r["result"] == "Rate Limited")
	assert any(r["user"] == "mcp-sales@example.com" and r["result"] == "Allowed" for r in rows)
