"""The policy engine: the single authority on what an MCP Permission Profile lets an agent do (pure Python)."""

from erpnext_mcp.policy.conditions import (
	condition_problem,
	describe_condition,
	evaluate,
	is_set,
	to_filter,
	validate_condition,
)
from erpnext_mcp.policy.engine import EffectivePolicy, resolve
from erpnext_mcp.policy.model import (
	ALWAYS_VISIBLE_FIELDS,
	CONDITION_OPERATIONS,
	CONDITION_OPERATORS,
	DEFAULT_CONDITION_OPERATIONS,
	DOCTYPE_TOOL_KINDS,
	FIELD_PURPOSES,
	OPERATIONS,
	PROTECTED_DOCTYPES,
	VIA_ORDER,
	Condition,
	Decision,
	Profile,
	Rule,
	is_protected,
)
from erpnext_mcp.policy.seed import import_seed

__all__ = [
	"ALWAYS_VISIBLE_FIELDS",
	"CONDITION_OPERATIONS",
	"CONDITION_OPERATORS",
	"DEFAULT_CONDITION_OPERATIONS",
	"DOCTYPE_TOOL_KINDS",
	"FIELD_PURPOSES",
	"OPERATIONS",
	"PROTECTED_DOCTYPES",
	"VIA_ORDER",
	"Condition",
	"Decision",
	"EffectivePolicy",
	"Profile",
	"Rule",
	"condition_problem",
	"describe_condition",
	"evaluate",
	"import_seed",
	"is_protected",
	"is_set",
	"resolve",
	"to_filter",
	"validate_condition",
]
