"""Writing documents: create, update, delete, submit, cancel, and the one check of written values
that generic and per-DocType tools share."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.data import gate
from erpnext_mcp.data.backend import DocTypeInfo
from erpnext_mcp.exceptions import InvalidArguments, PermissionDenied
from erpnext_mcp.server import query
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.common import (
	_describe,
	_open,
	_require,
	_visible_row,
	check_child_write,
	compact,
)
from erpnext_mcp.server.tools.schemas import (
	DATA_NOTICE,
	DELETE_OUT,
	DOCTYPE_ARG,
	NAME_ARG,
	NEVER_WRITABLE,
	WRITE_OUT,
	Handler,
	ToolSpec,
	_obj,
	_write,
)


def _check_write_values(
	state: CallState, info: DocTypeInfo, values: Any, where: str = "values", *, creating: bool = False
) -> list[str]:
	"""Refuses the whole write if any key may not be written; returns the fieldnames (for audit)."""
	if not isinstance(values, dict) or not values:
		raise InvalidArguments(f"{where} must be a non-empty object of fieldname: value")
	names = []
	for key, value in values.items():
		if key == "name" and creating and info.name_set_by_user:
			if not isinstance(value, str) or not value.strip() or len(value) > 140:
				raise InvalidArguments(f'{where}: "name" must be a non-empty text of at most 140 characters')
			names.append(key)
			continue
		if not isinstance(key, str) or key.startswith("__") or key in NEVER_WRITABLE:
			raise InvalidArguments(
				f'{where}: "{key}" cannot be written through MCP (it is set by ERPNext; '
				"use submit_document / cancel_document for docstatus)."
			)
		if not query.FIELDNAME_RE.match(key) or key not in info.all_fieldnames:
			raise InvalidArguments(
				f'{where}: {info.name} has no field "{key}". Call describe_doctype to see its fields.'
			)
		f = info.field(key)
		if f is None or not info.can_write(key):
			raise PermissionDenied(
				f'{where}: field "{key}" of {info.name} is above the permission level your roles may write.',
				layer="ERPNext permlevel",
				rule=f"{info.name}.{key}",
			)
		if f.read_only:
			raise InvalidArguments(
				f'{where}: field "{key}" ({f.label}) of {info.name} is read-only: ERPNext sets it. '
				"Leave it out of values."
			)
		if f.is_table:
			if not isinstance(value, list):
				raise InvalidArguments(f'{where}: "{key}" is a child table and takes a list of rows')
			child = info.children.get(key)
			for i, row in enumerate(value):
				if not isinstance(row, dict):
					raise InvalidArguments(f"{where}.{key}[{i}] must be an object")
				row_values = {k: v for k, v in row.items() if k != "name"}
				if row_values and child is not None:
					child_names = _check_write_values(state, child, row_values, f"{where}.{key}[{i}]")
					check_child_write(state, child, child_names)
		elif isinstance(value, (dict, list)):
			raise InvalidArguments(f'{where}: "{key}" takes a single value, not {type(value).__name__}')
		names.append(key)
	return names


def _note_written_names(state: CallState, values: Any) -> None:
	"""The field names a write asks for go on record before anything can refuse it (a smuggled
	`owner` is exactly what an auditor wants to see); audit_record.py keeps only name-shaped keys."""
	if isinstance(values, dict):
		state.audit.setdefault("fields", set()).update(k for k in values if isinstance(k, str))


def create_document(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	_require(state, "create", doctype)
	info = _describe(state, doctype)
	_note_written_names(state, args["values"])
	names = _check_write_values(state, info, args["values"], creating=True)
	state.audit.setdefault("fields", set()).update(names)
	state.policy.check_fields(doctype, [n for n in names if n != "name"], "write").raise_if_denied()

	def before_insert(doc: dict[str, Any]) -> None:
		state.policy.check_document("create", doctype, doc).raise_if_denied()

	doc = state.backend.create_document(
		doctype, args["values"], before_insert=before_insert, idempotency_key=args.get("idempotency_key")
	)
	# On the document as ERPNext saved it (totals computed); a call that must wait is undone with the
	# call's savepoint (server/app.py), so nothing of it remains.
	gate.check_approval(state.policy, "create", doctype, None, doc, approved=state.approval is not None)
	state.audit["names"] = [doc["name"]]
	return _write_result(state, info, doc)


def _write_result(state: CallState, info: DocTypeInfo, doc: dict[str, Any]) -> dict[str, Any]:
	"""A write's answer carries only what a read of its result may carry: nothing but the name when
	the profile does not let the agent read the DocType or the result lies outside the read scope."""
	out = {"doctype": info.name, "name": doc["name"], "docstatus": int(doc.get("docstatus") or 0)}
	if gate.may_read_result(state.backend, state.policy, info.name, doc["name"], doc):
		out["document"] = compact(_visible_row(state, info, doc))
		out["notice"] = DATA_NOTICE
	else:
		out["document"] = {"name": doc["name"]}
		out["notice"] = (
			"Saved. Your MCP profile does not let you read this document, so only its name is shown."
		)
	return out


def _check_set_only_once(info: DocTypeInfo, stored: dict[str, Any], values: dict[str, Any]) -> None:
	"""A field the DocType sets only once may not change after the insert (ERPNext's set_only_once)."""
	for key, value in values.items():
		f = info.field(key)
		if f is None or not f.set_only_once:
			continue
		before = stored.get(key)
		if before in (None, "") and value in (None, ""):
			continue
		if str(before) != str(value):
			raise InvalidArguments(
				f'values: field "{key}" ({f.label}) of {info.name} can only be set when the document is '
				"created; leave it out of the update."
			)


def update_document(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype, name = args["doctype"], args["name"]
	info = _describe(state, doctype)
	_note_written_names(state, args["values"])
	_open(state, "update", doctype, name)
	names = _check_write_values(state, info, args["values"])
	state.audit.setdefault("fields", set()).update(names)
	state.policy.check_fields(doctype, names, "write").raise_if_denied()

	def before_save(stored: dict[str, Any], merged: dict[str, Any]) -> None:
		_check_set_only_once(info, stored, args["values"])
		state.policy.check_update(doctype, stored, merged).raise_if_denied()

	doc = state.backend.update_document(
		doctype,
		name,
		args["values"],
		before_save=before_save,
		expected_modified=args.get("expected_modified"),
	)
	gate.check_approval(state.policy, "update", doctype, name, doc, approved=state.approval is not None)
	return _write_result(state, info, doc)


def delete_document(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype, name = args["doctype"], args["name"]
	_describe(state, doctype)
	_open(state, "delete", doctype, name)
	state.backend.delete_document(doctype, name)
	return {"doctype": doctype, "name": name, "deleted": True}


def _docstatus_change(operation: str) -> Handler:
	def handler(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
		doctype, name = args["doctype"], args["name"]
		info = _describe(state, doctype)
		if not info.is_submittable:
			verb = "submitted" if operation == "submit" else "cancelled"
			raise InvalidArguments(f"{doctype} is not submittable, so its documents cannot be {verb}.")
		_open(state, operation, doctype, name)
		doc = state.backend.change_docstatus(doctype, name, operation)
		return _write_result(state, info, doc)

	return handler


def specs(state: CallState) -> list[ToolSpec]:
	"""The writes tools, in catalogue order."""
	values = {
		"type": "object",
		"minProperties": 1,
		"description": (
			"Fieldname → value. Child tables take a list of row objects; to keep an existing child row "
			"include its name. name, owner, docstatus and other system fields cannot be set."
		),
	}
	return [
		ToolSpec(
			"create_generic_document",
			"Create document",
			"Create a document (saved as draft for submittable DocTypes). ERPNext validates it as in Desk; "
			"nothing is saved if anything is refused. Pass idempotency_key to make retries safe.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"values": values,
					"idempotency_key": {
						"type": "string",
						"minLength": 8,
						"maxLength": 100,
						"description": "Any unique string; a retry with the same key returns the first result.",
					},
				},
				["doctype", "values"],
			),
			create_document,
			_write(destructive=False, idempotent=False),
			WRITE_OUT,
			operation="create",
		),
		ToolSpec(
			"update_generic_document",
			"Update document",
			"Change fields of a document. Only the fields given are changed; child tables given are replaced "
			"by the rows given. Pass expected_modified (from a read) to refuse the update if someone changed "
			"the document since.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"name": NAME_ARG,
					"values": values,
					"expected_modified": {
						"type": "string",
						"maxLength": 40,
						"description": "The document's modified timestamp as you read it.",
					},
				},
				["doctype", "name", "values"],
			),
			update_document,
			_write(destructive=False, idempotent=True),
			WRITE_OUT,
			operation="update",
		),
		ToolSpec(
			"delete_generic_document",
			"Delete document",
			"Delete a document. This cannot be undone; ERPNext refuses if other documents link to it.",
			_obj({"doctype": DOCTYPE_ARG, "name": NAME_ARG}, ["doctype", "name"]),
			delete_document,
			_write(destructive=True, idempotent=False),
			DELETE_OUT,
			operation="delete",
		),
		ToolSpec(
			"submit_document",
			"Submit document",
			"Submit a draft document of a submittable DocType (docstatus 0 → 1), e.g. a Sales Invoice.",
			_obj({"doctype": DOCTYPE_ARG, "name": NAME_ARG}, ["doctype", "name"]),
			_docstatus_change("submit"),
			_write(destructive=False, idempotent=False),
			WRITE_OUT,
			operation="submit",
		),
		ToolSpec(
			"cancel_document",
			"Cancel document",
			"Cancel a submitted document (docstatus 1 → 2). ERPNext reverses its ledger entries; a cancelled "
			"document cannot be edited again.",
			_obj({"doctype": DOCTYPE_ARG, "name": NAME_ARG}, ["doctype", "name"]),
			_docstatus_change("cancel"),
			_write(destructive=True, idempotent=False),
			WRITE_OUT,
			operation="cancel",
		),
	]
