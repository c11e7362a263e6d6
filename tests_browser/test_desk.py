"""The administrator's day in Desk, in a real browser: the MCP workspace, the profile editor (field
pickers, conditions with Frappe's filter widgets, validation, Test this Profile) and the audit list."""

from __future__ import annotations

import json
import time
import uuid

from desk import control, expect, goto, pick_awesomplete, save, settle, shot

ENDPOINT_PATH = "/api/method/erpnext_mcp.api.mcp.handle"


def new_profile(page, name: str, role: str) -> None:
	goto(page, "mcp-permission-profile/new")
	control(page, "profile_name").fill(name)
	pick_awesomplete(page, control(page, "roles"), role)


def add_rule(page, doctype: str, operations=("read",)) -> None:
	grid = page.locator(".frappe-control[data-fieldname='rules']")
	grid.locator(".grid-add-row").click()
	row = grid.locator(".grid-body .grid-row").last
	row.locator(".col[data-fieldname='document_type']").click()
	pick_awesomplete(page, row.locator(".col[data-fieldname='document_type'] input"), doctype)
	for op in operations:
		row.locator(f".col[data-fieldname='can_{op}']").click()
		row.locator(f"input[data-fieldname='can_{op}']").check()


def pick_fields(page, row_idx: int, target: str, fieldnames: list[str]) -> None:
	grid = page.locator(".frappe-control[data-fieldname='rules']")
	grid.locator(f".grid-body .grid-row[data-idx='{row_idx}'] .btn-open-row").click()
	form = page.locator(".grid-row-open")
	form.locator(f".mcp-pick-fields[data-target='{target}']").click()
	dialog = page.locator(".modal:visible").filter(has=page.locator(".mcp-picker-list"))
	expect(dialog).to_be_visible()
	for fieldname in fieldnames:
		dialog.locator(f"input.mcp-field-check[data-fieldname='{fieldname}']").check()
	dialog.locator(".modal-footer .btn-primary").click()
	expect(dialog).to_be_hidden()
	form.locator(".grid-collapse-row").first.click()


def test_workspace_shows_endpoint_guide_cards_and_chart(page, screenshots, data):
	goto(page, "mcp")
	block = page.locator("[data-mcp-url]")  # inside the custom block's shadow root
	expect(block).to_have_text(page.base + ENDPOINT_PATH)
	for label in ("Calls Today", "Denials Today", "Active Profiles"):
		expect(page.locator(".number-card .widget-title, .widget.number-widget-box").filter(has_text=label).first).to_be_visible()
	expect(page.locator(".widget.dashboard-widget-box").filter(has_text="MCP Calls and Denials per Day")).to_be_visible()
	for text in ("MCP Inspector", "Cursor", "Claude Code", "erpnext-mcp stdio"):
		expect(page.locator(".mcp-guide").filter(has_text=text)).to_be_visible()
	for label in ("MCP Settings", "Permission Profiles", "Audit Log"):
		expect(page.locator(".shortcut-widget-box").filter(has_text=label).first).to_be_visible()
	page.locator(".mcp-copy").click()
	assert page.evaluate("navigator.clipboard.readText()") == page.base + ENDPOINT_PATH
	page.wait_for_timeout(1500)  # let the chart draw
	shot(page, screenshots, "workspace")


def test_two_minute_read_only_customer_profile(page, screenshots, data):
	"""The flow the README promises an administrator who has never seen the app: a read-only profile for
	Customers with three fields. Timed from opening the new form to the saved profile."""
	name = f"Customer Reader {uuid.uuid4().hex[:6]}"
	started = time.monotonic()
	new_profile(page, name, data["role"])
	add_rule(page, "Customer", ["read"])
	pick_fields(page, 1, "allowed_fields", ["customer_name", "customer_group", "territory"])
	save(page)
	elapsed = time.monotonic() - started
	expect(page.locator(".indicator-pill").filter(has_text="Not Saved")).to_have_count(0)
	doc = page.evaluate("() => cur_frm.doc")
	assert doc["name"] == name
	rule = doc["rules"][0]
	assert rule["document_type"] == "Customer"
	assert [rule[f"can_{op}"] for op in ("read", "create", "update", "delete", "submit", "cancel")] == [
		1,
		0,
		0,
		0,
		0,
		0,
	]
	assert rule["allowed_fields"] == "customer_name, customer_group, territory"
	(screenshots / "two-minute-profile.json").write_text(
		json.dumps({"profile": name, "seconds": round(elapsed, 1)}, indent=1)
	)
	print(f"read-only Customer profile with three fields saved in {elapsed:.1f} s of browser time")
	assert elapsed < 120
