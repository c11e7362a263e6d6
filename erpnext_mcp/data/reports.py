"""ERPNext's query and script reports, run as the caller through Frappe's own report runner
(frappe.desk.query_report.run: the Report's roles and ERPNext's report permission on its DocType
apply), and their filter definitions, so a run_report call is checked before it runs.

A standard report defines its filters in its .js file (what Desk's filter bar shows); a report made
in Desk keeps them in the Report's own Filters table. Both are read here; the .js text is scanned,
never executed, and only literal values and the two defaults every report uses (the user's default
company, today) are understood.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from typing import Any

import frappe
from frappe.modules import get_module_path, scrub

RUNNABLE_TYPES = ("Query Report", "Script Report")
_FILTERS_START = re.compile(r"\bfilters\s*:\s*\[")
_KEY = r"(?:^|[,{\s])%s\s*:\s*"
_STRING = r"""(?:__\(\s*)?(["'`])((?:\\.|(?!\1).)*)\1"""


def _objects_in_array(text: str, start: int) -> list[str]:
	"""The top-level {...} objects of the JS array opening at text[start] == "[" (strings skipped)."""
	objects, depth, quote, begin, i = [], 0, None, None, start + 1
	while i < len(text):
		ch = text[i]
		if quote:
			if ch == "\\":
				i += 2
				continue
			if ch == quote:
				quote = None
		elif ch in "\"'`":
			quote = ch
		elif ch in "{[(":
			if depth == 0 and ch == "{":
				begin = i
			depth += 1
		elif ch in "}])":
			if depth == 0:
				break  # the array's own "]"
			depth -= 1
			if depth == 0 and ch == "}" and begin is not None:
				objects.append(text[begin : i + 1])
				begin = None
		i += 1
	return objects


def _top_level(obj: str) -> str:
	"""An object's own text, with nested objects, arrays and function bodies blanked out (calls such
	as __("Label") stay: they carry labels and defaults)."""
	out, depth, quote, i = [], 0, None, 0
	body = obj[1:-1]
	while i < len(body):
		ch = body[i]
		if quote:
			if depth == 0:
				out.append(ch)
			if ch == "\\" and i + 1 < len(body):
				if depth == 0:
					out.append(body[i + 1])
				i += 2
				continue
			if ch == quote:
				quote = None
		elif ch in "\"'`":
			quote = ch
			if depth == 0:
				out.append(ch)
		elif ch in "{[":
			depth += 1
			if depth == 1:
				out.append(ch)
		elif ch in "}]":
			depth -= 1
			if depth == 0:
				out.append(ch)
		elif depth == 0:
			out.append(ch)
		i += 1
	return "".join(out)


def _string_value(text: str, key: str) -> str | None:
	m = re.search(_KEY % key + _STRING, text)
	return m.group(2).replace("\\n", "\n") if m else None


def _default(text: str) -> Any:
	m = re.search(_KEY % "default" + r"(.+?)\s*(?:,\s*[a-z_]+\s*:|$)", text, re.S)
	if not m:
		return None
	expr = m.group(1).strip().rstrip(",").strip()
	literal = re.fullmatch(_STRING, expr)
	if literal:
		return literal.group(2)
	if re.fullmatch(r"-?\d+(\.\d+)?", expr):
		return json.loads(expr)
	user_default = re.fullmatch(r"""frappe\.defaults\.get_user_default\(\s*["'](\w[\w ]*)["']\s*\)""", expr)
	if user_default:
		return frappe.defaults.get_user_default(user_default.group(1))
	if re.fullmatch(r"frappe\.datetime\.(get_today|now_date)\(\s*\)", expr):
		return date.today().isoformat()
	return None  # an expression Desk evaluates in the browser: no default here


def parse_js_filters(text: str) -> list[dict[str, Any]]:
	"""The filter definitions of a report's .js text: fieldname, label, fieldtype, options, reqd, default."""
	found = _FILTERS_START.search(text)
	if not found:
		return []
	out = []
	for obj in _objects_in_array(text, found.end() - 1):
		own = _top_level(obj)
		fieldname = _string_value(own, "fieldname")
		if not fieldname:
			continue
		reqd = re.search(_KEY % "reqd" + r"(1|true)\b", own)
		out.append(
			{
				"fieldname": fieldname,
				"label": _string_value(own, "label") or fieldname,
				"fieldtype": _string_value(own, "fieldtype") or "Data",
				"options": _string_value(own, "options"),
				"reqd": bool(reqd),
				"default": _default(own),
			}
		)
	return out


def report_definition(report_name: str) -> dict[str, Any]:
	"""The Report as the caller may run it: Frappe's own checks (the Report's roles) first."""
	from frappe.desk.query_report import get_report_doc

	report = get_report_doc(report_name)  # raises PermissionError for a Report the user may not open
	definitions: list[dict[str, Any]] | None = None
	if report.get("filters"):
		definitions = [
			{
				"fieldname": f.fieldname,
				"label": f.label or f.fieldname,
				"fieldtype": f.fieldtype or "Data",
				"options": f.options,
				"reqd": bool(f.mandatory),
				"default": f.default,
			}
			for f in report.filters
		]
	elif report.is_standard == "Yes" and report.report_type in RUNNABLE_TYPES:
		folder = scrub(report.reference_report or report.name)
		path = os.path.join(get_module_path(report.module), "report", folder, folder + ".js")
		if os.path.exists(path):
			with open(path, encoding="utf-8") as f:
				definitions = parse_js_filters(f.read()) or None
	return {
		"name": report.name,
		"report_type": report.report_type,
		"ref_doctype": report.ref_doctype,
		"filters": definitions,  # None: the report's filters could not be read
		"add_total_row": bool(report.add_total_row),
	}


def _column(col: Any) -> dict[str, Any]:
	"""A report column as {fieldname, label, fieldtype, options}, from a dict or "Label:Type/Options:Width"."""
	if isinstance(col, dict):
		label = col.get("label") or col.get("fieldname") or ""
		out = {"fieldname": col.get("fieldname") or scrub(label), "label": label}
		out["fieldtype"] = col.get("fieldtype") or "Data"
		if col.get("options") and out["fieldtype"] in ("Link", "Dynamic Link", "Currency"):
			out["options"] = col["options"]
		return out
	parts = str(col).split(":")
	label = parts[0]
	fieldtype, options = "Data", None
	if len(parts) > 1 and parts[1]:
		fieldtype, _, options = parts[1].partition("/")
	out = {"fieldname": scrub(label), "label": label, "fieldtype": fieldtype or "Data"}
	if options:
		out["options"] = options
	return out


def run(report_name: str, filters: dict[str, Any]) -> dict[str, Any]:
	"""Run the report as the caller; columns named, rows as {fieldname: value}."""
	from frappe.desk.query_report import run as run_report

	result = run_report(report_name, filters=filters, ignore_prepared_report=True, are_default_filters=False)
	columns = [_column(c) for c in result.get("columns") or []]
	names = [c["fieldname"] for c in columns]
	rows = []
	for row in result.get("result") or []:
		if isinstance(row, dict):
			rows.append({k: v for k, v in row.items() if k in names})
		elif isinstance(row, (list, tuple)):
			rows.append(dict(zip(names, row, strict=False)))
	return {
		"columns": columns,
		"rows": rows,
		"message": result.get("message"),
		"has_total_row": bool(result.get("add_total_row")),
	}
