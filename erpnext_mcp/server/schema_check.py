"""A fast "yes" for tool arguments that plainly fit the tool's input schema.

jsonschema decides every tools/call's arguments (app.validate_arguments) and words the error; walking a
list tool's schema with it costs about 0.3 ms a call on a site. Our schemas use a small vocabulary
(schemas.py), so each is compiled here once into a plain Python check. The check only ever says "yes,
this fits" or "not sure": on "not sure" jsonschema runs as before, and a schema that uses any keyword
outside the vocabulary gets no check at all. So a "yes" must never be wrong, and every keyword below
is at least as strict as JSON Schema 2020-12 (an integer-valued float such as 1.0, which JSON Schema
takes as an integer, is "not sure" here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def _is_number(value: Any) -> bool:
	return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
	"object": lambda v: isinstance(v, dict),
	"array": lambda v: isinstance(v, list),
	"string": lambda v: isinstance(v, str),
	"integer": lambda v: type(v) is int,
	"number": _is_number,
	"boolean": lambda v: type(v) is bool,
	"null": lambda v: v is None,
}
_ENUM_TYPES = (str, int, type(None))
# Size keywords: the kind of instance each applies to (others pass it), and whether it is a lower bound.
_SIZES: dict[str, tuple[type, bool]] = {
	"minLength": (str, True),
	"maxLength": (str, False),
	"minItems": (list, True),
	"maxItems": (list, False),
	"minProperties": (dict, True),
	"maxProperties": (dict, False),
}
# Annotations: they never make an instance invalid.
_ANNOTATIONS = frozenset({"description", "title", "examples", "default"})


class _Unsupported(Exception):
	pass


def compile_schema(schema: Any) -> Check | None:
	"""A check that is True only for instances the schema accepts; None for a schema it cannot judge."""
	try:
		return _compile(schema)
	except _Unsupported:
		return None


def _count(value: Any) -> int:
	if type(value) is not int or value < 0:
		raise _Unsupported
	return value


def _compile(schema: Any) -> Check:
	if schema is True:
		return lambda v: True
	if not isinstance(schema, dict):
		raise _Unsupported
	checks: list[Check] = []
	for key, value in schema.items():
		if key in _ANNOTATIONS:
			continue
		if key == "type":
			names = value if isinstance(value, list) else [value]
			if not names or any(n not in _TYPES for n in names):
				raise _Unsupported
			fns = tuple(_TYPES[n] for n in names)
			checks.append(lambda v, fns=fns: any(f(v) for f in fns))
		elif key == "enum":
			# Strings, integers and null, compared with their type: True is not 1 here (nor in JSON
			# Schema); 1.0, which JSON Schema takes as 1, is "not sure".
			if not isinstance(value, list) or not all(type(x) in _ENUM_TYPES for x in value):
				raise _Unsupported
			allowed = frozenset((type(x), x) for x in value)
			checks.append(lambda v, allowed=allowed: type(v) in _ENUM_TYPES and (type(v), v) in allowed)
		elif key in _SIZES:
			kind, at_least = _SIZES[key]
			n = _count(value)
			if at_least:
				checks.append(lambda v, kind=kind, n=n: not isinstance(v, kind) or len(v) >= n)
			else:
				checks.append(lambda v, kind=kind, n=n: not isinstance(v, kind) or len(v) <= n)
		elif key in ("minimum", "maximum"):
			if not _is_number(value):
				raise _Unsupported
			if key == "minimum":
				checks.append(lambda v, m=value: not _is_number(v) or v >= m)
			else:
				checks.append(lambda v, m=value: not _is_number(v) or v <= m)
		elif key == "properties":
			if not isinstance(value, dict):
				raise _Unsupported
			properties = {name: _compile(sub) for name, sub in value.items()}
			checks.append(
				lambda v, props=properties: (
					not isinstance(v, dict) or all(props[k](item) for k, item in v.items() if k in props)
				)
			)
		elif key == "required":
			if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
				raise _Unsupported
			needed = tuple(value)
			checks.append(lambda v, needed=needed: not isinstance(v, dict) or all(k in v for k in needed))
		elif key == "items":
			item = _compile(value)
			checks.append(lambda v, item=item: not isinstance(v, list) or all(item(x) for x in v))
		elif key == "anyOf":
			if not isinstance(value, list) or not value:
				raise _Unsupported
			branches = tuple(_compile(sub) for sub in value)
			checks.append(lambda v, branches=branches: any(b(v) for b in branches))
		elif key == "additionalProperties":
			checks.append(_additional(schema, value))
		else:
			raise _Unsupported  # a keyword outside the vocabulary: jsonschema alone decides
	return lambda v: all(c(v) for c in checks)


def _additional(schema: dict, value: Any) -> Check:
	known = frozenset(schema.get("properties") or {})
	if value is False:
		return lambda v: not isinstance(v, dict) or all(k in known for k in v)
	extra = _compile(value)
	return lambda v: not isinstance(v, dict) or all(extra(item) for k, item in v.items() if k not in known)
