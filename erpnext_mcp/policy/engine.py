"""The single authority that turns the profiles reaching a user into allow/deny decisions with reasons.

Pure Python, no framework import, never touches the database: the caller loads the profiles (Profile
objects) and asks. ERPNext's own role permissions are applied separately; this only narrows them.

Resolution (what the administrator sees in the profile form):

1. A profile that reaches the user only as MCP Settings' default profile (via "default") is used only
   when no other profile applies. The same profile reaching the user twice counts once, by its most
   specific route ("user" before "role" before "default").
2. For each DocType the rule comes from exactly ONE profile: the highest-priority profile that has a
   rule for that DocType; on equal priority a profile assigned to the user wins over one reached
   through a role, which wins over the default; then the profile name decides (alphabetical).
3. Rules for different DocTypes from different profiles combine, but a rule is never mixed with
   another profile's rule for the same DocType: fields and conditions are read exactly as written.
   (So a high-priority rule that ticks nothing shuts a DocType that a lower profile opens.)
4. No profile at all: everything is refused, saying to assign a profile or set a default one.

On top of the rules, PROTECTED_DOCTYPES are refused even when a rule grants them, unless that rule
deliberately ticks allow_protected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from erpnext_mcp.policy.conditions import (
	condition_as_dict,
	condition_problem,
	describe_condition,
	evaluate,
	field_value,
	format_value,
	is_ambiguous,
	to_filter,
)
from erpnext_mcp.policy.model import (
	ALWAYS_VISIBLE_FIELDS,
	APPROVAL_OPERATIONS,
	FIELD_PURPOSES,
	LAYER_APPROVAL,
	LAYER_CONDITION,
	LAYER_FIELD_RULE,
	LAYER_NO_PROFILE,
	LAYER_PROFILE_RULE,
	LAYER_PROTECTED,
	OPERATIONS,
	VIA_ORDER,
	Condition,
	Decision,
	Profile,
	Rule,
	is_protected,
)

_VIA_RANK = {via: i for i, via in enumerate(VIA_ORDER)}
# How a message says what the agent tried to do with the fields it named.
_PURPOSE_VERBS = {
	"fields": "read",
	"filters": "filter on",
	"order_by": "sort by",
	"group_by": "group by",
	"search": "search in",
	"write": "write",
}
_MAX_FIELDS_NAMED = 5  # a refusal names this many offending fields, then counts the rest


def _check_operation_name(operation: str) -> None:
	if operation not in OPERATIONS:
		raise ValueError(f"unknown operation {operation!r}; expected one of {list(OPERATIONS)}")


def _condition_rule(doctype: str, condition: Condition) -> str:
	described = describe_condition(condition)
	label = condition.label.strip()
	if not label:
		return f"{doctype}: condition {described}"
	# A label such as "condition row 3" already says what it is.
	if label.casefold().startswith("condition"):
		return f"{doctype}: {label} ({described})"
	return f"{doctype}: condition {label} ({described})"


def _field_visible(rule: Rule, fieldname: str) -> bool:
	if fieldname in ALWAYS_VISIBLE_FIELDS:
		return True
	return _field_writable(rule, fieldname)


def _field_writable(rule: Rule, fieldname: str) -> bool:
	if fieldname in rule.restricted_fields:
		return False
	return rule.allowed_fields is None or fieldname in rule.allowed_fields


class EffectivePolicy:
	"""The rules that apply to one user, one per DocType. Build it with resolve()."""

	def __init__(self, profiles: Sequence[Profile] = ()):
		# `profiles` must already be in resolution order; resolve() sorts and filters them.
		self._profiles: tuple[Profile, ...] = tuple(profiles)
		self.profile_names: tuple[str, ...] = tuple(p.name for p in self._profiles)
		self._rules: dict[str, tuple[Profile, Rule]] = {}
		for profile in self._profiles:
			for rule in profile.rules:
				self._rules.setdefault(rule.doctype, (profile, rule))

	def __repr__(self) -> str:
		return f"EffectivePolicy(profiles={list(self.profile_names)}, doctypes={sorted(self._rules)})"

	# ------------------------------------------------------------ lookups

	def has_profiles(self) -> bool:
		return bool(self._profiles)

	def doctypes(self) -> list[str]:
		"""DocTypes an agent can do something with: a rule that ticks an operation, not shut as protected."""
		return sorted(
			doctype
			for doctype, (_profile, rule) in self._rules.items()
			if rule.operations and (rule.allow_protected or not is_protected(doctype))
		)

	def rule_for(self, doctype: str) -> tuple[Profile, Rule] | None:
		"""The profile and rule that decide for `doctype` (even a protected one), or None."""
		return self._rules.get(doctype)

	def _access(self, doctype: str, doing: str) -> tuple[Profile, Rule] | Decision:
		"""The deciding (profile, rule), or the refusal every question about `doctype` starts with."""
		if not self._profiles:
			return Decision(
				False,
				f'No MCP Permission Profile applies to this user, so the agent may not {doing} "{doctype}". '
				"Assign a profile to the user or to one of their roles, or set a default profile in MCP Settings.",
				LAYER_NO_PROFILE,
			)
		found = self._rules.get(doctype)
		if is_protected(doctype) and not (found and found[1].allow_protected):
			if found:
				reason = (
					f'DocType "{doctype}" is protected: MCP agents may not {doing} it, even though profile '
					f'"{found[0].name}" has a rule for it. To open it deliberately, tick "Allow protected '
					f'DocType" on the {doctype} rule of that profile.'
				)
			else:
				reason = (
					f'DocType "{doctype}" is protected: MCP agents may not {doing} it. An administrator can open '
					f'it only with a rule for {doctype} in an MCP Permission Profile that ticks "Allow protected '
					'DocType".'
				)
			return Decision(
				False,
				reason,
				LAYER_PROTECTED,
				found[0].name if found else None,
				f"{doctype}: protected DocType",
			)
		if found is None:
			names = ", ".join(self.profile_names)
			return Decision(
				False,
				f'No MCP profile rule for DocType "{doctype}" (profiles: {names}), so the agent may not '
				f"{doing} it. Add a rule for {doctype} to one of these profiles to allow it.",
				LAYER_PROFILE_RULE,
				names,
				f"{doctype}: no rule",
			)
		return found

	# ------------------------------------------------------------ operations

	def check_operation(self, operation: str, doctype: str) -> Decision:
		"""May the agent perform `operation` on `doctype` at all?"""
		_check_operation_name(operation)
		access = self._access(doctype, operation)
		if isinstance(access, Decision):
			return access
		profile, rule = access
		if operation not in rule.operations:
			return Decision(
				False,
				f'Profile "{profile.name}" does not allow "{operation}" on DocType "{doctype}": its {doctype} '
				f'rule does not tick "{operation}" (rule: {doctype}: {operation}).',
				LAYER_PROFILE_RULE,
				profile.name,
				f"{doctype}: {operation}",
			)
		# A condition the engine cannot read would otherwise be "not met" on writes but missing from
		# list filters; refuse the whole DocType until the administrator fixes it.
		for condition in rule.conditions:
			problem = condition_problem(condition)
			if problem:
				where = f" ({condition.label})" if condition.label else ""
				return Decision(
					False,
					f'Profile "{profile.name}" has an invalid condition{where} on field '
					f'"{condition.fieldname}" of DocType "{doctype}": {problem}. Every operation on {doctype} '
					"is refused until an administrator fixes the rule.",
					LAYER_CONDITION,
					profile.name,
					f"{doctype}: invalid condition on {condition.fieldname}",
				)
		return Decision(
			True,
			f'Profile "{profile.name}" allows "{operation}" on DocType "{doctype}" (rule: {doctype}: {operation}).',
			LAYER_PROFILE_RULE,
			profile.name,
			f"{doctype}: {operation}",
		)

	# ------------------------------------------------------------ reports

	def reports(self) -> list[str]:
		"""The reports the agent may run: every report any applying profile names (a report is one
		grant, not a rule per DocType, so profiles add up)."""
		return sorted({report for profile in self._profiles for report in profile.reports})

	def check_report(self, report: str) -> Decision:
		"""May the agent run `report`? Only a report a profile names; ERPNext's own report permission
		and the report's roles are checked by the backend on top."""
		if not self._profiles:
			return Decision(
				False,
				f'No MCP Permission Profile applies to this user, so the agent may not run the report "{report}". '
				"Assign a profile to the user or to one of their roles, or set a default profile in MCP Settings.",
				LAYER_NO_PROFILE,
			)
		for profile in self._profiles:
			if report in profile.reports:
				return Decision(
					True,
					f'Profile "{profile.name}" lets the agent run the report "{report}".',
					LAYER_PROFILE_RULE,
					profile.name,
					f"Report: {report}",
				)
		names = ", ".join(self.profile_names)
		return Decision(
			False,
			f'No MCP profile names the report "{report}" (profiles: {names}), so the agent may not run it. '
			"An administrator can add it to the Reports of one of these profiles.",
			LAYER_PROFILE_RULE,
			names,
			f"Report: {report}: not named",
		)

	# ------------------------------------------------------------ fields

	def visible_fields(self, doctype: str, fieldnames: Iterable[str]) -> list[str]:
		"""The given fields a result may carry, in the given order, without repeats."""
		access = self._access(doctype, "read")
		rule = None if isinstance(access, Decision) else access[1]
		out: list[str] = []
		seen: set[str] = set()
		for fieldname in fieldnames:
			if fieldname in seen:
				continue
			seen.add(fieldname)
			if fieldname in ALWAYS_VISIBLE_FIELDS or (rule is not None and _field_visible(rule, fieldname)):
				out.append(fieldname)
		return out

	def check_fields(self, doctype: str, fieldnames: Iterable[str], purpose: str) -> Decision:
		"""Every named field must be usable for `purpose`; refuses (never drops) naming the offenders."""
		if purpose not in FIELD_PURPOSES:
			raise ValueError(f"unknown purpose {purpose!r}; expected one of {list(FIELD_PURPOSES)}")
		names: list[str] = []
		for fieldname in fieldnames:
			if fieldname not in names:
				names.append(fieldname)
		verb = _PURPOSE_VERBS[purpose]
		access = self._access(doctype, f"{verb} fields of")
		if isinstance(access, Decision):
			return access
		profile, rule = access
		usable = _field_writable if purpose == "write" else _field_visible
		offending = [f for f in names if not usable(rule, f)]
		if not offending:
			return Decision(
				True,
				f'Profile "{profile.name}" lets the agent {verb} {len(names)} field(s) of DocType "{doctype}".',
				LAYER_FIELD_RULE,
				profile.name,
				f"{doctype}: fields",
			)
		described = []
		for fieldname in offending[:_MAX_FIELDS_NAMED]:
			if fieldname in rule.restricted_fields:
				described.append(f'restricted field "{fieldname}"')
			else:
				described.append(f'field "{fieldname}" (not in the rule\'s allowed fields)')
		if len(offending) > _MAX_FIELDS_NAMED:
			described.append(f"{len(offending) - _MAX_FIELDS_NAMED} more")
		first = offending[0]
		if first in rule.restricted_fields:
			rule_name = f'{doctype}: restricted field "{first}"'
		else:
			rule_name = f"{doctype}: allowed fields"
		where = "the values" if purpose == "write" else "the request"
		return Decision(
			False,
			f'Profile "{profile.name}" does not let the agent {verb} {", ".join(described)} of DocType '
			f'"{doctype}" (rule: {rule_name}). Leave {"it" if len(offending) == 1 else "them"} out of {where}, '
			"or ask an administrator to change the rule.",
			LAYER_FIELD_RULE,
			profile.name,
			rule_name,
		)

	# ------------------------------------------------------------ conditions

	def read_filters(self, doctype: str) -> list[list]:
		"""The read conditions as Frappe filter triplets to add to every list or search.

		Raises PermissionDenied if reading `doctype` is refused, so a caller that forgot to ask first
		cannot list a DocType without its conditions.
		"""
		self.check_operation("read", doctype).raise_if_denied()
		return self.scope_filters(doctype)

	def scope_filters(self, doctype: str) -> list[list]:
		"""The read scope as filter triplets, whatever the operation: outside it a document does not
		exist for the agent (the gate in data/gate.py asks this for update, delete, submit, cancel...)."""
		return [to_filter(c) for c in self._applying(doctype, "read")]

	def in_read_scope(self, doctype: str, doc: Mapping[str, Any]) -> Decision:
		"""Does a document meet the read conditions? (Evaluated here on the loaded document; data/ also
		asks the database with scope_filters, so both the engine and the collation must agree.)"""
		return self._meets(doctype, "read", doc, "the document", self._applying(doctype, "read"))

	def check_document(self, operation: str, doctype: str, doc: Mapping[str, Any]) -> Decision:
		"""Does the whole document meet the rule's conditions for `operation`?

		create: pass the document as it will be saved (defaults filled in); a missing field is None.
		update: use check_update (stored and merged document). read: a single fetched document.
		delete: the stored document against the delete conditions. submit / cancel: the stored
		document against their own conditions, or the update conditions when there are none.
		The read scope is checked separately (in_read_scope), before any of these.
		"""
		return self._check_document(operation, doctype, doc, "the document")

	def check_update(self, doctype: str, stored: Mapping[str, Any], merged: Mapping[str, Any]) -> Decision:
		"""An update must meet the update conditions both before it (stored) and after it (merged),
		and must leave the document inside the read scope unless the rule allows it to leave."""
		before = self._check_document("update", doctype, stored, "the stored document")
		if not before.allowed:
			return before
		after = self._check_document("update", doctype, merged, "the document after this update")
		if not after.allowed:
			return after
		_profile, rule = self._rules[doctype]
		if rule.may_leave_read_scope:
			return after
		scope = self._meets(
			doctype, "read", merged, "the document after this update", self._applying(doctype, "read")
		)
		if scope.allowed:
			return after
		return Decision(
			False,
			scope.reason.replace(" refuses to read this ", " refuses to update this ")
			+ " An update may not move a document out of the read conditions (the rule does not tick "
			'"Updates may leave the Read conditions").',
			scope.layer,
			scope.profile,
			scope.rule,
		)

	# ------------------------------------------------------------ approvals

	def approval_needed(self, operation: str, doctype: str, doc: Mapping[str, Any] | None) -> Decision | None:
		"""Must a person approve this call before it runs? None: no. Otherwise a Decision (allowed
		False, layer "approval") that names the rule; ask it once every other check has passed.

		delete / submit / cancel: when the rule ticks Approve Delete / Submit / Cancel. create /
		update: when the rule has "approve create" / "approve update" conditions and the document as it
		will be saved (create: the new document; update: the document after the update) meets every
		one of them, e.g. "grand_total > 10000" makes large orders wait and lets small ones through."""
		_check_operation_name(operation)
		found = self._rules.get(doctype)
		if found is None:
			return None
		profile, rule = found
		if operation in APPROVAL_OPERATIONS:
			if operation not in rule.approval_operations:
				return None
			rule_name = f"{doctype}: approve {operation}"
			why = f'its {doctype} rule ticks "Approve {operation.capitalize()}"'
		elif operation in ("create", "update"):
			applying = [c for c in rule.conditions if f"approve {operation}" in c.applies_to]
			if not applying:
				return None
			for condition in applying:
				if condition_problem(condition) or not evaluate(
					condition, field_value(doc, condition.fieldname)
				):
					return None
			described = " and ".join(describe_condition(c) for c in applying)
			rule_name = f"{doctype}: approval condition on {operation}"
			why = f"the document meets its approval condition(s) for {operation} ({described})"
		else:
			return None
		return Decision(
			False,
			f'Profile "{profile.name}" lets the agent {operation} this {doctype} only after a person with the '
			f'role "{profile.approver_role}" approves: {why} (rule: {rule_name}).',
			LAYER_APPROVAL,
			profile.name,
			rule_name,
		)

	def has_approvals(self) -> bool:
		"""Does any rule that decides make some call wait for approval? (get_approval_status is listed
		only then: every tool in the list costs the model context on every turn.)"""
		return any(
			rule.approval_operations
			or any(c.applies_to & {"approve create", "approve update"} for c in rule.conditions)
			for _profile, rule in self._rules.values()
		)

	def approver_role(self, doctype: str) -> str | None:
		"""The role that approves calls on `doctype` (of the profile whose rule decides), or None."""
		found = self._rules.get(doctype)
		return found[0].approver_role if found else None

	def _applying(self, doctype: str, operation: str) -> list[Condition]:
		"""The conditions that bind `operation` (none without a rule): submit and cancel fall back to
		update's."""
		found = self._rules.get(doctype)
		if found is None:
			return []
		rule = found[1]
		applying = [c for c in rule.conditions if operation in c.applies_to]
		if not applying and operation in ("submit", "cancel"):
			applying = [c for c in rule.conditions if "update" in c.applies_to]
		return applying

	def _check_document(
		self, operation: str, doctype: str, doc: Mapping[str, Any] | None, subject: str
	) -> Decision:
		decision = self.check_operation(operation, doctype)
		if not decision.allowed:
			return decision
		return self._meets(doctype, operation, doc, subject, self._applying(doctype, operation))

	def _meets(
		self,
		doctype: str,
		operation: str,
		doc: Mapping[str, Any] | None,
		subject: str,
		applying: list[Condition],
	) -> Decision:
		found = self._rules.get(doctype)
		if found is None:
			return self.check_operation(operation, doctype)
		profile, rule = found
		for condition in applying:
			value = field_value(doc, condition.fieldname)
			if evaluate(condition, value):
				continue
			rule_name = _condition_rule(doctype, condition)
			return Decision(
				False,
				f'Profile "{profile.name}" refuses to {operation} this {doctype}: {subject} does not meet the '
				f"condition {describe_condition(condition)} (rule: {rule_name}); "
				f"{self._value_clause(rule, condition, value)}.",
				LAYER_CONDITION,
				profile.name,
				rule_name,
			)
		return Decision(
			True,
			f'{subject[0].upper()}{subject[1:]} meets the {len(applying)} condition(s) of profile "{profile.name}" '
			f'for "{operation}" on DocType "{doctype}".',
			LAYER_CONDITION,
			profile.name,
			f"{doctype}: conditions",
		)

	@staticmethod
	def _value_clause(rule: Rule, condition: Condition, value: Any) -> str:
		# Only the offending field is described, and its value only if the profile lets the agent see it.
		field = condition.fieldname
		if not _field_visible(rule, field):
			return f"the value of {field} is not shown because the profile hides that field"
		if value is None:
			return f"{field} is not set"
		if isinstance(value, (list, tuple, set, frozenset, dict)):
			return f"{field} holds a {type(value).__name__}, which never meets a value condition"
		clause = f"{field} is {format_value(value)}"
		if is_ambiguous(condition, value):
			clause += (
				" — a number written differently from the condition's value; send it exactly as the "
				"condition writes it"
			)
		return clause

	# ------------------------------------------------------------ explain / summary

	def explain(
		self,
		operation: str,
		doctype: str,
		fieldname: str | None = None,
		doc: Mapping[str, Any] | None = None,
	) -> Decision:
		"""The first refusal among operation, field and document checks, or why it is all allowed."""
		decision = self.check_operation(operation, doctype)
		if not decision.allowed:
			return decision
		reasons = [decision.reason]
		if fieldname:
			purpose = "write" if operation in ("create", "update") else "fields"
			field_decision = self.check_fields(doctype, [fieldname], purpose)
			if not field_decision.allowed:
				return field_decision
			reasons.append(field_decision.reason)
		if doc is not None:
			doc_decision = self.check_document(operation, doctype, doc)
			if not doc_decision.allowed:
				return doc_decision
			reasons.append(doc_decision.reason)
		return Decision(True, " ".join(reasons), decision.layer, decision.profile, decision.rule)

	def summary(self, doctype: str) -> dict:
		"""The deciding rule in JSON form, with the operations as they are effectively decided."""
		found = self._rules.get(doctype)
		operations = {op: self.check_operation(op, doctype).allowed for op in OPERATIONS}
		if found is None:
			return {
				"doctype": doctype,
				"profile": None,
				"via": None,
				"priority": None,
				"operations": operations,
				"allowed_fields": [],
				"restricted_fields": [],
				"conditions": [],
				"protected": is_protected(doctype),
				"allow_protected": False,
			}
		profile, rule = found
		return {
			"doctype": doctype,
			"profile": profile.name,
			"via": profile.via,
			"priority": profile.priority,
			"operations": operations,
			"allowed_fields": None if rule.allowed_fields is None else sorted(rule.allowed_fields),
			"restricted_fields": sorted(rule.restricted_fields),
			"conditions": [condition_as_dict(c) for c in rule.conditions],
			"protected": is_protected(doctype),
			"allow_protected": rule.allow_protected,
			"approval": sorted(rule.approval_operations)
			+ [
				op
				for op in ("create", "update")
				if any(f"approve {op}" in c.applies_to for c in rule.conditions)
			],
			"approver_role": profile.approver_role,
		}


def _resolution_key(profile: Profile) -> tuple:
	return (-profile.priority, _VIA_RANK[profile.via], profile.name.casefold(), profile.name)


def resolve(profiles: Iterable[Profile]) -> EffectivePolicy:
	"""The EffectivePolicy of a user reached by `profiles` (see the module docstring for the rule)."""
	best: dict[str, Profile] = {}
	for profile in profiles:
		if not isinstance(profile, Profile):
			raise TypeError(f"resolve() takes Profile objects, got {profile!r}")
		current = best.get(profile.name)
		# One profile reaching the user twice counts once, by its most specific route; repr() only
		# keeps the choice independent of input order if two different profiles share a name.
		key = (_VIA_RANK[profile.via], -profile.priority, repr(profile))
		if current is None or key < (_VIA_RANK[current.via], -current.priority, repr(current)):
			best[profile.name] = profile
	chosen = list(best.values())
	assigned = [p for p in chosen if p.via != "default"]
	active = assigned or chosen
	return EffectivePolicy(sorted(active, key=_resolution_key))


__all__ = ["EffectivePolicy", "resolve"]
