"""The single authority on what a value condition means: validation, evaluation and its Frappe filter form.

Semantics (the Desk form's help text says the same):

- "=", "!=", "in", "not in" compare text after `str(x).strip().casefold()`, so a write cannot dodge a
  "not in" by changing case or adding spaces (MariaDB's default collation ignores case too, so the
  list filters agree). None, "" and blanks all mean "not set": "= <nothing>" is "is not set" and
  "!= <nothing>" is "is set"; a list for "in" may name "" to accept an unset field.
- Numbers: int, float, Decimal and numeric strings compare as numbers, so "5" equals 5.0. Booleans and
  Check values compare as 0/1 (True equals 1 and "1"). Two *strings* that are equal as numbers but
  written differently ("1.0" and "1", "007" and "7") are ambiguous: a Link name "007" is not "7" but
  an Int field stores both as 7. Such a value meets neither "=" nor "!=", neither "in" nor "not in";
  it is refused whichever way the condition is written.
- Dates: date/datetime objects and ISO strings ("2024-05-01", "2024-05-01 10:30:00") compare as
  dates. A date against a datetime compares on the date part only, so 2024-05-01 10:30 equals
  2024-05-01 and lies "between" 2024-04-01 and 2024-05-01 (as Frappe's own Datetime filters do).
- "<", "<=", ">", ">=", "between" (inclusive) compare numbers with numbers, dates with dates and text
  with text; any other pairing (e.g. "abc" < 5), an unset value or a list is simply "not met".
- "is set": not None, not blank, not an empty list. "is not set": the opposite. A missing field is None.
- A value that is a list or a dict never meets a value comparison: a write cannot smuggle a list past
  a "not in".
- An invalid condition (see validate_condition) is never met: a misconfigured rule refuses, it does
  not open.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.policy.model import CONDITION_OPERATORS, CONDITION_TARGETS, Condition, json_value

FIELDNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,140}$")
_NUMERIC_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$")
_SCALAR_TYPES = (str, int, float, Decimal, date)  # bool is an int, datetime is a date
_EQUALITY = ("=", "!=", "in", "not in")
_ORDERING = ("<", "<=", ">", ">=")
_LIST_OPERATORS = ("in", "not in")
_NO_VALUE = ("is set", "is not set")


# ---------------------------------------------------------------- coercion


def _is_scalar(value: Any) -> bool:
	return value is None or isinstance(value, _SCALAR_TYPES)


def is_set(value: Any) -> bool:
	"""False for None, blank strings and empty collections; what "is set" tests."""
	if value is None:
		return False
	if isinstance(value, str):
		return bool(value.strip())
	if isinstance(value, (list, tuple, set, frozenset, dict)):
		return bool(value)
	return True


def _number(value: Any) -> Decimal | None:
	if isinstance(value, bool):
		return Decimal(int(value))
	if isinstance(value, int):
		return Decimal(value)
	if isinstance(value, float):
		# repr gives the shortest decimal form, so 0.1 stays 0.1 rather than its binary expansion.
		return Decimal(repr(value)) if math.isfinite(value) else None
	if isinstance(value, Decimal):
		return value if value.is_finite() else None
	if isinstance(value, str):
		text = value.strip()
		if _NUMERIC_RE.match(text):
			return Decimal(text)
	return None


def _date(value: Any) -> date | None:
	if isinstance(value, date):
		return value
	if not isinstance(value, str):
		return None
	m = _DATE_RE.match(value.strip())
	if not m:
		return None
	year, month, day, hour, minute, second, fraction = m.groups()
	try:
		if hour is None:
			return date(int(year), int(month), int(day))
		return datetime(
			int(year),
			int(month),
			int(day),
			int(hour),
			int(minute),
			int(second or 0),
			int((fraction or "0").ljust(6, "0")),
		)
	except ValueError:
		return None  # "2024-13-45" is just text


def _date_pair(a: date, b: date) -> tuple[date, date]:
	# A date against a datetime compares on the date part (documented above).
	if isinstance(a, datetime) and not isinstance(b, datetime):
		return a.date(), b
	if isinstance(b, datetime) and not isinstance(a, datetime):
		return a, b.date()
	return a, b


def _text(value: Any) -> str:
	if isinstance(value, bool):
		return "1" if value else "0"
	return str(value).strip().casefold()


def _match(value: Any, expected: Any) -> bool | None:
	"""Equality as the "=", "!=", "in" and "not in" operators see it; None means ambiguous."""
	value_set, expected_set = is_set(value), is_set(expected)
	if not value_set or not expected_set:
		return value_set == expected_set
	a, b = _number(value), _number(expected)
	if a is not None and b is not None:
		if a != b:
			return False
		if isinstance(value, str) and isinstance(expected, str) and _text(value) != _text(expected):
			return None
		return True
	da, db = _date(value), _date(expected)
	if da is not None and db is not None:
		x, y = _date_pair(da, db)
		return x == y
	return _text(value) == _text(expected)


def _ordered(value: Any, bound: Any) -> tuple[Any, Any] | None:
	"""The pair to compare with <, <=, >, >=, or None when the two cannot be ordered."""
	if not (_is_scalar(value) and _is_scalar(bound) and is_set(value) and is_set(bound)):
		return None
	a, b = _number(value), _number(bound)
	if a is not None and b is not None:
		return a, b
	da, db = _date(value), _date(bound)
	if da is not None and db is not None:
		return _date_pair(da, db)
	# Text orders against text only: "abc" is neither before nor after 5 or a date.
	plain_text = a is None and b is None and da is None and db is None
	if plain_text and isinstance(value, str) and isinstance(bound, str):
		return _text(value), _text(bound)
	return None


def _compare(value: Any, operator: str, bound: Any) -> bool:
	pair = _ordered(value, bound)
	if pair is None:
		return False
	a, b = pair
	try:
		if operator == "<":
			return a < b
		if operator == "<=":
			return a <= b
		if operator == ">":
			return a > b
		return a >= b
	except TypeError:
		return False  # e.g. an aware and a naive datetime


# ---------------------------------------------------------------- validation


def _value_problem(value: Any) -> str | None:
	if not _is_scalar(value):
		return f"{_fmt(value)} is a {type(value).__name__}, not a single value"
	if isinstance(value, (float, Decimal)) and _number(value) is None:
		return f"{value!r} is not a finite number"
	return None


def _kind(value: Any) -> str:
	if _number(value) is not None:
		return "number"
	if _date(value) is not None:
		return "date"
	return "text"


def condition_problem(condition: Condition) -> str | None:
	"""What is wrong with a condition, in words an administrator can act on; None if it is valid."""
	if not isinstance(condition, Condition):
		return f"{condition!r} is not a Condition"
	fieldname, operator, value = condition.fieldname, condition.operator, condition.value
	if not isinstance(fieldname, str) or not FIELDNAME_RE.match(fieldname):
		return f"{fieldname!r} is not a fieldname (letters, digits and underscores only)"
	if operator not in CONDITION_OPERATORS:
		return f"unknown operator {operator!r}; use one of: {', '.join(CONDITION_OPERATORS)}"
	if not condition.applies_to:
		return "it applies to no operation; tick at least one of " + ", ".join(CONDITION_TARGETS)
	extra = sorted(condition.applies_to - set(CONDITION_TARGETS), key=str)
	if extra:
		return f"it applies to {', '.join(map(str, extra))}; conditions apply only to " + ", ".join(
			CONDITION_TARGETS
		)
	if operator in _NO_VALUE:
		return None
	if operator in _LIST_OPERATORS:
		if not isinstance(value, (list, tuple)) or not value:
			return f'"{operator}" needs a non-empty list of values, not {_fmt(value)}'
		for item in value:
			problem = _value_problem(item)
			if problem:
				return f'"{operator}" list item {problem}'
		return None
	if operator == "between":
		if not isinstance(value, (list, tuple)) or len(value) != 2:
			return f'"between" needs a list of exactly two values [low, high], not {_fmt(value)}'
		for bound in value:
			problem = _value_problem(bound)
			if problem:
				return f'"between" bound {problem}'
			if not is_set(bound):
				return '"between" needs both bounds set'
		low, high = value
		if _kind(low) != _kind(high):
			return f'"between" bounds must be of one kind, not a {_kind(low)} and a {_kind(high)}'
		return None
	problem = _value_problem(value)
	if problem:
		return f'"{operator}" compares with one value: {problem}'
	if operator in _ORDERING and not is_set(value):
		return f'"{operator}" needs a value to compare with'
	return None


def validate_condition(condition: Condition) -> None:
	"""Raises InvalidArguments naming the condition and what is wrong with it."""
	problem = condition_problem(condition)
	if problem:
		label = f" ({condition.label})" if getattr(condition, "label", "") else ""
		field = getattr(condition, "fieldname", "?")
		raise InvalidArguments(f'Condition{label} on field "{field}" is invalid: {problem}.')


# ---------------------------------------------------------------- evaluation


def evaluate(condition: Condition, value: Any) -> bool:
	"""True if `value` (the field's value; None if missing) meets the condition. Never raises."""
	if condition_problem(condition) is not None:
		return False
	operator, expected = condition.operator, condition.value
	if operator == "is set":
		return is_set(value)
	if operator == "is not set":
		return not is_set(value)
	if not _is_scalar(value):
		return False
	if operator in ("=", "!="):
		matched = _match(value, expected)
		if matched is None:
			return False
		return matched if operator == "=" else not matched
	if operator in _LIST_OPERATORS:
		results = [_match(value, item) for item in expected]
		if operator == "in":
			return any(r is True for r in results)
		return all(r is False for r in results)
	if operator == "between":
		low, high = expected
		return _compare(value, ">=", low) and _compare(value, "<=", high)
	return _compare(value, operator, expected)


def is_ambiguous(condition: Condition, value: Any) -> bool:
	"""True if `value` failed an equality condition only because it is a number written differently."""
	if condition_problem(condition) is not None or condition.operator not in _EQUALITY:
		return False
	expected = condition.value if condition.operator in _LIST_OPERATORS else (condition.value,)
	return _is_scalar(value) and any(_match(value, item) is None for item in expected)


# ---------------------------------------------------------------- other forms


def to_filter(condition: Condition) -> list:
	"""The condition as a Frappe filter triplet [fieldname, operator, value] for frappe.get_list."""
	field, operator, value = condition.fieldname, condition.operator, condition.value
	if operator == "is set" or (operator == "!=" and not is_set(value)):
		return [field, "is", "set"]
	if operator == "is not set" or (operator == "=" and not is_set(value)):
		return [field, "is", "not set"]
	if isinstance(value, tuple):
		return [field, operator, list(value)]
	return [field, operator, value]


def _fmt(value: Any) -> str:
	try:
		return json.dumps(json_value(value), ensure_ascii=False, default=str)
	except (TypeError, ValueError):
		return repr(value)


def format_value(value: Any, limit: int = 80) -> str:
	"""A value as it appears in a message: JSON-like, cut short so a message stays one line."""
	text = _fmt(value)
	return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_condition(condition: Condition) -> str:
	"""E.g. 'customer_type in ["Company", "Individual"]' or 'posting_date between ["2024-01-01", "2024-12-31"]'."""
	field, operator, value = condition.fieldname, condition.operator, condition.value
	if operator in _NO_VALUE:
		return f"{field} {operator}"
	if operator == "=" and value is None:
		return f"{field} is not set"
	if operator == "!=" and value is None:
		return f"{field} is set"
	if operator in _LIST_OPERATORS and isinstance(value, (list, tuple)) and len(value) > 10:
		shown = ", ".join(format_value(v, 40) for v in value[:10])
		return f"{field} {operator} [{shown}, … {len(value) - 10} more]"
	return f"{field} {operator} {format_value(value, 200)}"


def condition_as_dict(condition: Condition) -> dict:
	"""JSON-able form used by EffectivePolicy.summary."""
	return {
		"field": condition.fieldname,
		"operator": condition.operator,
		"value": None if condition.operator in _NO_VALUE else json_value(condition.value),
		"applies_to": [op for op in CONDITION_TARGETS if op in condition.applies_to],
		"label": condition.label,
		"problem": condition_problem(condition),
	}


def field_value(doc: Mapping[str, Any] | None, fieldname: str) -> Any:
	"""The value a condition sees: the document's value, None when the field is missing."""
	if doc is None:
		return None
	try:
		return doc.get(fieldname)
	except AttributeError:
		return None


__all__ = [
	"FIELDNAME_RE",
	"condition_as_dict",
	"condition_problem",
	"describe_condition",
	"evaluate",
	"field_value",
	"format_value",
	"is_ambiguous",
	"is_set",
	"to_filter",
	"validate_condition",
]
