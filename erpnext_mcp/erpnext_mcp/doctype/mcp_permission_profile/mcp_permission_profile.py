# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt

from types import SimpleNamespace

import frappe
from frappe import _
from frappe.model.document import Document

from erpnext_mcp.data.backend import LAYOUT_FIELDTYPES, STANDARD_FIELDS
from erpnext_mcp.data.profiles import OPERATION_FIELDS, parse_condition_value, split_fields
from erpnext_mcp.policy import (
	DOCTYPE_TOOL_KINDS,
	PROTECTED_DOCTYPES,
	Condition,
	condition_problem,
	is_protected,
)
from erpnext_mcp.policy.model import PROTECTED_PREFIX

NUMERIC_FIELDTYPES = {"Int", "Float", "Currency", "Percent", "Check", "Rating", "Duration"}
DATE_FIELDTYPES = {"Date", "Datetime"}
COMPARISONS = {"<", "<=", ">", ">=", "between"}


class MCPPermissionProfile(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from erpnext_mcp.erpnext_mcp.doctype.mcp_profile_condition.mcp_profile_condition import (
			MCPProfileCondition,
		)
		from erpnext_mcp.erpnext_mcp.doctype.mcp_profile_role.mcp_profile_role import MCPProfileRole
		from erpnext_mcp.erpnext_mcp.doctype.mcp_profile_rule.mcp_profile_rule import MCPProfileRule
		from erpnext_mcp.erpnext_mcp.doctype.mcp_profile_user.mcp_profile_user import MCPProfileUser

		conditions: DF.Table[MCPProfileCondition]
		description: DF.SmallText | None
		enabled: DF.Check
		export_as_fixture: DF.Check
		priority: DF.Int
		profile_name: DF.Data
		rate_limit_per_hour: DF.Int
		rate_limit_per_minute: DF.Int
		roles: DF.TableMultiSelect[MCPProfileRole]
		rules: DF.Table[MCPProfileRule]
		users: DF.TableMultiSelect[MCPProfileUser]
	# end: auto-generated types

	def onload(self):
		# The form warns as soon as a rule names a protected DocType (the engine's own list).
		self.set_onload("protected_doctypes", sorted(PROTECTED_DOCTYPES))
		self.set_onload("protected_prefix", PROTECTED_PREFIX)

	def validate(self):
		self.validate_rules()
		self.validate_conditions()
		self.validate_reports()
		self.warn_about_tool_count()

	def validate_reports(self):
		"""Only reports run_report can run: query and script reports (a Report Builder report is a saved
		list; the agent reaches its data with list_generic_documents and aggregate_documents)."""
		from erpnext_mcp.data.reports import RUNNABLE_TYPES

		for row in self.get("reports") or []:
			report_type = frappe.db.get_value("Report", row.report, "report_type")
			if report_type and report_type not in RUNNABLE_TYPES:
				frappe.throw(
					_("Reports: {0} is a {1}; an agent can run query and script reports only.").format(
						frappe.bold(row.report), report_type
					)
				)

	def warn_about_tool_count(self):
		"""Past MCP Settings' Max Tools per Caller the plan leaves per-DocType tools out: say so here."""
		from erpnext_mcp.data.settings import load_settings
		from erpnext_mcp.server.tools import generic_tools

		per_doctype = 0
		for row in self.rules:
			granted = {op for op, field in OPERATION_FIELDS.items() if row.get(field)}
			kinds = {k.lower() for k in split_fields(row.get("doctype_tools"))}
			per_doctype += sum(1 for k in kinds if DOCTYPE_TOOL_KINDS.get(k) in granted)
		if not per_doctype:
			return
		settings = load_settings()
		cap = settings.max_tools
		total = len(generic_tools(SimpleNamespace(settings=settings))) + per_doctype
		if total > cap:
			frappe.msgprint(
				_(
					"This profile switches on {0} per-DocType tools: with the generic tools an agent would get "
					"{1} tools, and MCP Settings allow {2} per caller (Max Tools per Caller). The per-DocType "
					"tools past {2} are left out (test_connection names them); the generic tools still reach "
					"those DocTypes. Switch fewer on, or raise the limit (at most 128)."
				).format(per_doctype, total, cap),
				title=_("More tools than an agent will get"),
				indicator="orange",
			)

	def validate_rules(self):
		seen = set()
		for row in self.rules:
			label = _("Rules row {0}").format(row.idx)
			kinds = [k.lower() for k in split_fields(row.get("doctype_tools"))]
			unknown = [k for k in kinds if k not in DOCTYPE_TOOL_KINDS]
			if unknown:
				frappe.throw(
					_("{0}: Per-DocType Tools: {1} is not one of {2}").format(
						label, ", ".join(frappe.bold(k) for k in unknown), ", ".join(DOCTYPE_TOOL_KINDS)
					)
				)
			row.doctype_tools = ", ".join(k for k in DOCTYPE_TOOL_KINDS if k in kinds)
			if not frappe.db.exists("DocType", row.document_type):
				frappe.throw(
					_("{0}: DocType {1} does not exist").format(label, frappe.bold(row.document_type))
				)
			if row.document_type in seen:
				frappe.throw(
					_("{0}: {1} has more than one rule in this profile; merge them into one row").format(
						label, frappe.bold(row.document_type)
					)
				)
			seen.add(row.document_type)
			known = data_fieldnames(row.document_type)
			allowed = split_fields(row.allowed_fields)
			restricted = split_fields(row.restricted_fields)
			for which, names in ((_("Allowed Fields"), allowed), (_("Restricted Fields"), restricted)):
				unknown = [f for f in names if f not in known]
				if unknown:
					frappe.throw(
						_("{0}: {1} of {2} has no field {3}").format(
							label, which, row.document_type, ", ".join(frappe.bold(f) for f in unknown)
						)
					)
			both = sorted(set(allowed) & set(restricted))
			if both:
				frappe.throw(
					_("{0}: {1} cannot be both allowed and restricted").format(
						label, ", ".join(frappe.bold(f) for f in both)
					)
				)
			# Stored normalised so the form always shows the same spelling the engine reads.
			row.allowed_fields = ", ".join(dict.fromkeys(allowed))
			row.restricted_fields = ", ".join(dict.fromkeys(restricted))
			if is_protected(row.document_type) and not row.allow_protected:
				frappe.msgprint(
					_(
						"{0}: {1} is a protected DocType. Agents stay locked out of it until you tick "
						"'Open a Protected DocType' on this row."
					).format(label, frappe.bold(row.document_type)),
					indicator="orange",
					alert=True,
				)

	def validate_conditions(self):
		ruled = {row.document_type for row in self.rules}
		for row in self.conditions:
			label = _("Conditions row {0}").format(row.idx)
			if row.document_type not in ruled:
				frappe.throw(
					_("{0}: add a rule for {1} first; conditions narrow a rule").format(
						label, frappe.bold(row.document_type)
					)
				)
			meta = frappe.get_meta(row.document_type)
			df = meta.get_field(row.fieldname)
			if row.fieldname not in STANDARD_FIELDS and (df is None or df.fieldtype in LAYOUT_FIELDTYPES):
				frappe.throw(
					_("{0}: {1} has no field {2}").format(
						label, row.document_type, frappe.bold(row.fieldname)
					)
				)
			value = parse_condition_value(row.operator, row.value)
			problem = condition_problem(
				Condition(fieldname=row.fieldname, operator=row.operator, value=value)
			)
			if problem:
				frappe.throw(f"{label}: {problem}")
			fieldtype = (
				df.fieldtype if df else ("Datetime" if row.fieldname in ("creation", "modified") else "Data")
			)
			values = value if isinstance(value, list) else [value]
			if row.operator in ("is set", "is not set"):
				continue
			for v in values:
				check_value_type(label, row.fieldname, fieldtype, row.operator, v, df)


def data_fieldnames(doctype: str) -> set[str]:
	meta = frappe.get_meta(doctype)
	return set(STANDARD_FIELDS) | {
		df.fieldname for df in meta.fields if df.fieldtype not in LAYOUT_FIELDTYPES
	}


def check_value_type(label, fieldname, fieldtype, operator, value, df) -> None:
	text = "" if value is None else str(value).strip()
	if fieldtype in NUMERIC_FIELDTYPES:
		try:
			number = float(text)
		except ValueError:
			frappe.throw(
				_("{0}: {1} is a number field ({2}); {3} is not a number").format(
					label, frappe.bold(fieldname), fieldtype, frappe.bold(text or _("(empty)"))
				)
			)
		if fieldtype == "Check" and number not in (0, 1):
			frappe.throw(_("{0}: {1} is a checkbox; use 0 or 1").format(label, frappe.bold(fieldname)))
	elif fieldtype in DATE_FIELDTYPES:
		try:
			frappe.utils.getdate(text) if fieldtype == "Date" else frappe.utils.get_datetime(text)
		except Exception:
			frappe.throw(
				_("{0}: {1} is a {2} field; {3} is not a date (use YYYY-MM-DD)").format(
					label, frappe.bold(fieldname), fieldtype, frappe.bold(text or _("(empty)"))
				)
			)
	elif operator in COMPARISONS:
		frappe.throw(
			_("{0}: {1} compares only numbers and dates; {2} is a {3} field").format(
				label, frappe.bold(operator), frappe.bold(fieldname), fieldtype
			)
		)
	elif fieldtype == "Select" and df is not None and df.options:
		options = [o for o in df.options.split("\n")]
		if text not in options:
			frappe.throw(
				_("{0}: {1} is not an option of {2} (options: {3})").format(
					label, frappe.bold(text), frappe.bold(fieldname), ", ".join(o or '""' for o in options)
				)
			)
