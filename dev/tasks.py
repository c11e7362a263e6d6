"""The task benchmark: ten things people ask an ERP agent, each scripted the way an agent would do it
with this server's tools, through the real `mcp` SDK client over HTTP. Prints, per task, the tool
calls it took, the bytes of the tools/call requests and responses on the wire (tools/list and the
handshake not counted), and the bytes of the results the model reads (the text content: the wire
carries each result twice, as text and as structuredContent, and a client gives the model one).
The budget (4 calls, 12 KB) applies to what the model reads. Run through ./dev/bench
(ERPNEXT_MCP_BENCH_ONLY=tasks for this part alone); the data comes from
erpnext_mcp/tests/task_fixtures.py. Exits 1 if a task fails or goes over budget.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

URL = os.environ["ERPNEXT_MCP_BENCH_URL"]
SITE = os.environ["ERPNEXT_MCP_BENCH_SITE"]
DATA = json.load(open(os.environ["ERPNEXT_MCP_TASK_DATA"]))
ENDPOINT = f"{URL}/api/method/erpnext_mcp.api.mcp.handle"
MAX_CALLS, MAX_RESPONSE_BYTES = 4, 12_000  # the budget per task


class Wire:
	"""Counts the bytes of every tools/call exchange the SDK client puts on the wire."""

	def __init__(self):
		self.calls = 0
		self.sent = 0
		self.received = 0
		self.read = 0

	def reset(self):
		self.calls = self.sent = self.received = self.read = 0

	def factory(self, headers=None, timeout=None, auth=None) -> httpx.AsyncClient:
		async def on_request(request: httpx.Request):
			request.extensions["mcp_tool_call"] = b'"tools/call"' in (request.content or b"")
			if request.extensions["mcp_tool_call"]:
				self.calls += 1
				self.sent += len(request.content)

		async def on_response(response: httpx.Response):
			if response.request.extensions.get("mcp_tool_call"):
				await response.aread()
				self.received += len(response.content)
				result = response.json().get("result") or {}
				self.read += sum(len(c.get("text", "").encode()) for c in result.get("content", []))

		return httpx.AsyncClient(
			headers=headers,
			timeout=timeout or httpx.Timeout(60),
			auth=auth,
			follow_redirects=True,
			event_hooks={"request": [on_request], "response": [on_response]},
		)


async def call(session: ClientSession, name: str, arguments: dict, *, expect_error: bool = False) -> dict:
	result = await session.call_tool(name, arguments)
	text = "".join(getattr(c, "text", "") for c in result.content)
	if bool(result.isError) != expect_error:
		raise RuntimeError(f"{name} {'did not fail' if expect_error else 'failed'}: {text[:400]}")
	return result.structuredContent or json.loads(text)


async def tasks(session: ClientSession):
	d = DATA
	acme = d["customers"][0]
	state: dict = {}

	async def find_a_customer():
		out = await call(session, "search_link", {"doctype": "Customer", "text": "Acme"})
		assert [r["name"] for r in out["results"]] == [acme], out

	async def unpaid_invoices_of_last_month():
		out = await call(
			session,
			"list_generic_documents",
			{
				"doctype": "Sales Invoice",
				"fields": ["customer", "grand_total", "outstanding_amount", "due_date"],
				"filters": [
					{"field": "docstatus", "op": "=", "value": 1},
					{"field": "outstanding_amount", "op": ">", "value": 0},
					{
						"field": "posting_date",
						"op": "between",
						"value": [d["last_month_start"], d["last_month_end"]],
					},
				],
				"with_count": True,
			},
		)
		assert out["count"] >= 3, out

	async def total_invoiced_this_month():
		out = await call(
			session,
			"aggregate_documents",
			{
				"doctype": "Sales Invoice",
				"aggregates": [{"function": "sum", "field": "grand_total"}, {"function": "count"}],
				"filters": [
					{"field": "docstatus", "op": "=", "value": 1},
					{"field": "posting_date", "op": "between", "value": [d["this_month_start"], d["today"]]},
				],
			},
		)
		assert out["totals"]["count"] >= 3, out

	async def top_5_customers_by_revenue():
		out = await call(
			session,
			"aggregate_documents",
			{
				"doctype": "Sales Invoice",
				"aggregates": [{"function": "sum", "field": "grand_total"}],
				"group_by": ["customer"],
				"filters": {"docstatus": 1},
				"order_by": {"field": "sum_grand_total", "direction": "desc"},
				"limit": 5,
			},
		)
		assert 1 <= len(out["groups"]) <= 5, out

	async def create_a_sales_order_with_two_items():
		await call(session, "describe_doctype", {"doctype": "Sales Order"})
		out = await call(
			session,
			"create_generic_document",
			{
				"doctype": "Sales Order",
				"values": {
					"customer": acme,
					"delivery_date": d["today"],
					"items": [
						{"item_code": d["item"], "qty": 2, "rate": 150},
						{"item_code": d["item"], "qty": 1, "rate": 90},
					],
				},
			},
		)
		state["order"] = out["name"]

	async def convert_it_to_a_sales_invoice():
		await call(session, "submit_document", {"doctype": "Sales Order", "name": state["order"]})
		out = await call(
			session,
			"make_document",
			{
				"source_doctype": "Sales Order",
				"source_name": state["order"],
				"target_doctype": "Sales Invoice",
				"save": True,
			},
		)
		state["invoice"] = out["name"]

	async def submit_it():
		out = await call(session, "submit_document", {"doctype": "Sales Invoice", "name": state["invoice"]})
		assert out["docstatus"] == 1, out

	async def read_accounts_receivable():
		out = await call(
			session,
			"run_report",
			{
				"report_name": "Accounts Receivable",
				"columns": ["party", "voucher_no", "due_date", "outstanding"],
				"limit": 20,
			},
		)
		assert out["rows"], out

	async def stock_of_an_item():
		out = await call(
			session,
			"aggregate_documents",
			{
				"doctype": "Bin",
				"aggregates": [{"function": "sum", "field": "actual_qty"}],
				"group_by": ["warehouse"],
				"filters": {"item_code": d["stock_item"]},
			},
		)
		assert sum(g["sum_actual_qty"] for g in out["groups"]) == 40, out

	async def an_update_refused_by_a_condition_then_explained():
		await call(
			session,
			"update_generic_document",
			{"doctype": "Customer", "name": acme, "values": {"customer_type": "Individual"}},
			expect_error=True,
		)
		out = await call(
			session,
			"explain_access",
			{"doctype": "Customer", "operation": "update", "name": acme, "fieldname": "customer_type"},
		)
		assert any("condition" in (layer.get("detail") or "") for layer in out["layers"]), out

	return [
		("find a customer", find_a_customer),
		("list last month's unpaid invoices", unpaid_invoices_of_last_month),
		("total invoiced this month", total_invoiced_this_month),
		("top 5 customers by revenue", top_5_customers_by_revenue),
		("create a Sales Order with two items", create_a_sales_order_with_two_items),
		("convert it to a Sales Invoice", convert_it_to_a_sales_invoice),
		("submit it", submit_it),
		("read the Accounts Receivable report", read_accounts_receivable),
		("stock of an item", stock_of_an_item),
		("an update refused by a condition, then explained", an_update_refused_by_a_condition_then_explained),
	]


async def main() -> int:
	wire = Wire()
	headers = {"Authorization": DATA["token"], "X-Frappe-Site-Name": SITE}
	rows, failed = [], 0
	async with (
		streamablehttp_client(ENDPOINT, headers=headers, httpx_client_factory=wire.factory) as (
			read,
			write,
			_,
		),
		ClientSession(read, write) as session,
	):
		await session.initialize()
		await session.list_tools()
		for label, task in await tasks(session):
			wire.reset()
			try:
				await task()
				ok = wire.calls <= MAX_CALLS and wire.read <= MAX_RESPONSE_BYTES
				verdict = "ok" if ok else "over budget"
			except Exception as e:  # a failed task is reported, and the run goes on
				ok, verdict = False, f"FAILED: {e}"[:200]
			failed += not ok
			rows.append((label, wire.calls, wire.sent, wire.received, wire.read, verdict))
	print(
		f"\n### Agent tasks (real MCP client; budget per task: {MAX_CALLS} calls, "
		f"{MAX_RESPONSE_BYTES:,} B of results read)\n"
	)
	print("| task | tool calls | request bytes | response bytes (wire) | result bytes (read) | |")
	print("|---|---|---|---|---|---|")
	for label, calls, sent, received, read, verdict in rows:
		print(f"| {label} | {calls} | {sent:,} | {received:,} | {read:,} | {verdict} |")
	total = [sum(r[i] for r in rows) for i in (1, 2, 3, 4)]
	print(
		f"| **all ten** | {total[0]} | {total[1]:,} | {total[2]:,} | {total[3]:,} | "
		f"{len(rows) - failed}/{len(rows)} ok |"
	)
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(asyncio.run(main()))
