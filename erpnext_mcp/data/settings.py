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


DEFAULTS = EndpointSettings()


def load_settings() -> EndpointSettings:
	doc = frappe.get_cached_doc("MCP Settings")
	own = urlsplit(get_url())
	allowed = [f"{own.scheme}://{own.netloc}", *parse_origins(doc.allowed_origins or "")]
	d = DEFAULTS
	return EndpointSettings(
		enabled=bool(doc.enabled),
		allowed_origins=tuple(dict.fromkeys(allowed)),
		per_doctype_tools=bool(doc.per_doctype_tools),
		max_per_doctype_tools=doc.max_per_doctype_tools or d.max_per_doctype_tools,
		max_tools=min(_int(doc, "max_tools", d.max_tools) or d.max_tools, MAX_TOOLS_LIMIT),
		max_page_length=doc.max_page_length or d.max_page_length,
		default_page_length=doc.default_page_length or d.default_page_length,
		rate_limit_per_minute=_int(doc, "rate_limit_per_minute", d.rate_limit_per_minute),
		rate_limit_per_hour=_int(doc, "rate_limit_per_hour", d.rate_limit_per_hour),
		cache_enabled=bool(_int(doc, "cache_enabled", int(d.cache_enabled))),
		cache_ttl_seconds=_int(doc, "cache_ttl_seconds", d.cache_ttl_seconds) or d.cache_ttl_seconds,
		cache_max_entries=_int(doc, "cache_max_entries", d.cache_max_entries) or d.cache_max_entries,
		audit_enabled=bool(_int(doc, "audit_enabled", int(d.audit_enabled))),
		audit_retention_days=_int(doc, "audit_retention_days", d.audit_retention_days)
		or d.audit_retention_days,
		approval_expiry_minutes=_int(doc, "approval_expiry_minutes", d.approval_expiry_minutes)
		or d.approval_expiry_minutes,
		allow_self_approval=bool(_int(doc, "allow_self_approval", int(d.allow_self_approval))),
	)


def _int(doc, fieldname: str, default: int) -> int:
	"""A stored value (0 included: "unlimited", "off"); the default only for a field never saved."""
	value = doc.get(fieldname)
	return default if value is None or value == "" else max(int(value), 0)


def administrator_allowed() -> bool:
	return bool(frappe.get_cached_doc("MCP Settings").allow_administrator)
