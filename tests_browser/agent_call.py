"""One tool call over HTTP with the real `mcp` client of the Python that runs this script (the browser
tests start it with each SDK line's venv, as an agent would retry after an approval clicked in Desk).

	python agent_call.py URL AUTHORIZATION TOOL ARGUMENTS_JSON

Prints the result as one JSON line: {"isError", "text", "structuredContent"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests.clients

from tests.clients import connect


async def call(url: str, authorization: str, tool: str, arguments: dict) -> dict:
	async with connect(url, {"Authorization": authorization}) as session:
		result = await session.call_tool(tool, arguments)
		return {
			"isError": bool(result.isError),
			"text": result.text,
			"structuredContent": result.structuredContent,
		}


if __name__ == "__main__":
	url, authorization, tool, arguments = sys.argv[1:5]
	print(json.dumps(asyncio.run(call(url, authorization, tool, json.loads(arguments))), default=str))
