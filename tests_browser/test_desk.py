"""The administrator's day in Desk, in a real browser: the MCP workspace, the profile editor (field
pickers, conditions with Frappe's filter widgets, validation, Test this Profile) and the audit list."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

from desk import control, expect, goto, pick_awesomplete, run_json, save, settle, shot

ENDPOINT_PATH = "/api/method/erpnext_mcp.api.mcp.handle"


def new_profile(page, name: str, role: str) -> None:
	goto(page, "mcp-permission-profile/new")
	control(page, "profile_name").fill(name)
	pick_awesomplete(page, control(page, "roles"), role)


def add_row(grid) -> None:
	"""Add Row, once more if the first click only closed an open suggestion list."""
	rows = grid.locator(".grid-body .grid-row")
	before = rows.count()
	for _ in range(3):
		grid.locator(".grid-add-row").click()
		try:
			expect(rows).to_have_count(before + 1, timeout=3000)
			return
		except AssertionError:
			continue
	expect(rows).to_have_count(before + 1)


def add_rule(page, doctype: str, operations=("read",)) -> None:
	grid = page.locator(".frappe-control[data-fieldname='rules']")
	add_row(grid)
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
	if form.count():  # Desk closes the row form on a click outside it (the dialog) itself
		form.locator(".grid-collapse-row").first.click()


def test_workspace_shows_endpoint_guide_cards_and_chart(page, screenshots, data):
	goto(page, "mcp")
	block = page.locator("[data-mcp-url]")  # inside the custom block's shadow root
	expect(block).to_have_text(page.base + ENDPOINT_PATH)
	for label in ("Calls Today", "Denials Today", "Active Profiles", "Pending Approvals"):
		expect(
			page.locator(".number-card .widget-title, .widget.number-widget-box").filter(has_text=label).first
		).to_be_visible()
	expect(
		page.locator(".widget.dashboard-widget-box").filter(has_text="MCP Calls and Denials per Day")
	).to_be_visible()
	for text in ("MCP Inspector", "Cursor", "Claude Code", "erpnext-mcp stdio"):
		expect(page.locator(".mcp-guide").filter(has_text=text)).to_be_visible()
	for label in ("MCP Settings", "Permission Profiles", "Audit Log"):
		expect(page.locator(".shortcut-widget-box").filter(has_text=label).first).to_be_visible()
	page.locator(".mcp-copy").click()
	assert page.evaluate("navigator.clipboard.readText()") == page.base + ENDPOINT_PATH
	page.set_viewport_size({"width": 1440, "height": 1560})  # the whole workspace, chart included
	page.mouse.click(5, 400)  # focus away from the copy button
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


def add_condition_with_filter(
	page, doctype: str, applies_to: str, field_label: str, condition: str, value, screenshots=None
):
	page.locator(".frappe-control[data-fieldname='conditions'] .btn-custom").filter(
		has_text="Add Condition"
	).click()
	dialog = page.locator(".modal:visible").filter(has=page.locator(".mcp-condition"))
	expect(dialog).to_be_visible()
	dialog.locator("select[data-fieldname='document_type']").select_option(doctype)
	dialog.locator("select[data-fieldname='applies_to']").select_option(applies_to)
	field = dialog.locator(".fieldname-select-area input")
	expect(field).to_be_visible()
	pick_awesomplete(page, field, field_label)
	dialog.locator("select.condition").select_option(condition)
	value(dialog.locator(".filter-field"))
	if screenshots:
		shot(page, screenshots, "profile-condition")
	dialog.locator(".modal-footer .btn-primary").click()
	expect(dialog).to_be_hidden()


def test_profile_editor_pickers_condition_validation_and_test(page, screenshots, data):
	name = f"Browser Test {uuid.uuid4().hex[:6]}"
	new_profile(page, name, data["role"])
	control(page, "priority").fill("10")
	add_rule(page, "Customer", ["read", "update"])
	add_rule(page, "Sales Order", ["read", "delete"])
	# The banner warns while editing: delete cannot be undone; Sales Order has no field list yet.
	banner = page.locator(".form-message-container .form-message")
	expect(banner.filter(has_text="delete or cancel")).to_have_class(re.compile("orange"))
	expect(banner.filter(has_text="No Allowed Fields on")).to_contain_text("Sales Order")

	# The field picker lists the DocType's own fields (labels and fieldnames), child tables included.
	grid = page.locator(".frappe-control[data-fieldname='rules']")
	grid.locator(".grid-body .grid-row[data-idx='2'] .btn-open-row").click()
	page.locator(".grid-row-open .mcp-pick-fields[data-target='allowed_fields']").click()
	picker = page.locator(".modal:visible").filter(has=page.locator(".mcp-picker-list"))
	expect(picker.locator("input[data-fieldname='items']")).to_be_attached()
	expect(
		picker.locator(".mcp-picker-item").filter(has_text="Customer").filter(has_text="customer").first
	).to_be_visible()
	shot(page, screenshots, "profile-field-picker")
	picker.locator(".mcp-picker-search").fill("grand")
	expect(picker.locator(".mcp-picker-item:visible").filter(has_text="grand_total").first).to_be_visible()
	expect(picker.locator(".mcp-picker-item:visible").filter(has_text="customer_name")).to_have_count(0)
	picker.locator(".btn-modal-close, .modal-header .close").first.click()
	expect(picker).to_be_hidden()
	page.keyboard.press("Escape")

	pick_fields(page, 1, "allowed_fields", ["customer_name", "customer_type", "territory", "disabled"])

	# A condition made with Frappe's filter widgets: Customer "Disabled" = No, as a row filter on Read.
	add_condition_with_filter(
		page,
		"Customer",
		"Read",
		"Disabled",
		"=",
		lambda area: area.locator("select").select_option("No"),
		screenshots,
	)
	row = page.evaluate("() => cur_frm.doc.conditions[0]")
	assert (
		row["document_type"],
		row["applies_to"],
		row["fieldname"],
		row["operator"],
		str(row["value"]),
	) == (
		"Customer",
		"Read",
		"disabled",
		"=",
		"0",
	)
	save(page)
	expect(page.locator(".indicator-pill").filter(has_text="Not Saved")).to_have_count(0)
	assert page.evaluate("() => cur_frm.doc.name") == name
	page.evaluate("() => window.scrollTo(0, 0)")
	shot(page, screenshots, "profile-editor", full_page=True)

	# A saved condition opens again in the same widgets, with its field, condition and value.
	conditions = page.locator(".frappe-control[data-fieldname='conditions']")
	conditions.locator(".grid-body .grid-row[data-idx='1'] .btn-open-row").click()
	page.locator(".grid-row-open .mcp-edit-condition").click()
	edit = page.locator(".modal:visible").filter(has=page.locator(".mcp-condition"))
	expect(edit.locator(".fieldname-select-area input")).to_have_value("Disabled")
	expect(edit.locator("select.condition")).to_have_value("=")
	expect(edit.locator(".filter-field select")).to_have_value("No")
	edit.locator(".btn-modal-close, .modal-header .close").first.click()
	try:
		expect(edit).to_be_hidden(timeout=3000)
	except AssertionError:
		# A click that lands while Bootstrap's fade-in still runs is dropped: close it the way a person would.
		page.keyboard.press("Escape")
		expect(edit).to_be_hidden()
	if page.locator(".grid-row-open").count():
		page.locator(".grid-row-open .grid-collapse-row").first.click()

	# A bad condition typed into the grid by hand is refused with a message that says why.
	add_row(conditions)
	bad = conditions.locator(".grid-body .grid-row").last
	bad.locator(".col[data-fieldname='document_type']").click()
	pick_awesomplete(page, bad.locator("input[data-fieldname='document_type']"), "Customer")
	bad.locator(".col[data-fieldname='applies_to']").click()
	bad.locator("select[data-fieldname='applies_to']").select_option("Create and Update")
	bad.locator(".col[data-fieldname='fieldname']").click()
	pick_awesomplete(page, bad.locator("input[data-fieldname='fieldname']"), "disabled", "(disabled)")
	bad.locator(".col[data-fieldname='operator']").click()
	bad.locator("select[data-fieldname='operator']").select_option("=")
	bad.locator(".col[data-fieldname='value']").click()
	bad.locator("[data-fieldname='value'] :is(textarea, input)").first.fill("2")
	save(page)
	message = page.locator(".modal:visible .msgprint, .modal:visible .modal-body").filter(has_text="checkbox")
	expect(message.first).to_be_visible()
	expect(message.first).to_contain_text("use 0 or 1")
	shot(page, screenshots, "profile-validation")
	page.locator(".modal:visible .btn-modal-close, .modal:visible .modal-header .close").first.click()
	page.reload()  # discard the bad row
	settle(page)

	# Test this Profile: the explain_access engine, as the chosen user, layer by layer.
	page.locator(".page-actions button, .page-head button").filter(has_text="Test this Profile").first.click()
	dialog = page.locator(".modal:visible").filter(has_text="Only this profile")
	expect(dialog).to_be_visible()
	pick_awesomplete(page, dialog.locator("input[data-fieldname='user']"), data["user"])
	dialog.locator("input[data-fieldname='ref_doctype']").fill("")
	pick_awesomplete(page, dialog.locator("input[data-fieldname='ref_doctype']"), "Customer")
	dialog.locator("select[data-fieldname='operation']").select_option("read")
	pick_awesomplete(page, dialog.locator("input[data-fieldname='document_name']"), data["customer"])
	dialog.locator(".modal-footer .btn-primary").click()
	result = dialog.locator(".mcp-test-result")
	expect(result).to_have_attribute("data-allowed", "1")
	expect(result.locator("tr.mcp-layer[data-allowed='0']")).to_have_count(0)
	expect(result).to_contain_text(name)

	# A field the rule does not list: ERPNext would show it, the profile's field rule refuses it.
	pick_awesomplete(page, dialog.locator("input[data-fieldname='field_name']"), "tax_id", "(tax_id)")
	dialog.locator(".modal-footer .btn-primary").click()
	expect(result).to_have_attribute("data-allowed", "0")
	denied = result.locator("tr.mcp-layer[data-allowed='0']")
	expect(denied).to_have_count(1)
	expect(denied).to_have_attribute("data-layer", "MCP field rule")
	expect(result.locator("tr.mcp-layer[data-layer='ERPNext role permissions']")).to_have_attribute(
		"data-allowed", "1"
	)
	shot(page, screenshots, "profile-test")


def test_audit_list_filters_indicators_and_links(page, screenshots, data):
	# An auditor's wide screen: Desk shows every list column from 1920 px, in its full-width layout.
	page.set_viewport_size({"width": 1920, "height": 1000})
	goto(page, "mcp-audit-log")
	page.evaluate("() => localStorage.setItem('container_fullwidth', 'true')")
	goto(page, f"mcp-audit-log?user={data['user']}")
	filters = page.locator(".standard-filter-section")
	for fieldname in ("timestamp", "user", "result", "document_type", "tool", "operation", "remote_ip"):
		expect(filters.locator(f"[data-fieldname='{fieldname}']").first).to_be_visible()
	rows = page.locator(".list-row-container .list-row")
	expect(rows.filter(has=page.locator(".indicator-pill.red")).first).to_be_visible()
	expect(rows.filter(has=page.locator(".indicator-pill.green")).first).to_be_visible()
	shot(page, screenshots, "audit-list")

	# The time range narrows the list: today keeps the records, a day last year shows none.
	set_range = "(r) => cur_list.page.fields_dict.timestamp.set_value(r)"
	page.evaluate(f"() => ({set_range})([frappe.datetime.get_today(), frappe.datetime.get_today()])")
	settle(page)
	expect(rows.first).to_be_visible()
	page.evaluate(f"() => ({set_range})(['2025-01-01', '2025-01-02'])")
	settle(page)
	expect(rows).to_have_count(0)
	page.evaluate(f"() => ({set_range})(null)")
	settle(page)
	# Show → Today: a one-click filter.
	page.locator(".inner-group-button[data-label='Show'] > button").click()
	page.locator(".inner-group-button[data-label='Show'] .dropdown-item").filter(has_text="Today").click()
	settle(page)
	expect(
		page.locator(".filter-selector .filter-label, .filter-button .button-label").first
	).to_contain_text("1")
	expect(rows.first).to_be_visible()

	# The auditor's filter: only what was refused.
	result = filters.locator("select[data-fieldname='result']")
	result.select_option("Denied")
	settle(page)
	expect(rows.first).to_be_visible()
	expect(page.locator(".list-row .indicator-pill.green")).to_have_count(0)
	expect(rows.filter(has_text="Denied").first).to_be_visible()

	# The allowed read of the test customer: one click from the record to the document.
	result.select_option("Allowed")
	settle(page)
	row = rows.first
	expect(row.locator(".indicator-pill.green").first).to_be_visible()
	expect(row.locator("button").filter(has_text="Open")).to_be_visible()

	row.locator("a.list-row-title, .list-subject a").first.click()
	settle(page)
	expect(page.locator(".form-message, .form-intro").filter(has_text=data["customer"]).first).to_be_visible()
	page.locator(".inner-group-button[data-label='Open'] > button").click()
	expect(
		page.locator(".inner-group-button[data-label='Open'] .dropdown-item").filter(has_text="User")
	).to_be_visible()
	shot(page, screenshots, "audit-record")


def test_approve_an_agents_call_in_desk(page, screenshots, data):
	"""Issue 16: the approval form says the call in plain words, who asked and under which profile;
	Approve is the only way it changes, and then the agent may run exactly that call once."""
	name = data["approval"]
	goto(page, f"mcp-approval-request/{name}")
	intro = page.locator(".form-message").first
	expect(intro).to_contain_text("cancel Sales Order")
	expect(intro).to_contain_text(data["customer"])
	expect(page.locator(".frappe-control[data-fieldname='requester']").first).to_contain_text(data["user"])
	expect(page.locator(".frappe-control[data-fieldname='profile']").first).to_contain_text(
		"Browser Test Approvals"
	)
	expect(page.locator(".indicator-pill").filter(has_text="Pending").first).to_be_visible()
	page.set_viewport_size({"width": 1440, "height": 1100})
	shot(page, screenshots, "approval-request")
	page.locator(".page-actions button, .custom-actions button").filter(has_text="Approve").first.click()
	settle(page)
	expect(page.locator(".indicator-pill").filter(has_text="Approved").first).to_be_visible()
	expect(page.locator(".frappe-control[data-fieldname='approver']").first).to_contain_text("Administrator")
	expect(
		page.locator(".page-actions button, .custom-actions button").filter(has_text="Approve")
	).to_have_count(0)
	shot(page, screenshots, "approval-approved")
	# The agent retries over HTTP with each SDK line's real client: the first runs the approved cancel
	# once, as the requester; the second finds it already executed.
	args = {"doctype": "Sales Order", "name": data["order"], "approval_id": name}
	done = agent_call(page.base, data["agent"], "sdk1", "cancel_document", args)
	assert not done["isError"] and done["structuredContent"]["docstatus"] == 2, done
	twice = agent_call(page.base, data["agent"], "sdk2", "cancel_document", args)
	assert twice["isError"] and "already executed" in twice["text"], twice


def agent_call(base_url: str, authorization: str, line: str, tool: str, arguments: dict) -> dict:
	"""tests_browser/agent_call.py run by the Python of dev/.state/venv-<line> (tier 1 made both)."""
	state = Path(
		os.environ.get("ERPNEXT_MCP_STATE") or Path(__file__).resolve().parents[1] / "dev" / ".state"
	)
	python = state / f"venv-{line}" / "bin" / "python"
	assert python.exists(), f"no {python}: ./dev/test makes it in tier 1"
	return run_json(
		[
			str(python),
			str(Path(__file__).with_name("agent_call.py")),
			f"{base_url}/api/method/erpnext_mcp.api.mcp.handle",
			authorization,
			tool,
			json.dumps(arguments),
		],
		timeout=120,
	)
