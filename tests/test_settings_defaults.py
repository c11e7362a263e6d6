"""Settings defaults come from one place: EndpointSettings. The MCP Settings DocType (what a new site
gets) declares the same value for every field both have."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from erpnext_mcp.server.context import EndpointSettings

DOCTYPE_JSON = (
	Path(__file__).resolve().parent.parent
	/ "erpnext_mcp"
	/ "erpnext_mcp"
	/ "doctype"
	/ "mcp_settings"
	/ "mcp_settings.json"
)


def test_the_doctype_declares_the_endpoint_settings_defaults():
	fields = {f["fieldname"]: f for f in json.loads(DOCTYPE_JSON.read_text())["fields"]}
	defaults = EndpointSettings()
	compared = []
	for item in dataclasses.fields(EndpointSettings):
		field = fields.get(item.name)
		if field is None or field["fieldtype"] not in ("Int", "Check"):
			continue
		expected = int(getattr(defaults, item.name))
		assert int(field.get("default", 0)) == expected, item.name
		compared.append(item.name)
	# Every number and switch of the endpoint is declared on the form.
	assert len(compared) >= 12, compared
