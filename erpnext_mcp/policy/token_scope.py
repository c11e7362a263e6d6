"""The one place an OAuth token's scope narrows a caller's policy (pure Python, no framework import).

A token granted only `mcp:read` may read what the profile lets the user read and nothing else; the
refusal says that the token's scope, not the profile, decided.
"""

from __future__ import annotations

from erpnext_mcp.policy.engine import EffectivePolicy, _check_operation_name
from erpnext_mcp.policy.model import Decision, is_protected

LAYER_TOKEN_SCOPE = "token scope"


class ScopedPolicy(EffectivePolicy):
	"""An EffectivePolicy of which only `operations` may be used, because the token's scope says so."""

	def __init__(self, base: EffectivePolicy, operations: frozenset[str], scope: str):
		super().__init__(base._profiles)
		self.granted_operations = frozenset(operations)
		self.scope = scope

	def __repr__(self) -> str:
		return f"ScopedPolicy(scope={self.scope!r}, {super().__repr__()})"

	def doctypes(self) -> list[str]:
		return sorted(
			doctype
			for doctype, (_profile, rule) in self._rules.items()
			if rule.operations & self.granted_operations
			and (rule.allow_protected or not is_protected(doctype))
		)

	def check_operation(self, operation: str, doctype: str) -> Decision:
		_check_operation_name(operation)
		if operation not in self.granted_operations:
			allowed = ", ".join(sorted(self.granted_operations)) or "nothing"
			return Decision(
				False,
				f'This sign-in (OAuth token with scope "{self.scope}") allows only {allowed}, so the agent may '
				f'not {operation} "{doctype}". Connect again and grant the scope "mcp" to allow changes.',
				LAYER_TOKEN_SCOPE,
				None,
				f"token scope: {self.scope}",
			)
		return super().check_operation(operation, doctype)


def narrow(policy: EffectivePolicy, operations: frozenset[str] | None, scope: str) -> EffectivePolicy:
	"""`policy` unchanged when `operations` is None (full access), else limited to `operations`."""
	if operations is None:
		return policy
	return ScopedPolicy(policy, operations, scope)
