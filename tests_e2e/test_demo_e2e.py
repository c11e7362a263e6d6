"""The demo (./dev/demo) as a newcomer uses it: dev/tier2 runs `./dev/demo --no-serve` twice (the second
run must be quick and change nothing), serves the demo site, and these tests run the Inspector command the
demo printed and ask each demo user's agent for data with the real `mcp` client."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess

import pytest

from tests.clients import connect

pytestmark = pytest.mark.skipif(
	not os.environ.get("ERPNEXT_MCP_DEMO_URL"), reason="dev/tier2 sets ERPNEXT_MCP_DEMO_URL for these"
)


@pytest.fixture(scope="module")
def demo():
	data = json.load(open(os.environ["ERPNEXT_MCP_DEMO_JSON"]))
	guide = open(os.environ["ERPNEXT_MCP_DEMO_GUIDE"]).read()
	return {
		"url": os.environ["ERPNEXT_MCP_DEMO_URL"],
		"port": os.environ["ERPNEXT_MCP_DEMO_PORT"],
		**data,
		"guide": guide,
	}


def printed_inspector_commands(demo) -> list[list[str]]:
	commands = []
	for line in demo["guide"].splitlines():
		line = line.strip()
		if line.startswith("Inspector:"):
			argv = shlex.split(line.removeprefix("Inspector:").strip().replace("PORT", demo["port"]))
			assert argv[:2] == ["npx", "@modelcontextprotocol/inspector"], argv
			commands.append(argv[2:])
	return commands


def test_the_printed_inspector_command_lists_the_tools(demo):
	folder = os.path.join(os.environ.get("ERPNEXT_MCP_STATE", "/tmp"), "inspector")
	bin_dir = os.path.join(folder, "node_modules", ".bin")
	if not os.path.exists(os.path.join(bin_dir, "mcp-inspector")):
		pytest.fail("MCP Inspector is not installed in dev/.state/inspector (test_http_e2e.py installs it)")
	commands = printed_inspector_commands(demo)
	assert len(commands) == 2  # one per demo user
	env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
	for args in commands:
		result = subprocess.run(
			[os.path.join(bin_dir, "mcp-inspector"), *args],
			cwd=folder,
			capture_output=True,
			text=True,
			timeout=180,
			env=env,
		)
		assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
		names = {t["name"] for t in json.loads(result.stdout)["tools"]}
		assert {"test_connection", "list_generic_documents", "describe_doctype"} <= names


def test_each_demo_user_gets_demo_data_or_a_refusal_per_its_profile(demo):
	analyst, sales = demo["users"]

	async def go():
		async with connect(demo["url"], {"Authorization": analyst["token"]}) as s:
			invoices = await s.call_tool("list_generic_documents", {"doctype": "Sales Invoice", "limit": 5})
			assert not invoices.isError, invoices.text
			assert invoices.structuredContent["documents"], "no demo invoices: ERPNext's demo data is missing"
			for row in invoices.structuredContent["documents"]:
				assert set(row) <= {
					"name",
					"customer",
					"customer_name",
					"posting_date",
					"due_date",
					"grand_total",
					"outstanding_amount",
					"status",
					"docstatus",
					"modified",
				}
			refused = await s.call_tool(
				"create_generic_document", {"doctype": "Customer", "values": {"customer_name": "Nope"}}
			)
			assert refused.isError  # read-only
		async with connect(demo["url"], {"Authorization": sales["token"]}) as s:
			customers = await s.call_tool("list_generic_documents", {"doctype": "Customer", "limit": 5})
			assert not customers.isError and customers.structuredContent["documents"]
			refused = await s.call_tool("list_generic_documents", {"doctype": "Sales Invoice", "limit": 5})
			assert refused.isError and "Demo Sales Agent" in refused.text  # its profile names no invoices

	asyncio.run(go())
