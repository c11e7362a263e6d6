"""Whitelisted methods: the MCP endpoint and its HTTP housekeeping."""
