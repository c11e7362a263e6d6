"""What one MCP Audit Log record says about one HTTP exchange (pure: builds the row, never writes it).

The single authority for the "names, never values" rule: a record carries field NAMES, document
names, the tool, the DocType and a reason assembled from the refusal's kind, layer and rule, never a
refusal's free text (ERPNext's messages and the profile's condition messages quote values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from erpnext_mcp.audit_facts import RequestFacts

ALLOWED, DENIED, ERROR, RATE_LIMITED = "Allowed", "Denied", "Error", "Rate Limited"
# Approvals (issue 16): a call that now waits for a person, and that person's decision.
APPROVAL_REQUESTED, APPROVED, REJECTED = "Approval Requested", "Approved", "Rejected"
RESULTS = (ALLOWED, DENIED, ERROR, RATE_LIMITED, APPROVAL_REQUESTED, APPROVED, REJECTED)
OPERATIONS = ("read", "create", "update", "delete", "submit", "cancel")
MAX_NAMES = 100
MAX_FIELDS = 300
MAX_TEXT = 2000
MAX_REASON = 500
_FIELDNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,139}(\.[A-Za-z_][A-Za-z0-9_]{0,139})?$")
# Text a JSON-RPC message may quote from the request (pydantic's "input_value=..."): cut from there.
_QUOTED_INPUT_RE = re.compile(r"(input_value|input|value)\s*=.*", re.IGNORECASE | re.DOTALL)
_CONDITION_ROW_RE = re.compile(r"condition row \d+")
JSONRPC_NAMES = {
	-32700: "parse error",
	-32600: "invalid request",
	-32601: "method not found",
	-32602: "invalid params",
	-32603: "internal error",
}


def rule_label(rule: str | None) -> str | None:
	"""A profile rule's name without a condition's description (which quotes configured values):
	"Customer: condition row 2 (territory in ...)" → "Customer: condition row 2"."""
	if not rule:
		return None
	doctype, sep, tail = rule.partition(": ")
	if sep and tail.startswith("condition"):
		match = _CONDITION_ROW_RE.match(tail)
		return f"{doctype}: {match.group(0) if match else 'condition'}"
	return rule.split(" (", 1)[0][:200]


def fieldnames(names: Iterable[Any], limit: int = MAX_FIELDS) -> str:
	"""Sorted field names, one line; anything that is not a plain fieldname (or table.field) is dropped."""
	clean = sorted({n for n in names if isinstance(n, str) and _FIELDNAME_RE.match(n)})
	more = len(clean) - limit
	text = ", ".join(clean[:limit])
	return f"{text}, ... {more} more" if more > 0 else text


def document_names(names: Iterable[Any], limit: int = MAX_NAMES) -> str:
	clean = [str(n) for n in names if isinstance(n, (str, int)) and str(n)]
	out: list[str] = []
	size = 0
	for name in clean[:limit]:
		name = name[:140]
		if size + len(name) > MAX_TEXT - 40:
			break
		out.append(name)
		size += len(name) + 1
	if len(out) < len(clean):
		out.append(f"... {len(clean) - len(out)} more")
	return "\n".join(out)


def returned_fieldnames(result: Any) -> set[str]:
	"""The field names a tool result carries in its documents ("table.field" for child rows)."""
	if not isinstance(result, Mapping):
		return set()
	docs: list[Any] = []
	if isinstance(result.get("document"), Mapping):
		docs.append(result["document"])
	if isinstance(result.get("documents"), list):
		docs.extend(result["documents"])
	names: set[str] = set()
	for doc in docs:
		if not isinstance(doc, Mapping):
			continue
		for key, value in doc.items():
			names.add(key)
			if isinstance(value, list):
				for row in value:
					if isinstance(row, Mapping):
						names.update(f"{key}.{child}" for child in row)
		if len(names) > MAX_FIELDS * 2:
			break
	return names


def clean_message(text: str | None) -> str | None:
	"""Our own messages pass; anything after a quoted request value is cut."""
	if not text:
		return None
	text = _QUOTED_INPUT_RE.sub("", " ".join(str(text).split())).strip(" ,;:[")
	return text[:MAX_REASON] or None


def reason_for(audit: Mapping[str, Any], jsonrpc_error: tuple[int | None, str] | None = None) -> str | None:
	"""The refusal or failure in words an auditor reads, assembled from names only."""
	kind = audit.get("error_kind")
	if kind:
		parts = [str(kind).replace("_", " ")]
		if audit.get("layer"):
			parts.append(f"by {audit['layer']}")
		label = rule_label(audit.get("rule"))
		if label:
			parts.append(f"(rule {label})")
		return " ".join(parts)[:MAX_REASON]
	if audit.get("reason"):
		return clean_message(audit["reason"])
	if jsonrpc_error:
		code, message = jsonrpc_error
		name = JSONRPC_NAMES.get(code, "error") if code is not None else "error"
		detail = clean_message(message)
		return f"JSON-RPC {name} ({code}){': ' + detail if detail else ''}"[:MAX_REASON]
	return None


def result_for(status: int | None, audit: Mapping[str, Any], jsonrpc_error) -> str:
	if audit.get("result") in RESULTS:
		return audit["result"]
	status = 200 if status is None else status  # not HTTP (stdio): only the call's own result counts
	if status == 429:
		return RATE_LIMITED
	if status in (401, 403):
		return DENIED
	if status >= 400 or jsonrpc_error:
		return ERROR
	return ALLOWED


def build(
	*,
	facts: RequestFacts,
	http_method: str,
	status: int | None,
	user: str | None,
	remote_ip: str | None,
	duration_ms: float | None,
	profiles: Sequence[str] = (),
	audit: Mapping[str, Any] | None = None,
	protocol_version: str | None = None,
	reason: str | None = None,
	result: str | None = None,
	jsonrpc_error: tuple[int | None, str] | None = None,
	served_from_cache: bool = False,
) -> dict[str, Any]:
	"""One MCP Audit Log row (fieldname → value) for one exchange; `reason`/`result` override.
	`status` is the HTTP status (None for a message that did not travel over HTTP)."""
	audit = dict(audit or {})
	operation = audit.get("operation")
	doctype = audit.get("doctype")
	named = audit.get("fields") or ()
	returned = audit.get("returned") or ()
	return {
		"user": (user or "Guest")[:140],
		"profiles": ", ".join(profiles)[:MAX_TEXT],
		"client_name": facts.client_name,
		"client_version": facts.client_version,
		"user_agent": facts.user_agent,
		"protocol_version": (protocol_version or facts.protocol_version or "")[:140] or None,
		"remote_ip": (remote_ip or "")[:140] or None,
		"http_method": (http_method or "").upper()[:10],
		"http_status": int(status) if status is not None else None,
		"mcp_method": (audit.get("method") or facts.mcp_method or "")[:140] or None,
		"tool": (str(audit["tool"])[:140] if audit.get("tool") else None),
		"operation": operation if operation in OPERATIONS else None,
		"document_type": (str(doctype)[:140] if doctype else None),
		"document_names": document_names(audit.get("names") or ()) or None,
		"result": result or result_for(status, audit, jsonrpc_error),
		"reason": clean_message(reason) if reason else reason_for(audit, jsonrpc_error),
		"fields_named": fieldnames(named) or None,
		"fields_returned": fieldnames(returned) or None,
		"served_from_cache": 1 if served_from_cache else 0,
		"error_log": audit.get("error_reference"),
		"approval_request": (str(audit["approval_request"])[:140] if audit.get("approval_request") else None),
		"duration_ms": round(float(duration_ms), 1) if duration_ms is not None else 0,
		"request_count": 1,
	}
