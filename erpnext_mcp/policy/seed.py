"""The single authority that imports the original design's config.json permission block into a Profile.

Accepted shapes: the whole config ({"permissions": {"doctypes": {...}}, ...other sections}), the
permission block ({"doctypes": {...}}). Per DocType: read/create/update/delete/submit/cancel as true or
false, allowed_fields and restricted_fields as lists of fieldnames, and conditions as
{operation: {field: value-or-{operator: value}}} where a bare value means equality and the operator
names are in/not_in, eq/=, ne/!=, lt/<, lte/<=, gt/>, gte/>=, between, is_set (true/false).

Nothing is dropped silently: everything not understood comes back as a "could not map" message. And
nothing not understood may widen access, so the import fails closed: an operation whose condition
could not be mapped is left off the rule, and a field list that could not be read leaves the rule
with no visible field but the document name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from erpnext_mcp.policy.conditions import condition_problem, format_value
from erpnext_mcp.policy.model import (
	CONDITION_OPERATIONS,
	DEFAULT_CONDITION_OPERATIONS,
	OPERATIONS,
	Condition,
	Profile,
	Rule,
	is_protected,
)

# config.json operator names -> CONDITION_OPERATORS
SEED_OPERATORS = {
	"in": "in",
	"not_in": "not in",
	"not in": "not in",
	"eq": "=",
	"=": "=",
	"==": "=",
	"ne": "!=",
	"neq": "!=",
	"!=": "!=",
	"lt": "<",
	"<": "<",
	"lte": "<=",
	"<=": "<=",
	"gt": ">",
	">": ">",
	"gte": ">=",
	">=": ">=",
	"between": "between",
}
_RULE_KEYS = frozenset(OPERATIONS) | {"allowed_fields", "restricted_fields", "conditions"}


def _permission_block(data: Any, messages: list[str]) -> Mapping | None:
	if not isinstance(data, Mapping):
		messages.append(f"the seed is a {type(data).__name__}, not a JSON object; nothing imported")
		return None
	if "permissions" in data:
		block = data["permissions"]
		if not isinstance(block, Mapping):
			messages.append('"permissions" is not an object; nothing imported')
			return None
	elif "doctypes" in data:
		block = data
	else:
		messages.append('no "permissions" or "doctypes" key in the seed; nothing imported')
		return None
	# Other top-level sections of a whole config.json (server, erpnext...) are not permissions; only
	# unknown keys inside the permission block itself are reported.
	for key in block:
		if key != "doctypes":
			messages.append(f'permissions: unknown key "{key}" not imported')
	doctypes = block.get("doctypes")
	if not isinstance(doctypes, Mapping):
		messages.append('"doctypes" is missing or not an object; nothing imported')
		return None
	return doctypes


def _field_list(doctype: str, key: str, value: Any, messages: list[str]) -> frozenset[str] | None:
	"""The fieldnames of a list, or None if the list could not be read (the caller fails closed)."""
	if not isinstance(value, (list, tuple)):
		messages.append(f"{doctype}: {key} is {format_value(value)}, not a list of fieldnames")
		return None
	names = [v for v in value if isinstance(v, str) and v.strip()]
	if len(names) != len(value):
		bad = [format_value(v) for v in value if not (isinstance(v, str) and v.strip())]
		messages.append(f"{doctype}: {key} has entries that are not fieldnames: {', '.join(bad)}")
		return None
	return frozenset(v.strip() for v in names)


def _conditions(
	doctype: str, value: Any, messages: list[str]
) -> tuple[list[tuple[str, str, Any, str]], set[str]]:
	"""(operation, fieldname, operator, value) tuples, and the operations to leave off (fail closed)."""
	found: list[tuple[str, str, Any, str]] = []
	refused: set[str] = set()
	if not isinstance(value, Mapping):
		messages.append(
			f"{doctype}: conditions is {format_value(value)}, not an object; create, update and read were "
			"left off the rule so it is not wider than the seed"
		)
		return found, set(DEFAULT_CONDITION_OPERATIONS)
	for operation, fields in value.items():
		if operation not in CONDITION_OPERATIONS:
			messages.append(
				f'{doctype}: conditions for "{operation}" not imported; conditions apply only to '
				f"{', '.join(CONDITION_OPERATIONS)}"
			)
			if operation in OPERATIONS:
				refused.add(operation)
			continue
		if not isinstance(fields, Mapping):
			messages.append(
				f'{doctype}: conditions for "{operation}" are not an object of field: condition; '
				f'"{operation}" was left off the rule so it is not wider than the seed'
			)
			refused.add(operation)
			continue
		for fieldname, spec in fields.items():
			where = f'{doctype}: {operation} condition on "{fieldname}"'
			if not isinstance(spec, Mapping):
				if isinstance(spec, (list, tuple, set, dict)):
					messages.append(
						f"{where} is a bare {type(spec).__name__} ({format_value(spec)}); write "
						f'{{"in": [...]}} for a list of values. "{operation}" was left off the rule'
					)
					refused.add(operation)
				else:
					found.append((operation, fieldname, "=", spec))
				continue
			if not spec:
				messages.append(f'{where} is empty; "{operation}" was left off the rule')
				refused.add(operation)
			for op_name, operand in spec.items():
				if op_name == "is_set":
					if isinstance(operand, bool):
						found.append((operation, fieldname, "is set" if operand else "is not set", None))
					else:
						messages.append(
							f'{where}: is_set must be true or false, not {format_value(operand)}; "{operation}" '
							"was left off the rule"
						)
						refused.add(operation)
					continue
				operator = SEED_OPERATORS.get(str(op_name).strip().lower())
				if operator is None:
					messages.append(
						f'{where}: unknown operator "{op_name}"; "{operation}" was left off the rule'
					)
					refused.add(operation)
					continue
				found.append((operation, fieldname, operator, operand))
	return found, refused


def _rule(doctype: str, spec: Any, messages: list[str]) -> Rule | None:
	if not isinstance(doctype, str) or not doctype.strip():
		messages.append(f"DocType name {format_value(doctype)} is not a name; its rule was not imported")
		return None
	doctype = doctype.strip()
	if not isinstance(spec, Mapping):
		messages.append(f"{doctype}: the rule is {format_value(spec)}, not an object; not imported")
		return None
	for key in spec:
		if key not in _RULE_KEYS:
			messages.append(f'{doctype}: unknown key "{key}" not imported')

	operations = set()
	for op in OPERATIONS:
		if op not in spec:
			continue
		granted = spec[op]
		if isinstance(granted, bool):
			if granted:
				operations.add(op)
		else:
			messages.append(f'{doctype}: "{op}" is {format_value(granted)}, not true or false; not granted')

	allowed_fields = None
	restricted_fields: frozenset[str] = frozenset()
	if "allowed_fields" in spec and spec["allowed_fields"] is not None:
		allowed_fields = _field_list(doctype, "allowed_fields", spec["allowed_fields"], messages)
		if allowed_fields is None:
			allowed_fields = frozenset()
			messages[-1] += "; the rule allows no field but the document name until it is fixed"
	if "restricted_fields" in spec and spec["restricted_fields"] is not None:
		restricted = _field_list(doctype, "restricted_fields", spec["restricted_fields"], messages)
		if restricted is None:
			# A restriction that cannot be read must not leave the fields open.
			allowed_fields = frozenset()
			messages[-1] += "; the rule allows no field but the document name until it is fixed"
		else:
			restricted_fields = restricted

	conditions: list[Condition] = []
	if "conditions" in spec and spec["conditions"] is not None:
		found, refused = _conditions(doctype, spec["conditions"], messages)
		# The same test under several operations becomes one condition applying to all of them.
		merged: dict[tuple, set[str]] = {}
		order: list[tuple] = []
		for operation, fieldname, operator, operand in found:
			probe = Condition(fieldname, operator, operand, frozenset({operation}))
			problem = condition_problem(probe)
			if problem:
				messages.append(
					f'{doctype}: {operation} condition on "{fieldname}" is invalid: {problem}; '
					f'"{operation}" was left off the rule'
				)
				refused.add(operation)
				continue
			key = (probe.fieldname, probe.operator, repr(probe.value))
			if key not in merged:
				merged[key] = set()
				order.append((key, probe))
			merged[key].add(operation)
		for key, probe in order:
			conditions.append(Condition(probe.fieldname, probe.operator, probe.value, frozenset(merged[key])))
		granted_refused = sorted(operations & refused, key=OPERATIONS.index)
		operations -= refused
		if granted_refused:
			messages.append(
				f"{doctype}: {', '.join(granted_refused)} not granted because a condition for it could not be "
				"imported"
			)

	if operations and is_protected(doctype):
		messages.append(
			f"{doctype}: imported, but {doctype} is a protected DocType; agents are refused until an "
			'administrator ticks "Allow protected DocType" on the rule'
		)
	return Rule(
		doctype=doctype,
		operations=frozenset(operations),
		allowed_fields=allowed_fields,
		restricted_fields=restricted_fields,
		conditions=tuple(conditions),
	)


def import_seed(data: Mapping, profile_name: str) -> tuple[Profile, list[str]]:
	"""The seed's permission block as one Profile (via "role", priority 0) and the could-not-map messages."""
	messages: list[str] = []
	rules: list[Rule] = []
	doctypes = _permission_block(data, messages)
	seen: set[str] = set()
	for doctype, spec in (doctypes or {}).items():
		rule = _rule(doctype, spec, messages)
		if rule is None:
			continue
		if rule.doctype in seen:
			messages.append(f"{rule.doctype}: a second rule for the same DocType was not imported")
			continue
		seen.add(rule.doctype)
		rules.append(rule)
	rules.sort(key=lambda r: r.doctype)
	return Profile(name=profile_name, rules=tuple(rules), priority=0, via="role"), messages


__all__ = ["SEED_OPERATORS", "import_seed"]
