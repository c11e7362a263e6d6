"""ERPNext's own conversions (Quotation → Sales Order, Sales Order → Sales Invoice, ...): make_document
calls the mapping method ERPNext's Create button calls, from an allow-list (data/conversions.py).

The source passes the gate as a read (a document the agent may not read cannot be converted, and is
"not found" exactly as get answers); the target is a create in every respect: the profile's create
rule, field rules on the values the agent adds, the Create conditions on the whole new document.
A value the mapping copies from a field the profile hides on the source into one it shows on the
target refuses the conversion: the new document must not read a hidden value out."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.data import gate
from erpnext_mcp.data.backend import DocTypeInfo
from erpnext_mcp.data.conversions import CONVERSIONS, conversion_method, conversions_text
from erpnext_mcp.exceptions import InvalidArguments, PermissionDenied
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.common import (
	_describe,
	_require,
	_visible_row,
	compact,
	is_empty,
	visible_fields,
)
from erpnext_mcp.server.tools.schemas import (
	DATA_NOTICE,
	NAME_ARG,
	NEVER_WRITABLE,
	WRITE_OUT,
	ToolSpec,
	_obj,
	_write,
)
from erpnext_mcp.server.tools.writes import _check_write_values, _note_written_names, _write_result


def make_document(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	source, target, name = args["source_doctype"], args["target_doctype"], args["source_name"]
	method = conversion_method(source, target)
	if method is None:
		raise InvalidArguments(
			f"ERPNext has no conversion from {source} to {target} that this server runs. "
			f"The conversions: {conversions_text()}."
		)
	_require(state, "create", target)
	info = _describe(state, target)
	values = args.get("values")
	if values is not None:
		_note_written_names(state, values)
		names = _check_write_values(state, info, values, creating=True)
		state.audit.setdefault("fields", set()).update(names)
		state.policy.check_fields(target, [n for n in names if n != "name"], "write").raise_if_denied()
	state.backend.require_permission(target, "create")
	stored = gate.open_document(state.backend, state.policy, source, name, "read")
	source_info = _describe(state, source)
	state.audit["names"] = [name]

	def before_insert(doc: dict[str, Any]) -> None:
		carried = hidden_values_carried(state, source_info, stored, info, doc)
		if carried:
			raise PermissionDenied(
				f"Converting {source} {name} would copy {', '.join(carried)}, which your MCP profile hides "
				f"on {source}, into a {target} where it is visible; nothing was made. An administrator can "
				f"restrict the same field(s) on the {target} rule too.",
				layer="field rule",
				rule=f"{source}: hidden fields",
			)
		state.policy.check_document("create", target, doc).raise_if_denied()

	save = bool(args.get("save"))
	doc = state.backend.make_mapped_document(method, name, values, save=save, before_insert=before_insert)
	if save:
		gate.check_approval(state.policy, "create", target, None, doc, approved=state.approval is not None)
		state.audit["names"] = [name, doc["name"]]
		return {**_write_result(state, info, doc), "source": {"doctype": source, "name": name}}
	out: dict[str, Any] = {"doctype": target, "saved": False, "source": {"doctype": source, "name": name}}
	if state.policy.check_operation("read", target).allowed:
		draft = compact(_visible_row(state, info, doc))
		draft.pop("name", None)  # a draft has no name yet
		out["document"] = draft
		out["notice"] = DATA_NOTICE
	else:
		out["notice"] = "Your MCP profile does not let you read this DocType, so the draft is not shown."
	out["next"] = "Nothing was saved. Call make_document again with save: true to save it as a draft."
	return out


def hidden_values_carried(
	state: CallState, source: DocTypeInfo, stored: dict[str, Any], target: DocTypeInfo, draft: dict[str, Any]
) -> list[str]:
	"""Fields whose value ERPNext's mapping copied from a field the profile hides on the source into
	one it shows on the target (child rows too): showing or saving them would read the hidden value out."""
	carried: list[str] = []
	shown_source = set(visible_fields(state, source, list(stored)))
	shown_target = set(visible_fields(state, target, list(draft)))
	for key, value in stored.items():
		if key in NEVER_WRITABLE or key not in draft:
			continue
		child_source, child_target = source.children.get(key), target.children.get(key)
		if child_source is not None and child_target is not None:
			if key not in shown_target:
				continue
			rows = [r for r in draft.get(key) or [] if isinstance(r, dict)]
			for source_row in value or []:
				hidden = set(source_row) - set(visible_fields(state, child_source, list(source_row)))
				for row in rows:
					shown = set(visible_fields(state, child_target, list(row)))
					for f in sorted(hidden & shown - NEVER_WRITABLE):
						if not is_empty(source_row[f]) and str(row.get(f)) == str(source_row[f]):
							carried.append(f"{key}.{f}")
		elif key not in shown_source and key in shown_target and not is_empty(value):
			if str(draft.get(key)) == str(value):
				carried.append(key)
	return sorted(set(carried))


def _some_conversion_allowed(state: CallState) -> bool:
	"""Listed only for a profile that may read some source and create its target."""
	allowed = state.policy.check_operation
	return any(allowed("read", s).allowed and allowed("create", t).allowed for s, t in CONVERSIONS)


def specs(state: CallState) -> list[ToolSpec]:
	sources = sorted({s for s, _ in CONVERSIONS})
	targets = sorted({t for _, t in CONVERSIONS})
	return [
		ToolSpec(
			"make_document",
			"Convert document",
			"Make the next document from one you may read with ERPNext's own mapping (Desk's Create "
			f"button): {conversions_text()}. Unsaved unless save is true (then a draft); values "
			"overrides fields.",
			_obj(
				{
					"source_doctype": {"type": "string", "enum": sources},
					"source_name": NAME_ARG,
					"target_doctype": {"type": "string", "enum": targets},
					"values": {"type": "object", "minProperties": 1, "description": "Fieldname → value."},
					"save": {"type": "boolean", "description": "Save as a draft; default false."},
				},
				["source_doctype", "source_name", "target_doctype"],
			),
			make_document,
			_write(destructive=False, idempotent=False),
			{**WRITE_OUT, "required": ["doctype"]},
			operation="create",
			usable=_some_conversion_allowed,
		),
	]
