"""Helpers every tool family shares: the gate for documents addressed by name, profile checks on
operations and fields, cutting rows to what the profile shows, paging."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.data import gate
from erpnext_mcp.data.backend import DocTypeInfo
from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.schemas import (
	DATA_NOTICE,
)


def _describe(state: CallState, doctype: str) -> DocTypeInfo:
	info = state.backend.describe(doctype)
	if info.is_table:
		# Child rows are reached through their parent, whose permissions and rules decide; addressed
		# directly they would let a caller read rows of documents it may not open.
		raise InvalidArguments(
			f"{doctype} is a child table: read and write its rows through the parent document "
			"(get_generic_document / update_generic_document on the parent)."
		)
	return info


def _require(state: CallState, operation: str, doctype: str) -> None:
	state.audit.setdefault("doctype", doctype)
	state.audit.setdefault("operation", operation)
	state.policy.check_operation(operation, doctype).raise_if_denied()


def _open(state: CallState, operation: str, doctype: str, name: str) -> dict[str, Any]:
	"""Every tool that addresses a document by name starts here: the gate (data/gate.py) decides."""
	state.audit.setdefault("doctype", doctype)
	state.audit.setdefault("operation", operation)
	state.audit["names"] = [name]
	return gate.open_document(
		state.backend,
		state.policy,
		doctype,
		name,
		operation,
		lock=operation != "read",
		approved=state.approval is not None,
	)


def _check_fields(state: CallState, doctype: str, named: dict[str, list[str]]) -> None:
	for purpose, names in named.items():
		if names:
			state.audit.setdefault("fields", set()).update(names)
			state.policy.check_fields(doctype, names, purpose).raise_if_denied()


def visible_fields(state: CallState, info: DocTypeInfo, fieldnames: list[str]) -> list[str]:
	"""Child tables travel with their parent: their fields are visible unless the profile has a rule
	for the child DocType itself (e.g. "Sales Invoice Item") that restricts them."""
	if info.is_table and state.policy.rule_for(info.name) is None:
		return list(fieldnames)
	return state.policy.visible_fields(info.name, fieldnames)


def check_child_write(state: CallState, info: DocTypeInfo, fieldnames: list[str]):
	if info.is_table and state.policy.rule_for(info.name) is None:
		return
	state.policy.check_fields(info.name, fieldnames, "write").raise_if_denied()


def _visible_row(state: CallState, info: DocTypeInfo, row: dict[str, Any]) -> dict[str, Any]:
	"""One document (child rows included) cut down to what the profile lets this caller see."""
	keep = set(visible_fields(state, info, list(row)))
	out: dict[str, Any] = {}
	for key, value in row.items():
		if key not in keep:
			continue
		child = info.children.get(key)
		if child is not None and isinstance(value, list):
			out[key] = [_visible_row(state, child, r) for r in value if isinstance(r, dict)]
		else:
			out[key] = value
	return out


def _default_list_fields(state: CallState, info: DocTypeInfo) -> list[str]:
	preferred = ["name"]
	if info.title_field and info.field(info.title_field):
		preferred.append(info.title_field)
	preferred += [f.fieldname for f in info.fields if f.in_list_view and not f.is_table]
	preferred += ["modified"]
	seen: list[str] = []
	for fieldname in preferred:
		if fieldname not in seen:
			seen.append(fieldname)
	return state.policy.visible_fields(info.name, seen)


# What a compact document always carries, and what a child row drops because it repeats the parent.
ALWAYS_KEPT = frozenset({"name", "docstatus", "modified"})
CHILD_REPEATS_PARENT = frozenset({"owner", "creation", "modified", "modified_by", "docstatus"})


def is_empty(value: Any) -> bool:
	"""None, "", [] and a zero number (a Check that is off, an amount that was never set)."""
	if value is None or value == "" or value == []:
		return True
	return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def compact(
	row: dict[str, Any], keep: frozenset[str] = frozenset(), *, child: bool = False
) -> dict[str, Any]:
	"""A document as an agent needs it: without null, empty and zero values (every byte is paid for in
	the model's context), always with name, docstatus and modified, and with the fields it asked for.
	Applied after the profile's field rules: it only ever drops, never shows more."""
	out: dict[str, Any] = {}
	for key, value in row.items():
		if child and key in CHILD_REPEATS_PARENT:
			continue
		if isinstance(value, list):
			rows = [compact(r, child=True) for r in value if isinstance(r, dict)]
			if rows or key in keep:
				out[key] = rows
			continue
		if key in keep or key == "name" or (not child and key in ALWAYS_KEPT) or not is_empty(value):
			out[key] = value
	return out


def shown(state: CallState, info: DocTypeInfo, row: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
	"""A row as a result carries it: what the profile shows, compact unless include_empty."""
	visible = _visible_row(state, info, row)
	if args.get("include_empty"):
		return visible
	return compact(visible, frozenset(args.get("fields") or ()))


def _page_result(doctype: str, rows: list[dict], start: int, limit: int) -> dict[str, Any]:
	return {
		"doctype": doctype,
		"documents": rows,
		"start": start,
		"limit": limit,
		"next_start": start + limit if len(rows) == limit else None,
		"notice": DATA_NOTICE,
	}
