"""Answers ERPNext users ask for: totals (aggregate_documents), reports (run_report) and a document's
name from its label (search_link). Totals and link search read through the data backend's list query
as the caller, with the profile's field rules on every field named and its Read conditions as row
filters, so a total never counts a row list_generic_documents would not show."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.server import query
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.report_filters import checked_filters
from erpnext_mcp.server.tools.common import _check_fields, _describe, _require, compact, is_empty
from erpnext_mcp.server.tools.schemas import (
	DATA_NOTICE,
	DOCTYPE_ARG,
	ToolSpec,
	_filters_arg,
	_obj,
	_out,
	_read_only,
)

AGGREGATE_FUNCTIONS = ("count", "sum", "avg", "min", "max")
NUMERIC_FIELDTYPES = frozenset({"Currency", "Float", "Int", "Percent"})
ORDERED_FIELDTYPES = NUMERIC_FIELDTYPES | {"Date", "Datetime"}
MAX_AGGREGATES = 5
MAX_GROUP_BY = 2
MAX_GROUPS = 500
DEFAULT_GROUPS = 20
MAX_LINK_RESULTS = 20
MAX_REPORT_ROWS = 500
DEFAULT_REPORT_ROWS = 50


# ------------------------------------------------------------------ aggregate_documents
def _aggregates(info, raw: Any) -> list[tuple[str, str | None, str]]:
	"""[{function, field}] → (function, fieldname, alias); aliases are ours ("sum_grand_total")."""
	if raw in (None, []):
		raw = [{"function": "count"}]
	if not isinstance(raw, list) or len(raw) > MAX_AGGREGATES:
		raise InvalidArguments(f"aggregates must be a list of 1 to {MAX_AGGREGATES} {{function, field}}")
	out: list[tuple[str, str | None, str]] = []
	for i, item in enumerate(raw):
		where = f"aggregates[{i}]"
		if not isinstance(item, dict) or set(item) - {"function", "field"}:
			raise InvalidArguments(f'{where}: expected {{"function": "sum", "field": "grand_total"}}')
		function = str(item.get("function", "")).lower()
		if function not in AGGREGATE_FUNCTIONS:
			raise InvalidArguments(f"{where}: function must be one of {', '.join(AGGREGATE_FUNCTIONS)}")
		fieldname = item.get("field")
		if function == "count":
			if fieldname not in (None, "", "name"):
				raise InvalidArguments(f'{where}: count counts documents; leave "field" out')
			alias, fieldname = "count", None
		else:
			if not fieldname:
				raise InvalidArguments(f'{where}: {function} needs a "field"')
			query.check_fieldname(info, fieldname, where)
			f = info.field(fieldname)
			allowed = NUMERIC_FIELDTYPES if function in ("sum", "avg") else ORDERED_FIELDTYPES
			fieldtype = f.fieldtype if f else "Data"
			if fieldtype not in allowed:
				kinds = "number" if function in ("sum", "avg") else "number or date"
				raise InvalidArguments(
					f'{where}: {function} needs a {kinds} field; "{fieldname}" of {info.name} is {fieldtype}.'
				)
			alias = f"{function}_{fieldname}"
		if alias not in {a for _, _, a in out}:
			out.append((function, fieldname, alias))
	return out


def _group_by(info, raw: Any) -> list[str]:
	if raw in (None, []):
		return []
	if isinstance(raw, str):
		raw = [raw]
	if not isinstance(raw, list) or len(raw) > MAX_GROUP_BY:
		raise InvalidArguments(f"group_by takes 1 or {MAX_GROUP_BY} fieldnames")
	out = []
	for i, fieldname in enumerate(raw):
		query.check_fieldname(info, fieldname, f"group_by[{i}]")
		f = info.field(fieldname)
		if f is not None and f.is_table:
			raise InvalidArguments(f'group_by[{i}]: "{fieldname}" is a child table')
		if fieldname not in out:
			out.append(fieldname)
	return out


def _aggregate_order(raw: Any, aliases: list[str], group_by: list[str]) -> tuple[str, str] | None:
	if raw in (None, {}):
		return (aliases[0], "desc") if group_by else None
	if not isinstance(raw, dict) or set(raw) - {"field", "direction"} or "field" not in raw:
		raise InvalidArguments('order_by: expected {"field": "sum_grand_total", "direction": "desc"}')
	key = raw["field"]
	if key not in aliases and key not in group_by:
		raise InvalidArguments(
			f"order_by: {key!r} is neither an aggregate ({', '.join(aliases)}) nor a group_by field"
		)
	direction = str(raw.get("direction", "desc")).lower()
	if direction not in ("asc", "desc"):
		raise InvalidArguments('order_by: direction must be "asc" or "desc"')
	return key, direction


def aggregate_documents(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)
	aggregates = _aggregates(info, args.get("aggregates"))
	group_by = _group_by(info, args.get("group_by"))
	filters = query.normalize_filters(info, args.get("filters"))
	aliases = [alias for _, _, alias in aggregates]
	order_by = _aggregate_order(args.get("order_by"), aliases, group_by)
	_, limit = query.page(None, args.get("limit"), default=DEFAULT_GROUPS, maximum=MAX_GROUPS)
	# Every field named passes the profile's field rules: an aggregate of a restricted field, or a
	# group or filter on one, would read it out as surely as a list.
	_check_fields(
		state,
		doctype,
		{
			"fields": [f for _, f, _ in aggregates if f],
			"group_by": group_by,
			"filters": [f[0] for f in filters],
		},
	)
	rows = state.backend.aggregate_documents(
		doctype,
		aggregates=aggregates,
		group_by=group_by,
		filters=filters + state.policy.read_filters(doctype),
		order_by=order_by,
		limit=limit,
	)
	groups = [{k: row.get(k) for k in [*group_by, *aliases]} for row in rows]
	result: dict[str, Any] = {"doctype": doctype, "group_by": group_by, "aggregates": aliases}
	if group_by:
		result["groups"] = groups
		result["truncated"] = len(groups) == limit
	else:
		result["totals"] = groups[0] if groups else {alias: None for alias in aliases}
	if info.is_submittable and "docstatus" not in {f[0] for f in filters}:
		result["note"] = (
			f"{doctype} is submittable and no docstatus filter was given: drafts and cancelled documents "
			'are counted too. Filter {"docstatus": 1} for submitted ones only.'
		)
	result["notice"] = DATA_NOTICE
	return result


# ------------------------------------------------------------------ search_link
def search_link(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	"""Frappe's own link search, then only the documents a list would show, and only those whose
	visible fields contain the text: a match on a field the profile hides is dropped, so the search
	is no oracle for hidden values."""
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)
	text = str(args.get("text") or "").strip()
	if not text:
		raise InvalidArguments("text must not be empty")
	_, limit = query.page(None, args.get("limit"), default=10, maximum=MAX_LINK_RESULTS)
	candidates = state.backend.search_link(doctype, text, page_length=min(limit * 3, 60))
	if not candidates:
		return {"doctype": doctype, "results": [], "notice": DATA_NOTICE}
	title = info.title_field if info.title_field and info.field(info.title_field) else None
	columns = set(info.column_fieldnames())
	searchable = [
		f
		for f in ["name", title, *info.search_fields]
		if f and f in columns and not (info.field(f) and info.field(f).is_table)
	]
	searchable = state.policy.visible_fields(doctype, searchable)
	rows = state.backend.list_documents(
		doctype,
		fields=list(dict.fromkeys(searchable)),
		filters=[["name", "in", candidates], *state.policy.read_filters(doctype)],
		or_filters=None,
		order_by=None,
		start=0,
		page_length=len(candidates),
	)
	words = text.casefold().split()
	by_name = {}
	for row in rows:
		values = [str(v).casefold() for v in row.values() if not is_empty(v)]
		if all(any(word in value for value in values) for word in words):
			by_name[row["name"]] = row
	results = []
	for name in candidates:
		row = by_name.get(name)
		if row is None:
			continue
		item = {"name": name}
		if title and title in row and title != "name" and not is_empty(row[title]) and row[title] != name:
			item["title"] = row[title]
		results.append(item)
		if len(results) == limit:
			break
	state.audit["names"] = [r["name"] for r in results]
	state.audit.setdefault("fields", set()).update(searchable)
	return {"doctype": doctype, "results": results, "notice": DATA_NOTICE}


# ------------------------------------------------------------------ run_report
def run_report(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	report = args["report_name"]
	state.audit.setdefault("doctype", "Report")
	state.audit.setdefault("operation", "read")
	state.audit["names"] = [report]
	state.policy.check_report(report).raise_if_denied()
	definition = state.backend.report_definition(report)
	if definition["report_type"] not in ("Query Report", "Script Report"):
		raise InvalidArguments(
			f"{report} is a {definition['report_type']}; run_report runs query and script reports. "
			"Use list_generic_documents or aggregate_documents for the same data."
		)
	filters = checked_filters(definition, args.get("filters"))
	state.audit.setdefault("fields", set()).update(filters)
	_, limit = query.page(None, args.get("limit"), default=DEFAULT_REPORT_ROWS, maximum=MAX_REPORT_ROWS)
	result = state.backend.run_report(report, filters)
	columns = result["columns"]
	wanted = args.get("columns")
	if wanted:
		known = {c["fieldname"] for c in columns}
		unknown = [c for c in wanted if c not in known]
		if unknown:
			raise InvalidArguments(
				f"{report} has no column {', '.join(map(repr, unknown))}. Its columns: "
				+ ", ".join(f"{c['fieldname']} ({c['label']})" for c in columns)
			)
		columns = [c for c in columns if c["fieldname"] in wanted]
	names = [c["fieldname"] for c in columns]
	rows = result["rows"]
	out_rows = [compact({k: row.get(k) for k in names if k in row}) for row in rows[:limit]]
	out: dict[str, Any] = {
		"report": report,
		"filters": filters,
		"columns": [{k: v for k, v in c.items() if v} for c in columns],
		"rows": out_rows,
		"total_rows": len(rows),
		"limit": limit,
		"truncated": len(rows) > limit,
	}
	if result.get("has_total_row"):
		out["total_row"] = "the last of the report's rows is its total row"
	if len(rows) > limit:
		out["note"] = (
			f"Showing {limit} of {len(rows)} rows. Narrow the filters, or raise limit (at most {MAX_REPORT_ROWS})."
		)
	out["notice"] = DATA_NOTICE
	return out


def specs(state: CallState) -> list[ToolSpec]:
	"""The analytics tools, in catalogue order."""
	fieldname = {"type": "string", "maxLength": 140}
	return [
		ToolSpec(
			"aggregate_documents",
			"Totals",
			"Count, sum, avg, min or max over all documents of a DocType you may read (not a page), "
			"optionally grouped by up to 2 fields, filtered, sorted by an aggregate: e.g. this month's "
			"invoiced total, or the top 10 customers by revenue.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"aggregates": {
						"type": "array",
						"minItems": 1,
						"maxItems": MAX_AGGREGATES,
						"items": _obj(
							{
								"function": {"type": "string", "enum": list(AGGREGATE_FUNCTIONS)},
								"field": fieldname,
							},
							["function"],
						),
						"description": 'Default [{"function": "count"}]. Results are named "count", "sum_<field>"...',
					},
					"group_by": {"type": "array", "items": fieldname, "maxItems": MAX_GROUP_BY},
					"filters": _filters_arg(),
					"order_by": _obj(
						{"field": fieldname, "direction": {"type": "string", "enum": ["asc", "desc"]}},
						["field"],
					),
					"limit": {
						"type": "integer",
						"minimum": 1,
						"maximum": MAX_GROUPS,
						"description": f"Groups to return; default {DEFAULT_GROUPS}.",
					},
				},
				["doctype"],
			),
			aggregate_documents,
			_read_only(),
			_out({"aggregates": {"type": "array"}}, ["aggregates"]),
			operation="read",
		),
		ToolSpec(
			"search_link",
			"Find by label",
			"Find a document's name (ID) from what people call it (a customer's or item's name, or part of "
			"it), as ERPNext's link fields search.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"text": {"type": "string", "minLength": 1, "maxLength": 140},
					"limit": {"type": "integer", "minimum": 1, "maximum": MAX_LINK_RESULTS},
				},
				["doctype", "text"],
			),
			search_link,
			_read_only(),
			_out({"results": {"type": "array"}}, ["results"]),
			operation="read",
		),
		ToolSpec(
			"run_report",
			"Run report",
			"Run an ERPNext report your profile names (e.g. Accounts Receivable) with its filters, as in "
			"Desk; an unknown filter is refused with the report's list. Rows are {column fieldname: value} "
			"without empty and zero values.",
			_obj(
				{
					"report_name": {"type": "string", "minLength": 1, "maxLength": 140},
					"filters": {"type": "object", "description": 'Report filters, e.g. {"company": "..."}.'},
					"columns": {
						"type": "array",
						"items": fieldname,
						"maxItems": 50,
						"description": "Only these columns.",
					},
					"limit": {
						"type": "integer",
						"minimum": 1,
						"maximum": MAX_REPORT_ROWS,
						"description": f"Rows to return; default {DEFAULT_REPORT_ROWS}.",
					},
				},
				["report_name"],
			),
			run_report,
			_read_only(),
			_out({"columns": {"type": "array"}, "rows": {"type": "array"}}, ["columns", "rows"]),
			usable=lambda state: bool(state.policy.reports()),
		),
	]
