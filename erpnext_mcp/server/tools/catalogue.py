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


def describe_doctype(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	doctype = args["doctype"]
	_require(state, "read", doctype)
	info = _describe(state, doctype)

	def describe(i: DocTypeInfo) -> dict[str, Any]:
		visible = set(visible_fields(state, i, i.fieldnames))
		fields = []
		for f in i.fields:
			if f.fieldname not in visible:
				continue
			item = f.as_dict()
			if f.is_table and f.fieldname in i.children:
				item["child_fields"] = describe(i.children[f.fieldname])["fields"]
			fields.append(item)
		return {"fields": fields}

	return {
		"doctype": info.name,
		"module": info.module,
		"is_submittable": info.is_submittable,
		"is_single": info.is_single,
		"title_field": info.title_field,
		"search_fields": [
			f for f in info.search_fields if f in state.policy.visible_fields(info.name, info.search_fields)
		],
		"fields": describe(info)["fields"],
	}


def specs(state: CallState) -> list[ToolSpec]:
	"""The catalogue tools, in catalogue order."""
	return [
		ToolSpec(
			"test_connection",
			"Test connection",
			"Check the connection: returns the ERPNext site, its versions, who you are connected as, "
			"the MCP protocol revision in use and which MCP permission profiles apply to you.",
			_obj({}),
			test_connection,
			_read_only(),
			_obj(
				{
					"ok": {"type": "boolean"},
					"site": {"type": "string"},
					"url": {"type": ["string", "null"]},
					"erpnext_version": {"type": ["string", "null"]},
					"frappe_version": {"type": ["string", "null"]},
					"app_version": {"type": ["string", "null"]},
					"user": {"type": "string"},
					"full_name": {"type": ["string", "null"]},
					"protocol_version": {"type": "string"},
					"profiles": {"type": "array", "items": {"type": "string"}},
					"doctypes_in_profile": {"type": "integer"},
				},
				["ok", "site", "user", "protocol_version", "profiles"],
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
			_obj(
				{
					"doctypes": {
						"type": "array",
						"items": _obj(
							{
								"name": {"type": "string"},
								"module": {"type": "string"},
								"is_submittable": {"type": "boolean"},
								"is_single": {"type": "boolean"},
							},
							["name"],
						),
					},
					"total": {"type": "integer"},
					"start": {"type": "integer"},
					"limit": {"type": "integer"},
					"next_start": {"type": ["integer", "null"]},
				},
				["doctypes", "total", "start", "limit", "next_start"],
			),
			operation="read",
		),
		ToolSpec(
			"get_doctype_permissions",
			"DocType permissions",
			"What you may do on a DocType, per operation (read, create, update, delete, submit, cancel) and "
			"per field, and which layer decides: ERPNext role permissions, ERPNext field permission levels, "
			"or your MCP profile's rule.",
			_obj({"doctype": DOCTYPE_ARG}, ["doctype"]),
			get_doctype_permissions,
			_read_only(),
			_obj(
				{
					"doctype": {"type": "string"},
					"operations": {"type": "object"},
					"erpnext": {"type": "object"},
					"profile": {"type": ["object", "null"]},
					"fields": {"type": "array", "items": {"type": "object"}},
				},
				["doctype", "operations", "fields"],
			),
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
			_obj(
				{
					"doctype": {"type": "string"},
					"operation": {"type": "string"},
					"fieldname": {"type": ["string", "null"]},
					"name": {"type": ["string", "null"]},
					"allowed": {"type": "boolean"},
					"layers": {"type": "array", "items": {"type": "object"}},
				},
				["doctype", "operation", "allowed", "layers"],
			),
			operation="read",
		),
		ToolSpec(
			"describe_doctype",
			"Describe DocType",
			"Describe a DocType's fields as you may see them: fieldname, label, type, options, required and "
			"read-only flags, link targets and child tables with their own fields.",
			_obj({"doctype": DOCTYPE_ARG}, ["doctype"]),
			describe_doctype,
			_read_only(),
			_obj(
				{
					"doctype": {"type": "string"},
					"module": {"type": "string"},
					"is_submittable": {"type": "boolean"},
					"is_single": {"type": "boolean"},
					"title_field": {"type": ["string", "null"]},
					"search_fields": {"type": "array", "items": {"type": "string"}},
					"fields": {"type": "array", "items": {"type": "object"}},
				},
				["doctype", "fields"],
			),
			operation="read",
		),
	]
