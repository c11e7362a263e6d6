"""The same MCP server over stdio, for clients that only launch local commands (Claude Desktop/Code on
the server itself). One session, one caller: the CallState is made per message so profile changes
apply at once, and each tool call is committed or rolled back on its own."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import anyio

from erpnext_mcp.server import app, context, sdk
from erpnext_mcp.server.context import CallState


async def _serve(make_state: Callable[[], CallState], finish: Callable[[CallState], None]) -> None:
	from mcp.server.stdio import stdio_server

	server = sdk.build_server(
		name="erpnext-mcp",
		version=app.__version__,
		instructions=app.INSTRUCTIONS,
		list_tools=_per_message(app._list_tools, make_state, finish),
		call_tool=_per_message(app._call_tool, make_state, finish),
	)
	if sdk.SDK_MAJOR >= 2:
		transport = stdio_server()  # 2.x points stray prints at stderr itself
	else:
		# Only JSON-RPC may reach stdout: anything Frappe or a hook prints goes to stderr instead.
		wire = anyio.wrap_file(io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8"))
		sys.stdout = sys.stderr
		transport = stdio_server(stdout=wire)
	async with transport as (read, write):
		await server.run(read, write, server.create_initialization_options())


def _per_message(handler, make_state, finish):
	async def wrapped(*args):
		state = make_state()
		token = context.activate(state)
		try:
			return await handler(*args)
		finally:
			context.deactivate(token)
			finish(state)

	return wrapped


def serve(make_state: Callable[[], CallState], finish: Callable[[CallState], None]) -> None:
	"""Run until the client closes stdin. `finish` commits and audits each message's work."""
	anyio.run(_serve, make_state, finish)
