"""The stdio transport with the real SDK stdio client: same tools, same profile rules, same answers."""

import asyncio
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters

from erpnext_mcp.server.sdk import SDK_MAJOR

SERVER = str(Path(__file__).resolve().parent / "stdio_server.py")


def test_stdio_session_lists_and_calls_tools_as_the_given_user():
	from mcp.client.stdio import stdio_client

	params = StdioServerParameters(command=sys.executable, args=[SERVER, "sales@example.com"])

	async def go():
		async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
			init = await session.initialize()
			tools = await session.list_tools()
			names = [t.name for t in tools.tools]
			assert "list_customer_documents" in names and "delete_generic_document" not in names
			conn = await session.call_tool("test_connection", {})
			data = conn.structured_content if SDK_MAJOR >= 2 else conn.structuredContent
			assert data["user"] == "sales@example.com"
			assert data["protocol_version"] == (
				init.protocol_version if SDK_MAJOR >= 2 else init.protocolVersion
			)
			refused = await session.call_tool("list_generic_documents", {"doctype": "Supplier"})
			assert (refused.is_error if SDK_MAJOR >= 2 else refused.isError) is True

	asyncio.run(go())
