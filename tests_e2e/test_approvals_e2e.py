"""Issue 16 over HTTP with the real `mcp` client of this venv's SDK line: a Sales Order cancel waits for
approval, a System Manager approves it through Frappe's own API (what the Approve button calls), the
agent runs it once; on 2.x against a v16 site also the 2026-07-28 path (input_required, a URL request
for the approval page, the sealed requestState echoed by the client). The server runs two gunicorn
workers, so the retry is often served by the other one."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from erpnext_mcp.server.sdk import SDK_MAJOR
from tests.clients import connect


def skip_unless_server_speaks(site, mode: str) -> None:
	"""The 2026-07-28 revision needs SDK 2.x on both sides: the server's line is the bench's (v16)."""
	if int(os.environ.get("ERPNEXT_MCP_FRAPPE_MAJOR") or 0) < 16:
		pytest.skip(f"this site's server (mcp SDK 1.x beside Frappe v15) does not speak {mode}")


def headers(site, key: str) -> dict:
	return {"Authorization": site[key], "X-Frappe-Site-Name": site["host"]}


def approve(site, name: str) -> httpx.Response:
	return httpx.post(
		site["url"].split("/api/method/")[0] + "/api/method/erpnext_mcp.api.approvals.approve",
		headers=headers(site, "approval_approver"),
		json={"name": name},
	)


def docstatus(site, order: str) -> int:
	r = httpx.get(
		site["url"].split("/api/method/")[0] + f"/api/resource/Sales Order/{order}",
		headers={"Authorization": site["administrator"], "X-Frappe-Site-Name": site["host"]},
	)
	return r.json()["data"]["docstatus"]


def test_handshake_waits_is_approved_and_runs_once(site):
	order = site["approval_orders"][0]
	args = {"doctype": "Sales Order", "name": order}

	async def go():
		async with connect(site["url"], headers(site, "approval_agent")) as s:
			first = await s.call_tool("cancel_document", args)
			assert not first.isError, first.text
			waiting = first.structuredContent
			assert waiting["status"] == "waiting_for_approval"
			assert f"/app/mcp-approval-request/{waiting['approval_id']}" in waiting["approval_url"]
			assert docstatus(site, order) == 1
			# The agent cannot approve its own request (it has no approver role either).
			self_try = httpx.post(
				site["url"].split("/api/method/")[0] + "/api/method/erpnext_mcp.api.approvals.approve",
				headers=headers(site, "approval_agent"),
				json={"name": waiting["approval_id"]},
			)
			assert self_try.status_code == 403
			early = await s.call_tool("cancel_document", {**args, "approval_id": waiting["approval_id"]})
			assert early.structuredContent["status"] == "waiting_for_approval"
			r = approve(site, waiting["approval_id"])
			assert r.status_code == 200 and r.json()["message"]["status"] == "Approved", r.text
			status = await s.call_tool("get_approval_status", {"approval_id": waiting["approval_id"]})
			assert status.structuredContent["status"] == "approved"
			changed = await s.call_tool(
				"cancel_document",
				{
					"doctype": "Sales Order",
					"name": site["approval_orders"][1],
					"approval_id": waiting["approval_id"],
				},
			)
			assert changed.isError and "arguments differ" in changed.text
			done = await s.call_tool("cancel_document", {**args, "approval_id": waiting["approval_id"]})
			assert not done.isError and done.structuredContent["docstatus"] == 2, done.text
			twice = await s.call_tool("cancel_document", {**args, "approval_id": waiting["approval_id"]})
			assert twice.isError and "already executed" in twice.text

	asyncio.run(go())
	assert docstatus(site, order) == 2
	assert docstatus(site, site["approval_orders"][1]) == 1


@pytest.mark.skipif(SDK_MAJOR < 2, reason="the 2026-07-28 revision exists only in the 2.x SDK")
def test_2026_input_required_url_request_and_sealed_state(site):
	skip_unless_server_speaks(site, "2026-07-28")
	import mcp.types as types

	order = site["approval_orders"][2]
	asked = []

	async def person_opens_the_page_and_approves(context, params):
		asked.append(params)
		r = approve(site, params.url.rsplit("/", 1)[1])
		assert r.status_code == 200, r.text
		return types.ElicitResult(action="accept")

	async def go():
		async with connect(
			site["url"],
			headers(site, "approval_agent"),
			mode="2026-07-28",
			elicitation_callback=person_opens_the_page_and_approves,
		) as s:
			await s.list_tools()
			return await s.call_tool("cancel_document", {"doctype": "Sales Order", "name": order})

	done = asyncio.run(go())
	assert not done.isError and done.structuredContent["docstatus"] == 2, done.text
	assert len(asked) == 1 and asked[0].mode == "url" and "/app/mcp-approval-request/" in asked[0].url
	assert docstatus(site, order) == 2
