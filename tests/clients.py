"""The real `mcp` SDK client of whichever line is installed, behind one small async interface."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from erpnext_mcp.server.sdk import SDK_MAJOR


class Result:
	"""A CallToolResult as the wire carries it: isError, structuredContent, text."""

	def __init__(self, wire: dict[str, Any]):
		self.wire = wire
		self.isError = bool(wire.get("isError"))
		self.structuredContent = wire.get("structuredContent")
		self.text = "".join(c.get("text", "") for c in wire.get("content", []))


class Session:
	def __init__(self, inner, protocol_version: str):
		self.inner = inner
		self.protocol_version = protocol_version

	async def list_tools(self) -> list[dict[str, Any]]:
		"""Tools as wire dicts (camelCase), whichever SDK line parsed them."""
		result = await self.inner.list_tools()
		return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in result.tools]

	async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> Result:
		result = await self.inner.call_tool(name, arguments or {})
		return Result(result.model_dump(by_alias=True, exclude_none=True, mode="json"))


@contextlib.asynccontextmanager
async def connect(
	url: str, headers: dict[str, str], mode: str = "legacy", elicitation_callback=None
) -> AsyncIterator[Session]:
	"""mode: "legacy" (initialize handshake) or, on the 2.x line, "auto" / "2026-07-28".
	`elicitation_callback` (2.x): what the client does with a URL input request (an approval page)."""
	if SDK_MAJOR >= 2:
		import httpx2
		from mcp import Client
		from mcp.client.streamable_http import streamable_http_client

		http = httpx2.AsyncClient(headers=headers, timeout=60)
		extra = {"elicitation_callback": elicitation_callback} if elicitation_callback else {}
		async with (
			http,
			Client(streamable_http_client(url, http_client=http), mode=mode, **extra) as client,
		):
			yield Session(client, client.protocol_version)
		return
	if mode != "legacy":
		raise RuntimeError("the 1.x SDK speaks only the handshake revisions")
	from mcp import ClientSession
	from mcp.client.streamable_http import streamablehttp_client

	async with (
		streamablehttp_client(url, headers=headers) as (read, write, _),
		ClientSession(read, write) as session,
	):
		init = await session.initialize()
		yield Session(session, init.protocolVersion)
