"""`bench --site SITE erpnext-mcp stdio --user USER` with the real SDK stdio client: the same server,
profiles and ERPNext permissions as over HTTP."""

from __future__ import annotations

import asyncio
import os

import pytest
from mcp import ClientSession, StdioServerParameters

from erpnext_mcp.server.sdk import SDK_MAJOR


def _params(site, user):
	bench = os.environ.get("ERPNEXT_MCP_BENCH")
	if not bench:
		pytest.fail("ERPNEXT_MCP_BENCH is not set: run through dev/test")
	return StdioServerParameters(
		command=os.path.join(bench, "env", "bin", "python"),
		args=[
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"--site",
			site["host"],
			"erpnext-mcp",
			"stdio",
			"--user",
			user,
		],
		cwd=os.path.join(bench, "sites"),
	)


def test_stdio_session_runs_as_the_given_user(site):
	from mcp.client.stdio import stdio_client

	async def go():
		async with stdio_client(_params(site, "mcp-sales@example.com")) as (r, w), ClientSession(r, w) as s:
			await s.initialize()
			names = [t.name for t in (await s.list_tools()).tools]
			assert "list_customer_documents" in names
			conn = await s.call_tool("test_connection", {})
			data = conn.structured_content if SDK_MAJOR >= 2 else conn.structuredContent
			assert data["user"] == "mcp-sales@example.com"
			doc = await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			assert not (doc.is_error if SDK_MAJOR >= 2 else doc.isError)
			refused = await s.call_tool(
				"get_generic_document", {"doctype": "Supplier", "name": site["supplier"]}
			)
			assert refused.is_error if SDK_MAJOR >= 2 else refused.isError

	asyncio.run(asyncio.wait_for(go(), 120))


def test_stdio_refuses_unknown_and_administrator_users(site):
	import subprocess

	for user, words in (("nobody@example.com", "not an enabled user"), ("Administrator", "Administrator")):
		p = _params(site, user)
		result = subprocess.run(
			[p.command, *p.args], cwd=p.cwd, capture_output=True, text=True, timeout=120, input=""
		)
		assert result.returncode != 0
		assert words in result.stderr
		assert result.stdout == ""


def test_stdio_calls_are_in_the_audit_log(site):
	"""Same audit as over HTTP: one record per tool call, transport STDIO, the user, tool and result."""
	import json

	import httpx
	from mcp.client.stdio import stdio_client

	async def go():
		async with stdio_client(_params(site, "mcp-sales@example.com")) as (r, w), ClientSession(r, w) as s:
			await s.initialize()
			await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			await s.call_tool("get_generic_document", {"doctype": "Supplier", "name": site["supplier"]})

	asyncio.run(asyncio.wait_for(go(), 120))
	base = site["url"].split("/api/method/")[0]
	r = httpx.get(
		f"{base}/api/resource/MCP Audit Log",
		params={
			"filters": json.dumps(
				[["user", "=", "mcp-sales@example.com"], ["http_method", "=", "STDIO"], ["tool", "is", "set"]]
			),
			"fields": json.dumps(["tool", "document_type", "document_names", "result", "http_method"]),
			"order_by": "creation desc",
			"limit_page_length": 2,
		},
		headers={"Authorization": site["auditor"], "X-Frappe-Site-Name": site["host"]},
	)
	assert r.status_code == 200, r.text
	rows = list(reversed(r.json()["data"]))
	assert [(x["tool"], x["document_type"], x["result"]) for x in rows] == [
		("get_generic_document", "Customer", "Allowed"),
		("get_generic_document", "Supplier", "Denied"),
	], rows
	assert rows[0]["document_names"] == site["customer"]
