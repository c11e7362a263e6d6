"""The one-gate issue's scenarios over HTTP with the real `mcp` client of this venv's SDK line (both
eras on 2.x): a profile allowing read, update and delete of Customers whose Read condition is
customer_group = "Commercial" never touches, nor reads out, a Government customer."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import pytest

from erpnext_mcp.server.sdk import SDK_MAJOR
from tests.clients import connect

MODES = ["legacy", "2026-07-28"] if SDK_MAJOR >= 2 else ["legacy"]
MISSING = "MCP-E2E-NO-SUCH-CUSTOMER"


def skip_unless_server_speaks(site, mode: str) -> None:
	"""The 2026-07-28 revision needs SDK 2.x on both sides: the server's line is the bench's (v16)."""
	if mode != "legacy" and int(os.environ.get("ERPNEXT_MCP_FRAPPE_MAJOR") or 0) < 16:
		pytest.skip(f"this site's server (mcp SDK 1.x beside Frappe v15) does not speak {mode}")


def masked(result, name: str) -> str:
	return result.text.replace(name, "<NAME>")


def exists_in_erpnext(site, name: str) -> bool:
	"""Asked as the Administrator over Frappe's own REST API, not through the MCP endpoint."""
	r = httpx.get(
		site["url"].split("/api/method/")[0] + f"/api/resource/Customer/{name}",
		headers={"Authorization": site["administrator"], "X-Frappe-Site-Name": site["host"]},
	)
	return r.status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_a_document_outside_the_read_scope_does_not_exist_for_any_tool(site, mode):
	skip_unless_server_speaks(site, mode)
	outside, outside_2 = site["gate_outside"], site["gate_outside_2"]

	async def go():
		async with connect(
			site["url"], {"Authorization": site["gate"], "X-Frappe-Site-Name": site["host"]}, mode=mode
		) as s:
			calls = [
				("get_generic_document", {"doctype": "Customer"}),
				(
					"update_generic_document",
					{"doctype": "Customer", "values": {"website": "https://x.example"}},
				),
				("delete_generic_document", {"doctype": "Customer"}),
				("explain_access", {"doctype": "Customer", "operation": "update"}),
				(
					"explain_access",
					{"doctype": "Customer", "operation": "delete", "fieldname": "customer_group"},
				),
			]
			for tool, args in calls:
				for hidden_name in (outside, outside_2):
					hidden = await s.call_tool(tool, {**args, "name": hidden_name})
					missing = await s.call_tool(tool, {**args, "name": MISSING})
					assert hidden.isError and missing.isError, (tool, hidden.text)
					assert json.loads(hidden.text)["error"] == "not_found", hidden.text
					assert masked(hidden, hidden_name) == masked(missing, MISSING), tool
					assert "Government" not in masked(hidden, hidden_name)
			inside = await s.call_tool(
				"get_generic_document", {"doctype": "Customer", "name": site["gate_inside"]}
			)
			assert not inside.isError, inside.text
			assert inside.structuredContent["document"]["customer_group"] == "Commercial"

	asyncio.run(go())
	assert exists_in_erpnext(site, outside) and exists_in_erpnext(site, outside_2)


@pytest.mark.parametrize("mode", MODES)
def test_errors_name_what_erpnext_named(site, mode):
	skip_unless_server_speaks(site, mode)

	async def go():
		async with connect(
			site["url"], {"Authorization": site["gate"], "X-Frappe-Site-Name": site["host"]}, mode=mode
		) as s:
			order = await s.call_tool(
				"create_generic_document",
				{
					"doctype": "Sales Order",
					"values": {
						"customer": site["gate_inside"],
						"delivery_date": "2027-06-30",
						"items": [
							{
								"item_code": "MCP-E2E-NOPE-1",
								"qty": 1,
								"rate": 1,
								"delivery_date": "2027-06-30",
							}
						],
					},
				},
			)
			error = json.loads(order.text)
			assert error["error"] == "validation_failed", error
			assert "MCP-E2E-NOPE-1" in error["message"]
			assert "Sales Order was not found" not in error["message"]
			nameless = await s.call_tool(
				"create_generic_document", {"doctype": "Customer", "values": {"customer_type": "Company"}}
			)
			error = json.loads(nameless.text)
			assert error["error"] == "validation_failed", error
			assert "customer_name (Customer Name)" in error["message"]

	asyncio.run(go())
