"""MCP Settings as the protocol layer needs them, read once per request from Frappe's cached Single."""

from __future__ import annotations

from urllib.parse import urlsplit

import frappe
from frappe.utils import get_url

from erpnext_mcp.server.context import MAX_TOOLS_LIMIT, EndpointSettings


def parse_origins(text: str) -> list[str]:
	"""One Origin per line → ["https://host[:port]"]; a malformed line is an error that names it."""
	origins = []
	for line in (text or "").splitlines():
		line = line.strip().rstrip("/")
		if not line:
			continue
		parts = urlsplit(line)
		if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
			frappe.throw(
				frappe._(
					"Allowed Origins: {0} is not an Origin. Write it as https://host or https://host:port."
				).format(frappe.bold(line))
			)
		origins.append(f"{parts.scheme}://{parts.netloc}")
	return origins


def load_settings() -> EndpointSettings:
	doc = frappe.get_cached_doc("MCP Settings")
	own = urlsplit(get_url())
	allowed = [f"{own.scheme}://{own.netloc}", *parse_origins(doc.allowed_origins or "")]
	return EndpointSettings(
		enabled=bool(doc.enabled),
		allowed_origins=tuple(dict.fromkeys(allowed)),
		per_doctype_tools=bool(doc.per_doctype_tools),
		max_per_doctype_tools=doc.max_per_doctype_tools or 100,
		max_tools=min(_int(doc, "max_tools", 60) or 60, MAX_TOOLS_LIMIT),
		max_page_length=doc.max_page_length or 100,
		default_page_length=doc.default_page_length or 20,
		rate_limit_per_minute=_int(doc, "rate_limit_per_minute", 120),
		rate_limit_per_hour=_int(doc, "rate_limit_per_hour", 2000),
		cache_enabled=bool(_int(doc, "cache_enabled", 1)),
		cache_ttl_seconds=_int(doc, "cache_ttl_seconds", 60) or 60,
		cache_max_entries=_int(doc, "cache_max_entries", 2000) or 2000,
		audit_enabled=bool(_int(doc, "audit_enabled", 1)),
		audit_retention_days=_int(doc, "audit_retention_days", 90) or 90,
		approval_expiry_minutes=_int(doc, "approval_expiry_minutes", 30) or 30,
		allow_self_approval=bool(_int(doc, "allow_self_approval", 0)),
	)


def _int(doc, fieldname: str, default: int) -> int:
	"""A stored value (0 included: "unlimited", "off"); the default only for a field never saved."""
	value = doc.get(fieldname)
	return default if value is None or value == "" else max(int(value), 0)


def administrator_allowed() -> bool:
	return bool(frappe.get_cached_doc("MCP Settings").allow_administrator)
