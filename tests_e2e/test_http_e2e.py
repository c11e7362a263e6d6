"""The running site over HTTP (gunicorn on loopback) with the real `mcp` SDK client and MCP Inspector."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess

import httpx
import pytest

from tests.clients import connect

ACCEPT = "application/json, text/event-stream"


def hdrs(site, who="sales", **extra):
	h = {"Accept": ACCEPT, "Content-Type": "application/json", "X-Frappe-Site-Name": site["host"]}
	if who:
		h["Authorization"] = site[who]
	h.update(extra)
	return h


def test_sdk_client_reads_as_the_key_owner(site):
	async def go():
		async with connect(
			site["url"], {"Authorization": site["sales"], "X-Frappe-Site-Name": site["host"]}
		) as s:
			names = {t["name"] for t in await s.list_tools()}
			assert {"test_connection", "list_generic_documents", "list_customer_documents"} <= names
			conn = await s.call_tool("test_connection")
			assert conn.structuredContent["user"] == "mcp-sales@example.com"
			doc = await s.call_tool("get_generic_document", {"doctype": "Customer", "name": site["customer"]})
			assert doc.isError is False
			assert doc.structuredContent["document"]["customer_name"] == "MCP E2E Customer"
			refused = await s.call_tool(
				"get_generic_document", {"doctype": "Supplier", "name": site["supplier"]}
			)
			assert refused.isError is True
			assert "Supplier" in refused.text
		async with connect(
			site["url"], {"Authorization": site["buyer"], "X-Frappe-Site-Name": site["host"]}
		) as s:
			refused = await s.call_tool(
				"get_generic_document", {"doctype": "Customer", "name": site["customer"]}
			)
			assert refused.isError is True
			assert "MCP E2E Customer" not in refused.text
			ok = await s.call_tool("get_generic_document", {"doctype": "Supplier", "name": site["supplier"]})
			assert ok.isError is False

	asyncio.run(go())


def test_guest_gets_401_json_with_www_authenticate(site):
	r = httpx.post(
		site["url"], headers=hdrs(site, who=None), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
	)
	assert r.status_code == 401
	assert "www-authenticate" in r.headers
	assert r.json()["error"]["code"] == -32001
	assert "<html" not in r.text.lower()


def test_wrong_credentials_get_401_json_not_a_frappe_page(site):
	bad = hdrs(site, Authorization="token nosuchkey:nosuchsecret")
	r = httpx.post(site["url"], headers=bad, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
	assert r.status_code == 401
	assert "www-authenticate" in r.headers
	body = r.json()
	assert body["jsonrpc"] == "2.0" and body["error"]["code"] == -32001
	assert "Traceback" not in r.text and "exc_type" not in r.text


def test_malformed_json_is_a_jsonrpc_parse_error(site):
	r = httpx.post(site["url"], headers=hdrs(site), content=b'{"jsonrpc": "2.0", "id": ')
	assert r.status_code == 400
	assert r.json()["error"]["code"] == -32700
	assert "Traceback" not in r.text


def test_get_is_405(site):
	r = httpx.get(site["url"], headers=hdrs(site))
	assert r.status_code == 405
	assert r.headers["allow"] == "POST"


def test_notification_is_202(site):
	r = httpx.post(
		site["url"],
		headers=hdrs(site, **{"MCP-Protocol-Version": "2025-06-18"}),
		json={"jsonrpc": "2.0", "method": "notifications/initialized"},
	)
	assert r.status_code == 202


def test_mcp_inspector_cli_lists_tools_strictly(site):
	"""MCP Inspector's CLI (2.x, which needs Node 22: taken from the npm registry's `node` package when
	the machine's Node is older) lists the tools and, with --strict, finds no schema problem."""
	if shutil.which("npm") is None:
		pytest.fail("npm is not installed: MCP Inspector cannot run")
	state = os.environ.get("ERPNEXT_MCP_STATE", "/tmp")
	folder = os.path.join(state, "inspector")
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
	env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
	result = subprocess.run(
		[
			os.path.join(bin_dir, "mcp-inspector"),
			"--cli",
			site["url"],
			"--transport",
			"http",
			"--method",
			"tools/list",
			"--strict",
			"--header",
			f"Authorization: {site['sales']}",
			"--header",
			f"X-Frappe-Site-Name: {site['host']}",
		],
		cwd=folder,
		capture_output=True,
		text=True,
		timeout=180,
		env=env,
	)
	assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
	assert "Warning" not in result.stdout and "Warning" not in result.stderr, (
		result.stdout[-3000:] + result.stderr[-3000:]
	)
	listed = json.loads(result.stdout)
	assert "list_generic_documents" in {t["name"] for t in listed["tools"]}
