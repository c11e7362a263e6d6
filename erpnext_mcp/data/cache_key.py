"""Read-cache keys (pure): who asked, under which policy, for what, against which version of the data.

A key is a SHA-256 over the user, the user's roles, a fingerprint of the effective policy (profile
names and every rule, canonically ordered), the DocType, the operation and its normalized arguments,
the DocType's version token and the site-wide permission epoch. Two callers share an entry only if
all of these are equal, so one user's or one profile's result is never served to another; a write
to the DocType (new version token) or to anything permissions depend on (new epoch) makes every older
entry unreachable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from erpnext_mcp.policy.engine import EffectivePolicy
from erpnext_mcp.policy.model import Condition, Rule

PREFIX = "erpnext_mcp:cache"


def _canonical(value: Any) -> Any:
	if isinstance(value, Mapping):
		return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
	if isinstance(value, (set, frozenset)):
		return sorted(
			(_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str)
		)
	if isinstance(value, (list, tuple)):
		return [_canonical(v) for v in value]
	if value is None or isinstance(value, (bool, int, float, str)):
		return value
	return str(value)


def _condition(c: Condition) -> dict[str, Any]:
	return {
		"fieldname": c.fieldname,
		"operator": c.operator,
		"value": _canonical(c.value),
		"applies_to": sorted(c.applies_to),
	}


def _rule(rule: Rule) -> dict[str, Any]:
	return {
		"doctype": rule.doctype,
		"operations": sorted(rule.operations),
		"allowed_fields": sorted(rule.allowed_fields) if rule.allowed_fields is not None else None,
		"restricted_fields": sorted(rule.restricted_fields),
		"conditions": [_condition(c) for c in rule.conditions],
		"allow_protected": rule.allow_protected,
		"may_leave_read_scope": rule.may_leave_read_scope,
		"doctype_tools": sorted(rule.doctype_tools),
	}


_FINGERPRINT = "_erpnext_mcp_fingerprint"


def policy_fingerprint(policy: EffectivePolicy) -> str:
	"""Equal for two policies exactly when they name the same profiles and apply the same rules.
	Computed once per policy object and kept on it (a policy never changes once resolved), so the
	policy the request pipeline reads back from Redis carries it (data/request.py)."""
	kept = getattr(policy, "__dict__", {}).get(_FINGERPRINT)
	if kept is not None:
		return kept
	fingerprint = _fingerprint(policy)
	try:
		setattr(policy, _FINGERPRINT, fingerprint)
	except AttributeError:
		pass
	return fingerprint


def _fingerprint(policy: EffectivePolicy) -> str:
	rules = []
	for doctype in sorted(policy.doctypes()):
		found = policy.rule_for(doctype)
		if found is not None:
			profile, rule = found
			rules.append({"profile": profile.name, "rule": _rule(rule)})
	# A token's scope narrows the same rules (policy/token_scope.py): it is part of the policy too.
	granted = getattr(policy, "granted_operations", None)
	scope = sorted(granted) if granted is not None else None
	text = json.dumps(
		{"profiles": list(policy.profile_names), "rules": rules, "scope": scope}, sort_keys=True
	)
	return hashlib.sha256(text.encode()).hexdigest()


def entry_key(
	*,
	user: str,
	roles: Iterable[str],
	fingerprint: str,
	doctype: str,
	operation: str,
	args: Mapping[str, Any],
	epoch: str,
) -> str:
	"""The entry's key. The DocType's version token is not part of it but sealed into the value
	(seal_entry), so the entry and the token are read in one round trip, and a new version overwrites
	the old entry in place instead of leaving it to expire."""
	payload = {
		"user": user,
		"roles": sorted(set(roles)),
		"policy": fingerprint,
		"doctype": doctype,
		"operation": operation,
		"args": _canonical(args),
		"epoch": epoch,
	}
	digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
	return f"{PREFIX}:e:{digest}"


def seal_entry(version: str, data: bytes) -> bytes:
	"""The stored value: the version token the data was read under, then the data."""
	return version.encode() + b"\n" + data


def open_entry(version: str, raw: bytes | None) -> bytes | None:
	"""The data of a stored value read under `version`, or None when it was stored under another one
	(the DocType was written since) or is not a sealed entry."""
	if raw is None:
		return None
	stored, sep, data = raw.partition(b"\n")
	if not sep or stored != version.encode():
		return None
	return data


def version_key(doctype: str) -> str:
	return f"{PREFIX}:v:{doctype}"


EPOCH_KEY = f"{PREFIX}:epoch"
INDEX_KEY = f"{PREFIX}:index"
