"""Data for the HTTP end-to-end tests (tests_e2e/): run with `bench --site SITE execute
erpnext_mcp.tests.e2e_fixtures.prepare`; prints the API tokens as JSON. Idempotent."""

from __future__ import annotations

import hashlib
import json

import frappe

from erpnext_mcp.tests.test_endpoint import make_customer, make_supplier
from erpnext_mcp.tests.utils import (
	BUYER_USER,
	SALES_USER,
	TEST_USERS,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

DISABLED_USER = "mcp-disabled@example.com"
AUDITOR_USER = "mcp-auditor@example.com"  # System Manager: reads MCP Audit Log over /api/resource
LIMITED_USER = "mcp-limited@example.com"  # a profile of its own with a low rate limit
LIMITED_PER_MINUTE = 3


def api_token(email: str) -> str:
	user = frappe.get_doc("User", email)
	user.api_key = user.api_key or frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	user.api_secret = secret
	user.save(ignore_permissions=True)
	return f"token {user.api_key}:{secret}"


def prepare() -> None:
	frappe.set_user("Administrator")
	for email, roles in TEST_USERS.items():
		ensure_user(email, roles)
	ensure_profile(
		"E2E Readers",
		roles=["Sales User", "Purchase User"],
		rules=[
			rule("Customer", "read,create,update", doctype_tools="list, get, search, create, update"),
			rule("Supplier"),
			rule("Sales Order"),
		],
	)
	enable_mcp(allowed_origins="", default_profile=None)
	ensure_user(DISABLED_USER, ["Sales User"])
	frappe.db.set_value("User", DISABLED_USER, "enabled", 1)
	disabled_token = api_token(DISABLED_USER)
	frappe.db.set_value("User", DISABLED_USER, "enabled", 0)
	data = {
		"sales": api_token(SALES_USER),
		"buyer": api_token(BUYER_USER),
		"disabled": disabled_token,
		"administrator": api_token("Administrator"),
		"customer": make_customer("MCP E2E Customer"),
		"supplier": make_supplier("MCP E2E Supplier"),
	}
	data.update(oauth_fixtures())
	data.update(audit_fixtures())
	data.update(gate_fixtures())
	data.update(approval_fixtures())
	frappe.db.commit()
	print(json.dumps(data))


def oauth_fixtures() -> dict:
	"""OAuth sign-in on, and login passwords for the users the OAuth e2e tests sign in as (test users of a
	test site: printing the passwords into the credentials file is fine)."""
	from frappe.utils.password import update_password

	enable_mcp(oauth_enabled=1, allow_dynamic_client_registration=1, allow_client_id_metadata_documents=1)
	# The e2e tests register clients from 127.0.0.1: start each run with a fresh registration allowance.
	frappe.cache.delete_value("rl:erpnext_mcp.api.oauth.register:127.0.0.1")
	out = {}
	for key, email in (("oauth_sales", SALES_USER), ("oauth_buyer", BUYER_USER)):
		# The same password on every run of this site, so that two runs on one site do not log each
		# other out; derived from the site's own secret, so it is not written in the repository.
		seed = f"{frappe.local.conf.get('encryption_key') or frappe.local.site}:{email}:erpnext-mcp-e2e"
		password = hashlib.sha256(seed.encode()).hexdigest()[:24]
		update_password(email, password)
		out[key] = {"user": email, "password": password}
	return out


def audit_fixtures() -> dict:
	"""An auditor who reads the MCP Audit Log over HTTP, and a user whose profile sets a low rate limit
	(Settings stay unlimited for the other e2e users)."""
	ensure_user(AUDITOR_USER, ["System Manager"])
	ensure_user(LIMITED_USER, ["Sales User"])
	ensure_profile("E2E Limited", users=[LIMITED_USER], priority=5, rules=[rule("Customer")])
	profile = frappe.get_doc("MCP Permission Profile", "E2E Limited")
	profile.rate_limit_per_minute = LIMITED_PER_MINUTE
	profile.save(ignore_permissions=True)
	# Each run of the e2e suite starts with an unspent allowance: the windows are fixed, and the suite
	# runs once per SDK line within the same minute.
	from erpnext_mcp import limits

	limits.reset(LIMITED_USER)
	return {
		"auditor": api_token(AUDITOR_USER),
		"limited": api_token(LIMITED_USER),
		"limited_per_minute": LIMITED_PER_MINUTE,
	}


GATE_USER = "mcp-gate-e2e@example.com"  # may read, update and delete every Customer in ERPNext


def gate_fixtures() -> dict:
	"""The one-gate issue's scenario: a profile whose Customer rule allows read, update and delete and
	whose Read condition is customer_group = "Commercial", and Government customers it must not touch."""
	ensure_user(GATE_USER, ["Sales User", "Sales Master Manager"])
	for group in ("Commercial", "Government"):
		if not frappe.db.exists("Customer Group", group):
			frappe.get_doc(
				{
					"doctype": "Customer Group",
					"customer_group_name": group,
					"parent_customer_group": "All Customer Groups",
				}
			).insert(ignore_permissions=True)
	ensure_profile(
		"E2E Gate",
		users=[GATE_USER],
		priority=5,
		rules=[rule("Customer", "read,create,update,delete"), rule("Sales Order", "read,create")],
		conditions=[
			{
				"document_type": "Customer",
				"applies_to": "Read",
				"fieldname": "customer_group",
				"operator": "=",
				"value": "Commercial",
			}
		],
	)
	return {
		"gate": api_token(GATE_USER),
		"gate_inside": make_customer("MCP E2E Gate Commercial", customer_group="Commercial"),
		"gate_outside": make_customer("MCP E2E Gate Government", customer_group="Government"),
		"gate_outside_2": make_customer("MCP E2E Gate Government 2", customer_group="Government"),
	}


APPROVAL_AGENT = "mcp-approval-e2e@example.com"  # its agent's Sales Order cancels wait for approval
APPROVAL_APPROVER = "mcp-approver-e2e@example.com"  # System Manager: approves over Frappe's own API


def approval_fixtures() -> dict:
	"""Issue 16 over HTTP: a profile whose Sales Order rule ticks Approve Cancel, fresh submitted orders
	for each run (a cancel runs once), and the approver's token."""
	from erpnext_mcp.tests.test_gate import _order
	from erpnext_mcp.tests.test_profiles import make_item

	ensure_user(APPROVAL_AGENT, ["Sales User"])
	ensure_user(APPROVAL_APPROVER, ["System Manager"])
	make_item()
	ensure_profile(
		"E2E Approvals",
		users=[APPROVAL_AGENT],
		priority=5,
		rules=[rule("Sales Order", "read,submit,cancel", approve_cancel=1)],
	)
	enable_mcp(allow_self_approval=0)
	customer = make_customer("MCP E2E Approval Customer")
	return {
		"approval_agent": api_token(APPROVAL_AGENT),
		"approval_approver": api_token(APPROVAL_APPROVER),
		"approval_orders": [_order(customer, submit=True) for _ in range(3)],
	}
