"""The single authority that turns a tool's query arguments into values Frappe may see.

Allow-list only: real fieldnames of the DocType that the caller may read, structured filters with a
fixed set of operators, order_by as {field, direction}. Anything else is refused with a message that
names the problem; nothing is forwarded as free SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from erpnext_mcp.data.backend import STANDARD_FIELDS, DocTypeInfo
from erpnext_mcp.exceptions import InvalidArguments

FIELDNAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,139}$")
FILTER_OPERATORS = (
	"=",
	"!=",
	"<",
	"<=",
	">",
	">=",
	"like",
	"not like",
	"in",
	"not in",
	"between",
	"is",
)
MAX_FILTERS = 20
MAX_IN_VALUES = 100
MAX_VALUE_LENGTH = 500
SCALAR_TYPES = (str, int, float, bool)


@dataclass
class ListQuery:
	fields: list[str]
	filters: list[list]
	order_by: str | None
	start: int
	page_length: int
	# Every field the request names anywhere, for the policy check and the audit record.
	named_fields: dict[str, list[str]]


def check_fieldname(info: DocTypeInfo, fieldname: Any, where: str) -> str:
	if not isinstance(fieldname, str) or not FIELDNAME_RE.match(fieldname):
		raise InvalidArguments(
			f"{where}: {fieldname!r} is not a field name. Use a plain fieldname of {info.name} such as "
			f'"name" (no expressions, functions, backticks, "table.field" or "*"). '
			f"Call describe_doctype to see the fields."
		)
	if not info.knows(fieldname):
		raise InvalidArguments(
			f'{where}: {info.name} has no field "{fieldname}". Call describe_doctype to see its fields.'
		)
	if fieldname not in STANDARD_FIELDS and info.field(fieldname) is None:
		raise InvalidArguments(
			f'{where}: field "{fieldname}" of {info.name} is not readable by you (ERPNext field permission level).'
		)
	return fieldname


def _check_scalar(value: Any, where: str) -> Any:
	if value is None or isinstance(value, SCALAR_TYPES):
		if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
			raise InvalidArguments(f"{where}: value longer than {MAX_VALUE_LENGTH} characters")
		if isinstance(value, float) and value != value:  # NaN compares with nothing
			raise InvalidArguments(f"{where}: NaN is not a value")
		return value
	raise InvalidArguments(
		f"{where}: value must be a string, number, boolean or null, not {type(value).__name__}"
	)


def normalize_filters(info: DocTypeInfo, raw: Any) -> list[list]:
	"""Accepts {field: value} (equality) or [{field, op, value}] / [[field, op, value]]."""
	if raw in (None, {}, []):
		return []
	items: list[tuple[Any, Any, Any]] = []
	if isinstance(raw, dict):
		items = [(k, "=", v) for k, v in raw.items()]
	elif isinstance(raw, list):
		for i, item in enumerate(raw):
			if isinstance(item, dict):
				extra = set(item) - {"field", "op", "value"}
				if extra or "field" not in item:
					raise InvalidArguments(
						f"filters[{i}]: expected an object with keys field, op, value; got keys {sorted(item)}"
					)
				items.append((item["field"], item.get("op", "="), item.get("value")))
			elif isinstance(item, list) and len(item) == 3:
				items.append(tuple(item))
			else:
				raise InvalidArguments(f"filters[{i}]: expected {{field, op, value}} or [field, op, value]")
	else:
		raise InvalidArguments("filters must be an object {field: value} or a list of {field, op, value}")
	if len(items) > MAX_FILTERS:
		raise InvalidArguments(f"at most {MAX_FILTERS} filters are allowed")

	out = []
	for i, (fieldname, op, value) in enumerate(items):
		where = f"filters[{i}]"
		check_fieldname(info, fieldname, where)
		if not isinstance(op, str) or op.strip().lower() not in FILTER_OPERATORS:
			raise InvalidArguments(
				f"{where}: operator {op!r} is not allowed; use one of {', '.join(FILTER_OPERATORS)}"
			)
		op = op.strip().lower()
		if op in ("in", "not in"):
			if not isinstance(value, list) or not value:
				raise InvalidArguments(f'{where}: "{op}" needs a non-empty list of values')
			if len(value) > MAX_IN_VALUES:
				raise InvalidArguments(f'{where}: "{op}" accepts at most {MAX_IN_VALUES} values')
			value = [_check_scalar(v, where) for v in value]
		elif op == "between":
			if not isinstance(value, list) or len(value) != 2:
				raise InvalidArguments(f'{where}: "between" needs a list of two values [from, to]')
			value = [_check_scalar(v, where) for v in value]
		elif op == "is":
			if value not in ("set", "not set"):
				raise InvalidArguments(f'{where}: "is" takes the value "set" or "not set"')
		else:
			value = _check_scalar(value, where)
		out.append([fieldname, op, value])
	return out


def normalize_order_by(info: DocTypeInfo, raw: Any) -> tuple[str | None, list[str]]:
	"""[{field, direction}] → "`field` asc, ..." built by us, never taken from the client."""
	if raw in (None, [], {}):
		return None, []
	if isinstance(raw, dict):
		raw = [raw]
	if not isinstance(raw, list):
		raise InvalidArguments('order_by must be {"field": ..., "direction": "asc"|"desc"} or a list of them')
	parts, named = [], []
	for i, item in enumerate(raw[:3]):
		if not isinstance(item, dict) or set(item) - {"field", "direction"} or "field" not in item:
			raise InvalidArguments(f'order_by[{i}]: expected {{"field": ..., "direction": "asc"|"desc"}}')
		fieldname = check_fieldname(info, item["field"], f"order_by[{i}]")
		if fieldname in _table_fieldnames(info):
			raise InvalidArguments(f'order_by[{i}]: "{fieldname}" is a child table and cannot be sorted on')
		direction = str(item.get("direction", "desc")).lower()
		if direction not in ("asc", "desc"):
			raise InvalidArguments(f'order_by[{i}]: direction must be "asc" or "desc"')
		parts.append(f"`tab{info.name}`.`{fieldname}` {direction}")
		named.append(fieldname)
	if len(raw) > 3:
		raise InvalidArguments("order_by accepts at most 3 sort keys")
	return ", ".join(parts), named


def _table_fieldnames(info: DocTypeInfo) -> set[str]:
	return {f.fieldname for f in info.fields if f.is_table}


def normalize_fields(info: DocTypeInfo, raw: Any, default: list[str]) -> list[str]:
	if raw in (None, []):
		return list(default)
	if raw == ["*"] or raw == "*":
		return list(default)
	if not isinstance(raw, list):
		raise InvalidArguments("fields must be a list of fieldnames")
	if len(raw) > 100:
		raise InvalidArguments("at most 100 fields may be requested")
	out = []
	for i, fieldname in enumerate(raw):
		check_fieldname(info, fieldname, f"fields[{i}]")
		if fieldname in _table_fieldnames(info):
			raise InvalidArguments(
				f'fields[{i}]: "{fieldname}" is a child table; use get_generic_document to read child rows'
			)
		if fieldname not in out:
			out.append(fieldname)
	if "name" not in out:
		out.insert(0, "name")
	return out


def page(raw_start: Any, raw_limit: Any, *, default: int, maximum: int) -> tuple[int, int]:
	# Frappe reads a page length of 0 as "no limit": never pass it through.
	start = 0 if raw_start is None else raw_start
	limit = default if raw_limit is None else raw_limit
	if not isinstance(start, int) or isinstance(start, bool) or start < 0:
		raise InvalidArguments("start must be a whole number >= 0")
	if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
		raise InvalidArguments(f"limit must be a whole number from 1 to {maximum}")
	if limit > maximum:
		raise InvalidArguments(f"limit may be at most {maximum}; page with start for more")
	if start > 1_000_000:
		raise InvalidArguments("start is too large")
	return start, limit


def list_query(
	info: DocTypeInfo, args: dict[str, Any], *, default_fields: list[str], default_limit: int, max_limit: int
) -> ListQuery:
	fields = normalize_fields(info, args.get("fields"), default_fields)
	filters = normalize_filters(info, args.get("filters"))
	order_by, order_fields = normalize_order_by(info, args.get("order_by"))
	start, page_length = page(args.get("start"), args.get("limit"), default=default_limit, maximum=max_limit)
	return ListQuery(
		fields=fields,
		filters=filters,
		order_by=order_by,
		start=start,
		page_length=page_length,
		named_fields={
			"fields": fields,
			"filters": [f[0] for f in filters],
			"order_by": order_fields,
		},
	)


def escape_like(text: str) -> str:
	return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
