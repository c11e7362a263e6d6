"""The one place that finds which MCP Permission Profiles apply to a user and turns them into policy data."""

from __future__ import annotations

import json

import frappe

from erpnext_mcp.policy import DOCTYPE_TOOL_KINDS, Condition, Profile, Rule, resolve
from erpnext_mcp.policy.engine import EffectivePolicy
from erpnext_mcp.policy.model import DEFAULT_APPROVER_ROLE

OPERATION_FIELDS = {
	"read": "can_read",
	"create": "can_create",
	"update": "can_update",
	"delete": "can_delete",
	"submit": "can_submit",
	"cancel": "can_cancel",
}
APPLIES_TO = {
	"Read": {"read"},
	"Create": {"create"},
	"Update": {"update"},
	"Create and Update": {"create", "update"},
	"Read, Create and Update": {"read", "create", "update"},
	"Delete": {"delete"},
	"Submit": {"submit"},
	"Cancel": {"cancel"},
	"Submit and Cancel": {"submit", "cancel"},
	# Not a limit: a create / update meeting every such condition waits for a person's approval.
	"Approval on Create": {"approve create"},
	"Approval on Update": {"approve update"},
}
APPROVAL_FIELDS = {"delete": "approve_delete", "submit": "approve_submit", "cancel": "approve_cancel"}


def split_fields(text: str | None) -> list[str]:
	return [f.strip() for f in (text or "").replace("\n", ",").split(",") if f.strip()]


def parse_condition_value(operator: str, raw: str | None):
	"""The Desk form stores values as text: one per line for lists, JSON also accepted."""
	text = (raw or "").strip()
	if operator in ("is set", "is not set"):
		return None
	if operator in ("in", "not in", "between"):
		if text.startswith("["):
			try:
				value = json.loads(text)
			except ValueError:
				value = None
			if isinstance(value, list):
				return value
		return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
	return text


def profile_from_doc(doc, via: str) -> Profile:
	rules = []
	conditions_by_doctype: dict[str, list[Condition]] = {}
	for i, row in enumerate(doc.get("conditions") or [], start=1):
		conditions_by_doctype.setdefault(row.document_type, []).append(
			Condition(
				fieldname=row.fieldname,
				operator=row.operator,
				value=parse_condition_value(row.operator, row.value),
				applies_to=frozenset(APPLIES_TO.get(row.applies_to, {"create", "update"})),
				label=f"condition row {i}",
			)
		)
	for row in doc.get("rules") or []:
		allowed = split_fields(row.allowed_fields)
		rules.append(
			Rule(
				doctype=row.document_type,
				operations=frozenset(op for op, field in OPERATION_FIELDS.items() if row.get(field)),
				allowed_fields=frozenset(allowed) if allowed else None,
				restricted_fields=frozenset(split_fields(row.restricted_fields)),
				conditions=tuple(conditions_by_doctype.get(row.document_type, ())),
				allow_protected=bool(row.allow_protected),
				may_leave_read_scope=bool(row.get("allow_leaving_read_scope")),
				doctype_tools=frozenset(
					k.lower()
					for k in split_fields(row.get("doctype_tools"))
					if k.lower() in DOCTYPE_TOOL_KINDS
				),
				approval_operations=frozenset(op for op, field in APPROVAL_FIELDS.items() if row.get(field)),
			)
		)
	reports = frozenset(row.report for row in doc.get("reports") or [] if row.report)
	return Profile(
		name=doc.name,
		rules=tuple(rules),
		priority=doc.priority or 0,
		via=via,
		reports=reports,
		approver_role=doc.get("approver_role") or DEFAULT_APPROVER_ROLE,
	)


def profiles_for(user: str) -> list[Profile]:
	"""Enabled profiles naming the user or one of their roles; else Settings' default profile."""
	return profiles_and_limits(user)[0]


def profiles_and_limits(user: str) -> tuple[list[Profile], dict[str, dict[str, int | None]]]:
	"""The profiles that apply to the user, and the rate limits each sets (profile name → limits).

	Cached in Redis per user together with the permission epoch they were built under, which every
	write to profiles, Settings, users and roles renews (data/cache.py), so a change in Desk applies
	to the next request. An MCP request has read the entry already (data/request.py, one pipeline)."""
	from erpnext_mcp.data import request

	prelude = request.current(user)
	if prelude is None:
		prelude = request.begin(user, count=False, keep=False)  # outside the endpoint: stdio, Desk
	if prelude.profiles is None:
		_load_into(prelude)
	return prelude.profiles, prelude.profile_limits


def _load_into(prelude) -> None:
	"""Build the user's profiles, their limits and the resolved policy (with its fingerprint) once per
	permission epoch, and keep them where the next request's pipeline reads them."""
	from erpnext_mcp.data import request
	from erpnext_mcp.data.cache_key import policy_fingerprint

	profiles, limits = _load_profiles(prelude.user)
	policy = resolve(profiles)
	policy_fingerprint(policy)
	request.store_profiles(prelude.user, prelude.epoch, profiles, limits, policy)
	prelude.profiles, prelude.profile_limits, prelude.policy = profiles, limits, policy


def _load_profiles(user: str) -> tuple[list[Profile], dict[str, dict[str, int | None]]]:
	roles = set(frappe.get_roles(user))
	# The app's own configuration tables, read to decide; not documents read on the caller's behalf.
	by_user = set(
		frappe.get_all(
			"MCP Profile User", filters={"user": user, "parenttype": "MCP Permission Profile"}, pluck="parent"
		)
	)
	by_role = set(
		frappe.get_all(
			"MCP Profile Role",
			filters={"role": ["in", sorted(roles) or [""]], "parenttype": "MCP Permission Profile"},
			pluck="parent",
		)
	)
	names = sorted(by_user | by_role)
	out, limits = [], {}
	docs = [(name, "user" if name in by_user else "role") for name in names]
	for name, via in docs:
		doc = frappe.get_cached_doc("MCP Permission Profile", name)
		if doc.enabled:
			out.append(profile_from_doc(doc, via))
			limits[doc.name] = _limits(doc)
	if not out:
		default = frappe.db.get_single_value("MCP Settings", "default_profile")
		if default and frappe.db.exists("MCP Permission Profile", default):
			doc = frappe.get_cached_doc("MCP Permission Profile", default)
			if doc.enabled:
				out.append(profile_from_doc(doc, "default"))
				limits[doc.name] = _limits(doc)
	return out, limits


def _limits(doc) -> dict[str, int | None]:
	return {"per_minute": doc.get("rate_limit_per_minute"), "per_hour": doc.get("rate_limit_per_hour")}


def policy_for(user: str) -> EffectivePolicy:
	"""The user's effective policy, resolved once per permission epoch (kept with the profiles)."""
	from erpnext_mcp.data import request

	prelude = request.current(user)
	if prelude is None:
		return resolve(profiles_for(user))
	if prelude.policy is None:
		if prelude.profiles is None:
			_load_into(prelude)
		else:
			prelude.policy = resolve(prelude.profiles)
	return prelude.policy


APPLIES_TO_LABEL = {
	frozenset({"read"}): "Read",
	frozenset({"create"}): "Create",
	frozenset({"update"}): "Update",
	frozenset({"create", "update"}): "Create and Update",
	frozenset({"read", "create", "update"}): "Read, Create and Update",
	frozenset({"delete"}): "Delete",
	frozenset({"submit"}): "Submit",
	frozenset({"cancel"}): "Cancel",
	frozenset({"submit", "cancel"}): "Submit and Cancel",
	frozenset({"approve create"}): "Approval on Create",
	frozenset({"approve update"}): "Approval on Update",
}


def profile_to_rows(profile: Profile) -> dict[str, list[dict]]:
	"""A policy Profile as MCP Permission Profile child rows (the inverse of profile_from_doc)."""
	rules, conditions = [], []
	for rule in profile.rules:
		row = {
			"document_type": rule.doctype,
			"allow_protected": int(rule.allow_protected),
			"allow_leaving_read_scope": int(rule.may_leave_read_scope),
			"doctype_tools": ", ".join(k for k in DOCTYPE_TOOL_KINDS if k in rule.doctype_tools),
		}
		for op, field in OPERATION_FIELDS.items():
			row[field] = int(op in rule.operations)
		for op, field in APPROVAL_FIELDS.items():
			row[field] = int(op in rule.approval_operations)
		row["allowed_fields"] = (
			", ".join(sorted(rule.allowed_fields)) if rule.allowed_fields is not None else ""
		)
		row["restricted_fields"] = ", ".join(sorted(rule.restricted_fields))
		rules.append(row)
		for condition in rule.conditions:
			for applies in _split_applies(condition.applies_to):
				value = condition.value
				if isinstance(value, (list, tuple)):
					text = "\n".join(str(v) for v in value)
				else:
					text = "" if value is None else str(value)
				conditions.append(
					{
						"document_type": rule.doctype,
						"applies_to": applies,
						"fieldname": condition.fieldname,
						"operator": condition.operator,
						"value": text,
					}
				)
	return {"rules": rules, "conditions": conditions}


def _split_applies(applies_to: frozenset[str]) -> list[str]:
	label = APPLIES_TO_LABEL.get(frozenset(applies_to))
	if label:
		return [label]
	return [APPLIES_TO_LABEL[frozenset({op})] for op in sorted(applies_to)]
