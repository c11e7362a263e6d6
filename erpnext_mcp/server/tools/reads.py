"""Reading documents: get, list and search, generic (the per-DocType tools bind the same handlers)."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.server import query
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.common import (
	_check_fields,
	_default_list_fields,
	_describe,
	_open,
	_page_result,
	_require,
	shown,
)
from erpnext_mcp.server.tools.schemas import (
	DATA_NOTICE,
	DOC_OUT,
	DOCTYPE_ARG,
	INCLUDE_EMPTY_ARG,
	LIST_OUT,
	NAME_ARG,
	START_ARG,
	ToolSpec,
	_field_list,
	_filters_arg,
	_limit_arg,
	_obj,
	_order_by_arg,
	_read_only,
)


def get_document(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype, name = args["doctype"], args["name"]
	info = _describe(state, doctype)
	doc = _open(state, "read", doctype, name)
	if args.get("fields"):
		fields = query.normalize_fields(info, args["fields"], [])
		_check_fields(state, doctype, {"fields": fields})
	else:
		fields = None
	visible = shown(state, info, doc, args)
	if fields:
		visible = {k: v for k, v in visible.items() if k in fields or k == "name"}
	return {"doctype": doctype, "name": doc["name"], "document": visible, "notice": DATA_NOTICE}


def list_documents(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)
	q = query.list_query(
		info,
		args,
		default_fields=_default_list_fields(state, info),
		default_limit=state.settings.default_page_length,
		max_limit=state.settings.max_page_length,
	)
	_check_fields(state, doctype, q.named_fields)
	filters = q.filters + state.policy.read_filters(doctype)
	rows = state.backend.list_documents(
		doctype,
		fields=q.fields,
		filters=filters,
		or_filters=None,
		order_by=q.order_by,
		start=q.start,
		page_length=q.page_length,
	)
	state.audit["names"] = [r.get("name") for r in rows]
	result = _page_result(doctype, [shown(state, info, r, args) for r in rows], q.start, q.page_length)
	if args.get("with_count"):
		# Under exactly the list's filters and the caller's permissions: never a row it cannot read.
		result["count"] = (
			q.start + len(rows)
			if result["next_start"] is None and (rows or q.start == 0)
			else state.backend.count_documents(doctype, filters)
		)
	return result


def search_documents(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)
	text = args["query"].strip()
	if not text:
		raise InvalidArguments("query must not be empty")
	search_in = ["name"]
	for fieldname in [info.title_field, *info.search_fields]:
		if (
			fieldname
			and fieldname not in search_in
			and info.field(fieldname)
			and not info.field(fieldname).is_table
		):
			search_in.append(fieldname)
	# Search only over fields the profile lets the caller see, so a match cannot reveal a hidden value.
	search_in = state.policy.visible_fields(doctype, search_in)
	q = query.list_query(
		info,
		{k: args.get(k) for k in ("fields", "filters", "start", "limit")},
		default_fields=_default_list_fields(state, info),
		default_limit=state.settings.default_page_length,
		max_limit=state.settings.max_page_length,
	)
	_check_fields(state, doctype, {**q.named_fields, "search": search_in})
	pattern = f"%{query.escape_like(text)}%"
	rows = state.backend.list_documents(
		doctype,
		fields=q.fields,
		filters=q.filters + state.policy.read_filters(doctype),
		or_filters=[[f, "like", pattern] for f in search_in],
		order_by=q.order_by,
		start=q.start,
		page_length=q.page_length,
	)
	state.audit["names"] = [r.get("name") for r in rows]
	result = _page_result(doctype, [shown(state, info, r, args) for r in rows], q.start, q.page_length)
	result["searched_fields"] = search_in
	return result


def specs(state: CallState) -> list[ToolSpec]:
	"""The reads tools, in catalogue order."""
	s = state.settings
	limit = _limit_arg(s.max_page_length, s.default_page_length)
	list_props = {
		"doctype": DOCTYPE_ARG,
		"fields": _field_list(),
		"filters": _filters_arg(),
		"order_by": _order_by_arg(),
		"limit": limit,
		"start": START_ARG,
		"include_empty": INCLUDE_EMPTY_ARG,
		"with_count": {
			"type": "boolean",
			"description": "Also return count: how many documents match the filters (all pages).",
		},
	}
	return [
		ToolSpec(
			"get_generic_document",
			"Get document",
			"Read one document of any DocType you may read, with its child table rows. Only fields your "
			"ERPNext roles and MCP profile allow are returned.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"name": NAME_ARG,
					"fields": _field_list(),
					"include_empty": INCLUDE_EMPTY_ARG,
				},
				["doctype", "name"],
			),
			get_document,
			_read_only(),
			DOC_OUT,
			operation="read",
		),
		ToolSpec(
			"list_generic_documents",
			"List documents",
			"List documents of a DocType with chosen fields, structured filters, sort order and paging "
			"(next_start in the result gives the next page).",
			_obj(list_props, ["doctype"]),
			list_documents,
			_read_only(),
			{**LIST_OUT, "properties": {**LIST_OUT["properties"], "count": {"type": "integer"}}},
			operation="read",
		),
		ToolSpec(
			"search_generic_documents",
			"Search documents",
			"Find documents of a DocType whose name, title or search fields contain the text.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"query": {
						"type": "string",
						"minLength": 1,
						"maxLength": 140,
						"description": "Text to look for.",
					},
					"fields": _field_list(),
					"filters": _filters_arg(),
					"limit": limit,
					"start": START_ARG,
					"include_empty": INCLUDE_EMPTY_ARG,
				},
				["doctype", "query"],
			),
			search_documents,
			_read_only(),
			{**LIST_OUT, "properties": {**LIST_OUT["properties"], "searched_fields": {"type": "array"}}},
			operation="read",
		),
	]
