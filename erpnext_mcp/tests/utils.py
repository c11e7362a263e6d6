"""Tier 2 helpers: test users, profiles, and an MCP client that drives the real endpoint in-process."""

from __future__ import annotations

import json
from typing import Any

import frappe

try:  # Frappe v16
	from frappe.tests import IntegrationTestCase
except ImportError:  # Frappe v15
	from frappe.tests.utils import FrappeTestCase as IntegrationTestCase

from erpnext_mcp.server.http import HttpRequest, HttpResponse

PATH = "/api/method/erpnext_mcp.api.mcp.handle"
SALES_USER = "mcp-sales@example.com"
BUYER_USER = "mcp-buyer@example.com"
SALES_MANAGER = "mcp-sales-manager@example.com"
TEST_USERS = {
	SALES_USER: ["Sales User"],
	BUYER_USER: ["Purchase User"],
	SALES_MANAGER: ["Sales User", "Sales Manager"],
}


def before_tests() -> None:
	"""The tests need what ERPNext's setup wizard creates (a Company, the root Customer Group and
	Territory, the UOM "Nos"). On a site where it never ran, run ERPNext's own test setup, which
	completes it with test data; a site that has a Company is left alone."""
	if frappe.db.a_row_exists("Company"):
		return
	from erpnext.setup.utils import before_tests as complete_erpnext_setup

	complete_erpnext_setup()


def ensure_user(email: str, roles: list[str]) -> str:
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"send_welcome_email": 0,
				"user_type": "System User",
			}
		)
		user.insert(ignore_permissions=True)
	user = frappe.get_doc("User", email)
	current = {r.role for r in user.roles}
	if current != set(roles):
		user.set("roles", [])
		user.add_roles(*roles)
	return email


def ensure_profile(name: str, *, roles=(), users=(), rules=(), conditions=(), priority=0, enabled=1) -> str:
	"""Replace the profile `name` with exactly this definition."""
	if frappe.db.exists("MCP Permission Profile", name):
		frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
	doc = frappe.get_doc(
		{
			"doctype": "MCP Permission Profile",
			"profile_name": name,
			"enabled": enabled,
			"priority": priority,
			"roles": [{"role": r} for r in roles],
			"users": [{"user": u} for u in users],
			"rules": [dict(r) for r in rules],
			"conditions": [dict(c) for c in conditions],
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


def rule(doctype: str, ops: str = "read", **kw) -> dict[str, Any]:
	row = {"document_type": doctype}
	for op in ("read", "create", "update", "delete", "submit", "cancel"):
		row[f"can_{op}"] = 1 if op in ops.split(",") else 0
	row.update(kw)
	return row


def enable_mcp(**values) -> None:
	"""MCP on, with `values` set. Rate limits are off unless a test sets them: the suites send far more
	than a minute's default from one user, and test_limits.py tests the limits themselves."""
	settings = frappe.get_single("MCP Settings")
	settings.enabled = 1
	values.setdefault("rate_limit_per_minute", 0)
	values.setdefault("rate_limit_per_hour", 0)
	settings.update(values)
	settings.save(ignore_permissions=True)
	frappe.clear_document_cache("MCP Settings", "MCP Settings")
	# This process reads what this test saved (its process-local cache is consulted first), even if a
	# concurrent process on the same site re-caches the committed Settings in Redis meanwhile.
	frappe.cache.set_value(frappe.get_document_cache_key("MCP Settings", "MCP Settings"), settings)


class InProcessClient:
	"""Sends JSON-RPC bodies through erpnext_mcp.api.mcp.respond as `user`, like a real POST would."""

	def __init__(self, user: str, version: str = "2025-06-18"):
		self.user = user
		self.version = version
		self.next_id = 0

	def post(self, body: Any, *, headers: dict[str, str] | None = None, method: str = "POST") -> HttpResponse:
		from erpnext_mcp.api.mcp import respond

		h = {
			"host": "mcp.localhost",
			"accept": "application/json, text/event-stream",
			"content-type": "application/json",
			"mcp-protocol-version": self.version,
		}
		h.update({k.lower(): v for k, v in (headers or {}).items()})
		raw = body if isinstance(body, bytes) else json.dumps(body).encode()
		previous = frappe.session.user
		frappe.set_user(self.user)
		try:
			return respond(HttpRequest(method=method, headers=h, body=raw, path=PATH))
		finally:
			frappe.set_user(previous)

	def rpc(self, method: str, params: dict | None = None) -> dict[str, Any]:
		self.next_id += 1
		msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
		if params is not None:
			msg["params"] = params
		return self.post(msg).json()

	def tools(self) -> list[dict[str, Any]]:
		return self.rpc("tools/list")["result"]["tools"]

	def call(self, name: str, arguments: dict | None = None) -> dict[str, Any]:
		return self.rpc("tools/call", {"name": name, "arguments": arguments or {}})["result"]


def error_text(result: dict[str, Any]) -> str:
	assert result.get("isError") is True, result
	return "".join(c.get("text", "") for c in result["content"])


__all__ = ["IntegrationTestCase"]
