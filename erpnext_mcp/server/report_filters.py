"""The one check of run_report's filters against the report's own filter definitions (pure: the
definitions come from data/reports.py through the backend)."""

from __future__ import annotations

import re
from typing import Any

from erpnext_mcp.exceptions import InvalidArguments

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _scalar(value: Any) -> bool:
	return value is None or isinstance(value, (str, int, float, bool))


def checked_filters(definition: dict[str, Any], given: Any) -> dict[str, Any]:
	"""The filters a run uses: each named one must be the report's own, of its type; required ones
	come from the call or the report's default; unknown names are refused naming the known ones."""
	if given in (None, {}):
		given = {}
	if not isinstance(given, dict):
		raise InvalidArguments('filters must be an object {"filter fieldname": value}')
	known = definition["filters"]
	if known is None:
		# Filters defined in code this server cannot read: plain values only, Frappe checks the rest.
		for key, value in given.items():
			if not re.fullmatch(r"[a-z_][a-z0-9_]{0,139}", str(key)):
				raise InvalidArguments(f"filters: {key!r} is not a filter name")
			if not (_scalar(value) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
				raise InvalidArguments(f"filters.{key}: takes a single value or a list of texts")
		return dict(given)
	by_name = {f["fieldname"]: f for f in known}
	unknown = sorted(set(given) - set(by_name))
	if unknown:
		raise InvalidArguments(
			f"{definition['name']} has no filter {', '.join(map(repr, unknown))}. Its filters: "
			+ ", ".join(f"{f['fieldname']} ({f['label']}, {f['fieldtype']})" for f in known)
		)
	out: dict[str, Any] = {}
	for f in known:
		name, fieldtype = f["fieldname"], f["fieldtype"]
		value = given.get(name, f["default"])
		if value in (None, "", []):
			if f["reqd"]:
				raise InvalidArguments(
					f'{definition["name"]} needs the filter "{name}" ({f["label"]}, {fieldtype}).'
				)
			continue
		where = f"filters.{name}"
		if fieldtype in ("MultiSelectList", "MultiSelect"):
			values = value if isinstance(value, list) else [value]
			if not all(isinstance(v, str) and len(v) <= 140 for v in values) or len(values) > 100:
				raise InvalidArguments(f"{where}: takes a list of up to 100 texts")
			value = values
		elif fieldtype == "Check":
			if value not in (0, 1, True, False, "0", "1"):
				raise InvalidArguments(f"{where}: takes 0 or 1")
			value = int(value in (1, True, "1"))
		elif fieldtype in ("Int", "Float", "Currency", "Percent"):
			if isinstance(value, bool) or not isinstance(value, (int, float)):
				raise InvalidArguments(f"{where}: takes a number")
		elif fieldtype == "Date":
			if not isinstance(value, str) or not _DATE_RE.match(value):
				raise InvalidArguments(f'{where}: takes a date "YYYY-MM-DD"')
		elif fieldtype == "DateRange":
			if not (
				isinstance(value, list)
				and len(value) == 2
				and all(isinstance(v, str) and _DATE_RE.match(v) for v in value)
			):
				raise InvalidArguments(f'{where}: takes ["YYYY-MM-DD", "YYYY-MM-DD"]')
		elif fieldtype == "Select" and f.get("options"):
			options = [o for o in f["options"].split("\n")]
			if value not in options:
				raise InvalidArguments(f"{where}: takes one of {[o for o in options if o]}")
		elif not isinstance(value, (str, int, float)) or isinstance(value, bool) or len(str(value)) > 500:
			raise InvalidArguments(f"{where}: takes a single value of at most 500 characters")
		out[name] = value
	return out
