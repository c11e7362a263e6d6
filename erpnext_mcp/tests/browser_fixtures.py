"""Data for the browser tests (tests_browser/): run with `bench --site SITE execute
erpnext_mcp.tests.browser_fixtures.prepare`; prints what the tests need as JSON. Idempotent.

The browser tests create profiles through Desk. Those profiles are assigned to a role of their own
(BROWSER_ROLE), held only by BROWSER_USER, so they never change what the other suites' users may do
while they run on the same site."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.utils import InProcessClient, enable_mcp, ensure_user

BROWSER_ROLE = "MCP Browser Test Role"
BROWSER_USER = "mcp-browser@example.com"
BROWSER_CUSTOMER = "MCP Browser Customer"
# Every profile the browser tests create starts with one of these (removed again on each run).
PROFILE_PREFIXES = ("Browser Test", "Customer Reader")


def prepare() -> None:
	frappe.set_user("Administrator")
	if not frappe.db.exists("Role", BROWSER_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": BROWSER_ROLE, "desk_access": 1}).insert(
			ignore_permissions=True
		)
	ensure_user(BROWSER_USER, ["Sales User", BROWSER_ROLE])
	cleanup()
	customer = make_customer(BROWSER_CUSTOMER)
	if not frappe.db.get_single_value("MCP Settings", "enabled"):
		enable_mcp()
	# Something for the audit list to show for this user: one allowed call and one refused one (the
	# Sales User role's profiles never grant delete).
	client = InProcessClient(BROWSER_USER)
	client.call("get_generic_document", {"doctype": "Customer", "name": customer})
	client.call("delete_generic_document", {"doctype": "Customer", "name": customer})
	approval, order = approval_fixture(customer)
	from erpnext_mcp.tests.e2e_fixtures import api_token

	agent = api_token(BROWSER_USER)  # the agent retries over HTTP once the browser approved
	frappe.db.commit()
	print(
		json.dumps(
			{
				"user": BROWSER_USER,
				"role": BROWSER_ROLE,
				"customer": customer,
				"approval": approval,
				"order": order,
				"agent": agent,
			}
		)
	)


def approval_fixture(customer: str) -> tuple[str, str]:
	"""A pending approval request for the Approve button: BROWSER_USER's agent asks to cancel a
	submitted Sales Order (a profile of its own role, "Browser Test Approvals", ticks Approve Cancel)."""
	from erpnext_mcp.tests.test_gate import _order
	from erpnext_mcp.tests.test_profiles import make_item
	from erpnext_mcp.tests.utils import ensure_profile, rule

	make_item()
	ensure_profile(
		"Browser Test Approvals",
		roles=[BROWSER_ROLE],
		# Above the profiles the other browser tests make for the same role (the profile editor's has
		# priority 10 and a Sales Order rule): this Sales Order rule is the one that applies when the
		# agent retries over HTTP after Approve.
		priority=100,
		rules=[rule("Sales Order", "read,cancel", approve_cancel=1)],
	)
	order = _order(customer, submit=True)
	result = InProcessClient(BROWSER_USER).call("cancel_document", {"doctype": "Sales Order", "name": order})
	return result["structuredContent"]["approval_id"], order


def cleanup() -> None:
	for prefix in PROFILE_PREFIXES:
		for name in frappe.get_all(
			"MCP Permission Profile", filters={"name": ["like", f"{prefix}%"]}, pluck="name"
		):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
	frappe.db.commit()
