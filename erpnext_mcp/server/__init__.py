"""The MCP protocol layer: SDK server, tools, HTTP exchange. Never imports frappe."""
