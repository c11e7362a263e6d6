"""Tools about the catalogue and the caller's access: test_connection, list_doctypes,
get_doctype_permissions, explain_access, describe_doctype."""

from __future__ import annotations

from typing import Any

from erpnext_mcp.data import gate
from erpnext_mcp.data.backend import STANDARD_FIELDS, DocTypeInfo
from erpnext_mcp.exceptions import InvalidArguments, PermissionDenied
from erpnext_mcp.policy import OPERATIONS
from erpnext_mcp.server import query
from erpnext_mcp.server.context import CallState
from erpnext_mcp.server.tools.common import (
	_describe,
	_require,
	visible_fields,
)
from erpnext_mcp.server.tools.schemas import (
	DOCTYPE_ARG,
	NAME_ARG,
	START_ARG,
	ToolSpec,
	_obj,
	_out,
	_read_only,
)


def test_connection(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	caller = state.backend.caller()
	site = state.backend.site_info()
	return {
		"ok": True,
		"site": site["site"],
		"url": site.get("url"),
		"erpnext_version": site.get("erpnext_version"),
		"frappe_version": site.get("frappe_version"),
		"app_version": site.get("app_version"),
		"user": caller["user"],
		"full_name": caller.get("full_name"),
		"protocol_version": state.protocol_version,
		"profiles": list(state.policy.profile_names),
		"doctypes_in_profile": len(state.policy.doctypes()),
		**_omitted(state),
	}


def _omitted(state: CallState) -> dict[str, Any]:
	"""Never truncate silently: the per-DocType tools MCP Settings' Max Tools per Caller left out."""
	from erpnext_mcp.server.app import doctype_plan

	doctype_plan(state)
	if not state.tools_omitted:
		return {}
	return {
		"tools_omitted": state.tools_omitted,
		"tools_note": (
			f"{len(state.tools_omitted)} per-DocType tool(s) are left out: more tools than MCP Settings "
			"allow per caller. The generic tools (list_generic_documents, ...) reach the same DocTypes."
		),
	}


def list_doctypes(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	search = (args.get("search") or "").strip().casefold()
	start, limit = query.page(args.get("start"), args.get("limit"), default=50, maximum=500)
	profile_doctypes = set(state.policy.doctypes())
	rows = []
	for dt in state.backend.readable_doctypes():
		if dt["name"] not in profile_doctypes:
			continue
		if not state.policy.check_operation("read", dt["name"]).allowed:
			continue
		if (
			search
			and search not in dt["name"].casefold()
			and search not in (dt.get("module") or "").casefold()
		):
			continue
		rows.append(dt)
	rows.sort(key=lambda d: d["name"])
	page = rows[start : start + limit]
	return {
		"doctypes": page,
		"total": len(rows),
		"start": start,
		"limit": limit,
		"next_start": start + limit if start + limit < len(rows) else None,
	}


def _field_access(state: CallState, info: DocTypeInfo) -> list[dict[str, Any]]:
	visible = set(state.policy.visible_fields(info.name, info.fieldnames))
	out = []
	for f in info.fields:
		decision = state.policy.check_fields(info.name, [f.fieldname], "write")
		if f.fieldname not in visible:
			decided_by = "profile rule"
		elif f.read_only:
			decided_by = "DocType (read-only field)"
		elif not decision.allowed:
			decided_by = "profile rule"
		else:
			decided_by = "allowed"
		out.append(
			{
				"fieldname": f.fieldname,
				"label": f.label,
				"read": f.fieldname in visible,
				"write": f.fieldname in visible and decision.allowed and not f.read_only,
				"permlevel": f.permlevel,
				"decided_by": decided_by,
			}
		)
	hidden = sorted(info.all_fieldnames - set(info.fieldnames))
	for fieldname in hidden:
		out.append(
			{
				"fieldname": fieldname,
				"read": False,
				"write": False,
				"decided_by": "ERPNext permlevel (your roles cannot read this field's level)",
			}
		)
	return out


def get_doctype_permissions(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	info = _describe(state, doctype)
	erpnext = state.backend.erpnext_permissions(doctype)
	operations = {}
	for op in OPERATIONS:
		frappe_ptype = "write" if op == "update" else op
		profile = state.policy.check_operation(op, doctype)
		erp_allowed = bool(erpnext.get(frappe_ptype))
		if op in ("submit", "cancel") and not info.is_submittable:
			operations[op] = {"allowed": False, "decided_by": "DocType (not submittable)"}
			continue
		allowed = erp_allowed and profile.allowed
		if not erp_allowed:
			decided_by = "ERPNext role permissions"
		elif not profile.allowed:
			decided_by = f"{profile.layer}: {profile.reason}"
		else:
			decided_by = "allowed by ERPNext roles and the MCP profile"
		operations[op] = {"allowed": allowed, "decided_by": decided_by}
	rule = state.policy.rule_for(doctype)
	return {
		"doctype": doctype,
		"operations": operations,
		"erpnext": {k: bool(v) for k, v in erpnext.items()},
		"profile": state.policy.summary(doctype) if rule else None,
		"fields": _field_access(state, info),
	}


def explain_access(
	state: CallState, args: dict[str, Any], *, for_administrator: bool = False
) -> dict[str, Any]:
	"""Layer by layer, may the caller do `operation`? With a document name, the document passes the
	same gate as a get first: one the agent may not read is "not found", exactly as get answers, so
	this tool never tells a hidden document from a missing one nor reads out its values.
	`for_administrator` (Desk's Test this Profile, System Manager only) shows those layers instead."""
	doctype = args["doctype"]
	operation = args["operation"]
	fieldname = args.get("fieldname")
	name = args.get("name")
	info = _describe(state, doctype)
	layers = []
	erpnext = state.backend.erpnext_permissions(doctype)
	ptype = gate.ERPNEXT_PTYPE[operation]
	layers.append(
		{
			"layer": "ERPNext role permissions",
			"allowed": bool(erpnext.get(ptype)),
			"detail": f"your roles {'grant' if erpnext.get(ptype) else 'do not grant'} {ptype} on {doctype}",
		}
	)
	doc = None
	if name:
		state.audit["names"] = [name]
		if for_administrator:
			found = gate.locate(state.backend, state.policy, doctype, name)
			if found.status == "missing":
				layers.append(
					{
						"layer": "ERPNext document access",
						"allowed": False,
						"detail": f"{name} does not exist, or ERPNext does not let the user read it",
					}
				)
			else:
				layers.append(
					{"layer": "ERPNext document access", "allowed": True, "detail": f"you may read {name}"}
				)
				doc = found.document
			if found.status == "ok":
				layers.append(_in_scope_layer(name))
			elif found.status == "outside_scope":
				layers.append(
					{
						"layer": "MCP read conditions",
						"allowed": False,
						"detail": f"outside the profile's Read conditions: {found.reason}",
						"rule": found.rule,
					}
				)
		else:
			doc = gate.open_document(state.backend, state.policy, doctype, name, "read")
			layers.append(
				{"layer": "ERPNext document access", "allowed": True, "detail": f"you may read {name}"}
			)
			layers.append(_in_scope_layer(name))
		if doc is not None and ptype != "read":
			try:
				state.backend.check_document_permission(doctype, name, ptype)
				layers.append(
					{
						"layer": "ERPNext document permissions",
						"allowed": True,
						"detail": f"ERPNext allows {ptype} on {name}",
					}
				)
			except PermissionDenied as e:
				layers.append(
					{"layer": "ERPNext document permissions", "allowed": False, "detail": e.message}
				)
	if fieldname:
		if not info.knows(fieldname):
			raise InvalidArguments(f'{doctype} has no field "{fieldname}"')
		readable = fieldname in STANDARD_FIELDS or info.field(fieldname) is not None
		layers.append(
			{
				"layer": "ERPNext permlevel",
				"allowed": readable,
				"detail": "field level readable by your roles"
				if readable
				else "your roles cannot read this field's level",
			}
		)
	decision = state.policy.explain(operation, doctype, fieldname, doc)
	layers.append(
		{
			"layer": f"MCP {decision.layer}",
			"allowed": decision.allowed,
			"detail": decision.reason,
			"profile": decision.profile,
			"rule": decision.rule,
		}
	)
	return {
		"doctype": doctype,
		"operation": operation,
		"fieldname": fieldname,
		"name": name,
		"allowed": all(layer["allowed"] for layer in layers),
		"layers": layers,
	}


def _in_scope_layer(name: str) -> dict[str, Any]:
	return {
		"layer": "MCP read conditions",
		"allowed": True,
		"detail": f"{name} is inside what your profile lets you read",
	}


def _plain_label(fieldname: str, label: str) -> bool:
	"""True when the label says no more than the fieldname ("customer_name" / "Customer Name")."""
	return label.casefold() == fieldname.replace("_", " ").casefold()


def describe_doctype(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	"""Compact by default: what an agent needs to read and build a document. Fields it may write come
	first with their details (mandatory ones first, defaults as a new document has them for the caller,
	child tables it must fill with their columns); fields ERPNext sets are named in read_only. detail
	"full" gives every property of every field."""
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)
	if args.get("detail") == "full":
		return _describe_full(state, info)

	def writable(i: DocTypeInfo, f) -> bool:
		if f.read_only or not i.can_write(f.fieldname):
			return False
		if i.is_table and state.policy.rule_for(i.name) is None:
			return True  # child rows travel with their parent's rule
		return state.policy.check_fields(i.name, [f.fieldname], "write").allowed

	# What a new document starts with for this caller (user defaults too: company, currency...), so
	# an agent fills in only what has no value yet.
	starts_with = state.backend.new_document_defaults(info.name)

	def entry(i: DocTypeInfo, f, default: Any) -> dict[str, Any]:
		item: dict[str, Any] = {"fieldname": f.fieldname, "type": f.fieldtype}
		if not _plain_label(f.fieldname, f.label):
			item["label"] = f.label
		if f.reqd:
			item["mandatory"] = True
		if f.fieldtype == "Link" and f.options:
			item["link"] = f.options
		elif f.fieldtype == "Select" and f.options:
			item["options"] = [o for o in f.options.split("\n") if o]
		# A zero default says nothing an agent needs (an unset Check is off), unless the field is
		# mandatory: then it tells the agent that the field has a value already.
		if default not in (None, "") and (f.reqd or default not in (0, "0")):
			item["default"] = default
		return item

	def split(i: DocTypeInfo, *, top: bool) -> tuple[list[dict[str, Any]], list[str]]:
		visible = set(visible_fields(state, i, i.fieldnames))
		usable, read_only = [], []
		for f in i.fields:
			if f.fieldname not in visible or (f.hidden and not f.reqd):
				continue  # hidden fields are internal to ERPNext
			if not writable(i, f):
				read_only.append(f.fieldname)
				continue
			item = entry(i, f, starts_with.get(f.fieldname, f.default) if top else f.default)
			if f.is_table and f.fieldname in i.children:
				child = i.children[f.fieldname]
				item["child_doctype"] = f.options
				columns, _ = split(child, top=False)
				if f.reqd:
					item["columns"] = columns  # a table the document needs: how to fill its rows
				else:
					item["column_names"] = [c["fieldname"] for c in columns]
			usable.append(item)
		usable.sort(key=lambda item: not item.get("mandatory"))  # stable: mandatory first
		return usable, read_only

	fields, read_only = split(info, top=True)
	result: dict[str, Any] = {"doctype": info.name, "fields": fields}
	if read_only:
		result["read_only"] = read_only
	if info.is_submittable:
		result["is_submittable"] = True
	return result


def _describe_full(state: CallState, info: DocTypeInfo) -> dict[str, Any]:
	def fields_of(i: DocTypeInfo) -> list[dict[str, Any]]:
		visible = set(visible_fields(state, i, i.fieldnames))
		out = []
		for f in i.fields:
			if f.fieldname not in visible:
				continue
			item = f.as_dict()
			if f.is_table and f.fieldname in i.children:
				item["child_fields"] = fields_of(i.children[f.fieldname])
			out.append(item)
		return out

	return {
		"doctype": info.name,
		"module": info.module,
		"is_submittable": info.is_submittable,
		"is_single": info.is_single,
		"title_field": info.title_field,
		"search_fields": [
			f for f in info.search_fields if f in state.policy.visible_fields(info.name, info.search_fields)
		],
		"fields": fields_of(info),
	}


def specs(state: CallState) -> list[ToolSpec]:
	"""The catalogue tools, in catalogue order."""
	return [
		ToolSpec(
			"test_connection",
			"Test connection",
			"Check the connection: the ERPNext site and versions, who you are connected as, the MCP "
			"revision in use and the MCP permission profiles that apply to you.",
			_obj({}),
			test_connection,
			_read_only(),
			_out(
				{"ok": {"type": "boolean"}, "user": {"type": "string"}, "profiles": {"type": "array"}},
				["ok", "user", "profiles"],
			),
		),
		ToolSpec(
			"list_doctypes",
			"List DocTypes",
			"List the DocTypes (ERPNext record types such as Customer or Sales Invoice) you may read: those "
			"your ERPNext roles allow AND your MCP profile names. Filter with search; page with start/limit.",
			_obj(
				{
					"search": {
						"type": "string",
						"maxLength": 140,
						"description": "Part of a DocType or module name.",
					},
					"start": START_ARG,
					"limit": {"type": "integer", "minimum": 1, "maximum": 500, "description": "Default 50."},
				}
			),
			list_doctypes,
			_read_only(),
			_out(
				{
					"doctypes": {"type": "array", "items": {"type": "object"}},
					"next_start": {"type": ["integer", "null"]},
				},
				["doctypes", "next_start"],
			),
			operation="read",
		),
		ToolSpec(
			"get_doctype_permissions",
			"DocType permissions",
			"What you may do on a DocType, per operation (read, create, update, delete, submit, cancel) and "
			"per field, and which layer decides: ERPNext role permissions, field permission levels, or your "
			"MCP profile's rule.",
			_obj({"doctype": DOCTYPE_ARG}, ["doctype"]),
			get_doctype_permissions,
			_read_only(),
			_out({"operations": {"type": "object"}, "fields": {"type": "array"}}, ["operations", "fields"]),
			operation="read",
		),
		ToolSpec(
			"explain_access",
			"Explain access",
			"Explain whether you may perform an operation on a DocType (optionally on one field or one "
			"document), layer by layer: ERPNext roles, document access, field level, MCP profile rule.",
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"operation": {"type": "string", "enum": list(OPERATIONS)},
					"fieldname": {"type": "string", "maxLength": 140},
					"name": NAME_ARG,
				},
				["doctype", "operation"],
			),
			explain_access,
			_read_only(),
			_out({"allowed": {"type": "boolean"}, "layers": {"type": "array"}}, ["allowed", "layers"]),
			operation="read",
		),
		ToolSpec(
			"describe_doctype",
			"Describe DocType",
			"The fields of a DocType you may use, mandatory ones first: fieldname, label, type, link target "
			"or options, read-only; child tables with their columns. Enough to build a document; "
			'detail "full" gives every property.',
			_obj(
				{
					"doctype": DOCTYPE_ARG,
					"detail": {
						"type": "string",
						"enum": ["compact", "full"],
						"description": 'Default "compact".',
					},
				},
				["doctype"],
			),
			describe_doctype,
			_read_only(),
			_out({"doctype": {"type": "string"}, "fields": {"type": "array"}}, ["doctype", "fields"]),
			operation="read",
		),
	]
