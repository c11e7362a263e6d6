"""Per-DocType tools (list_customer_documents, ...): names, lean schemas from the caller's fields, bound
to the generic handlers."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from erpnext_mcp.data.backend import DocTypeInfo
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.reads import (
	get_document,
	list_documents,
	search_documents,
)
from erpnext_mcp.server.tools.schemas import (
	DELETE_OUT,
	DOC_OUT,
	INCLUDE_EMPTY_ARG,
	LIST_OUT,
	NAME_ARG,
	NEVER_WRITABLE,
	START_ARG,
	TOOL_NAME_MAX,
	WRITE_OUT,
	Handler,
	ToolSpec,
	_field_list,
	_filters_arg,
	_limit_arg,
	_obj,
	_order_by_arg,
	_read_only,
	_write,
)
from erpnext_mcp.server.tools.writes import (
	create_document,
	delete_document,
	update_document,
)

_SLUG_RE = re.compile(r"[^a-z0-9]+")
PER_DOCTYPE_OPERATIONS = (
	("list", "read", "list_{}_documents"),
	("get", "read", "get_{}_document"),
	("search", "read", "search_{}_documents"),
	("create", "create", "create_{}_document"),
	("update", "update", "update_{}_document"),
	("delete", "delete", "delete_{}_document"),
)


def slug(doctype: str) -> str:
	return _SLUG_RE.sub("_", doctype.casefold()).strip("_") or "doctype"


def tool_name(template: str, doctype: str, taken: set[str]) -> str:
	"""Stable, [a-z0-9_], at most 64 characters, unique: a short hash of the DocType settles clashes."""
	base = slug(doctype)
	room = TOOL_NAME_MAX - len(template.format(""))
	name = template.format(base[:room])
	if name in taken or len(base) > room:
		digest = hashlib.sha1(doctype.encode()).hexdigest()[:6]
		name = template.format(f"{base[: room - 7]}_{digest}")
	return name


_JSON_TYPES = {
	"Int": "integer",
	"Check": "integer",
	"Float": "number",
	"Currency": "number",
	"Percent": "number",
	"Rating": "number",
	"Duration": "number",
}


def _field_schema(f) -> dict[str, Any]:
	schema: dict[str, Any] = {"description": f.label}
	json_type = _JSON_TYPES.get(f.fieldtype)
	if json_type:
		schema["type"] = [json_type, "null"]
		if f.fieldtype == "Check":
			schema["enum"] = [0, 1, None]
	elif f.fieldtype == "Select" and f.options:
		schema["type"] = ["string", "null"]
		schema["enum"] = [*[o for o in f.options.split("\n")], None]
	elif f.fieldtype == "Link" and f.options:
		schema["type"] = ["string", "null"]
		schema["description"] = f"{f.label} (name of a {f.options})"
	elif f.fieldtype in ("Date",):
		schema["type"] = ["string", "null"]
		schema["description"] = f"{f.label} (YYYY-MM-DD)"
	else:
		schema["type"] = ["string", "null"]
	return schema


# The per-DocType tools repeat these in every DocType's tools: shapes are checked by server/query.py
# (with the same messages as for the generic tools), so the schemas only say what to send.
LEAN_FIELDS = {
	"type": "array",
	"items": {"type": "string"},
	"maxItems": 100,
	"description": "Fieldnames (see describe_doctype); default: the list columns.",
}
LEAN_ORDER_BY = {
	"description": 'e.g. {"field": "modified", "direction": "desc"}, or a list of up to 3.',
	"anyOf": [{"type": "object"}, {"type": "array", "maxItems": 3}],
}


def _bind(handler: Handler, doctype: str) -> Handler:
	def bound(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
		return handler(state, {**args, "doctype": doctype})

	return bound


def doctype_tools(state: CallState, info: DocTypeInfo, names: dict[str, str]) -> list[ToolSpec]:
	"""The per-DocType tools named in `names` (kind → tool name, from server/app.py's plan), with
	schemas naming only the fields the caller may use."""
	s = state.settings
	writable = [
		f
		for f in info.fields
		if not f.read_only
		and f.fieldname not in NEVER_WRITABLE
		and state.policy.check_fields(info.name, [f.fieldname], "write").allowed
	]
	label = info.name

	# Lean on purpose (every byte of tools/list is paid on every turn): rows are plain objects and the
	# fields are named by describe_doctype, not repeated as enums in every tool of the DocType.
	list_out = LIST_OUT
	values_schema = {
		"type": "object",
		"properties": {
			f.fieldname: ({"type": "array", "items": {"type": "object"}} if f.is_table else _field_schema(f))
			for f in writable
		},
		"additionalProperties": False,
		"minProperties": 1,
	}
	specs = []
	for kind, operation, _template in PER_DOCTYPE_OPERATIONS:
		name = names.get(kind)
		if name is None:
			continue
		if kind == "list":
			spec = ToolSpec(
				name,
				f"List {label}",
				f"List {label} documents: list_generic_documents for {label}.",
				_obj(
					{
						"fields": LEAN_FIELDS,
						"filters": _filters_arg(),
						"order_by": LEAN_ORDER_BY,
						"limit": _limit_arg(s.max_page_length, s.default_page_length),
						"start": START_ARG,
						"include_empty": INCLUDE_EMPTY_ARG,
					}
				),
				_bind(list_documents, info.name),
				_read_only(),
				list_out,
			)
		elif kind == "get":
			spec = ToolSpec(
				name,
				f"Get {label}",
				f"Read one {label} by name, with its child table rows.",
				_obj({"name": NAME_ARG, "fields": LEAN_FIELDS, "include_empty": INCLUDE_EMPTY_ARG}, ["name"]),
				_bind(get_document, info.name),
				_read_only(),
				DOC_OUT,
			)
		elif kind == "search":
			spec = ToolSpec(
				name,
				f"Search {label}",
				f"Find {label} documents whose name, title or search fields contain the text.",
				_obj(
					{
						"query": {"type": "string", "minLength": 1, "maxLength": 140},
						"fields": LEAN_FIELDS,
						"filters": _filters_arg(),
						"limit": _limit_arg(s.max_page_length, s.default_page_length),
						"start": START_ARG,
						"include_empty": INCLUDE_EMPTY_ARG,
					},
					["query"],
				),
				_bind(search_documents, info.name),
				_read_only(),
				list_out,
			)
		elif kind == "create":
			spec = ToolSpec(
				name,
				f"Create {label}",
				f"Create a {label}. Nothing is saved if ERPNext or your MCP profile refuses any part of it.",
				_obj(
					{
						"values": values_schema,
						"idempotency_key": {"type": "string", "minLength": 8, "maxLength": 100},
					},
					["values"],
				),
				_bind(create_document, info.name),
				_write(destructive=False, idempotent=False),
				WRITE_OUT,
			)
		elif kind == "update":
			spec = ToolSpec(
				name,
				f"Update {label}",
				f"Change fields of a {label}; only the fields given change.",
				_obj(
					{
						"name": NAME_ARG,
						"values": values_schema,
						"expected_modified": {"type": "string", "maxLength": 40},
					},
					["name", "values"],
				),
				_bind(update_document, info.name),
				_write(destructive=False, idempotent=True),
				WRITE_OUT,
			)
		else:
			spec = ToolSpec(
				name,
				f"Delete {label}",
				f"Delete a {label}. This cannot be undone.",
				_obj({"name": NAME_ARG}, ["name"]),
				_bind(delete_document, info.name),
				_write(destructive=True, idempotent=False),
				DELETE_OUT,
			)
		specs.append(
			ToolSpec(
				spec.name,
				spec.title,
				spec.description,
				spec.input_schema,
				spec.handler,
				spec.annotations,
				spec.output_schema,
				operation=operation,
				doctype=info.name,
			)
		)
	return specs
