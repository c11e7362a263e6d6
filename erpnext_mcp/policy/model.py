"""The vocabulary of the policy engine: operations, protected DocTypes and the profile/rule/decision dataclasses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from erpnext_mcp.exceptions import PermissionDenied

OPERATIONS = ("read", "create", "update", "delete", "submit", "cancel")
# The per-DocType tools a rule may switch on (off unless named): kind → the operation it needs.
DOCTYPE_TOOL_KINDS = {
	"list": "read",
	"get": "read",
	"search": "read",
	"create": "create",
	"update": "update",
	"delete": "delete",
}
# Every operation on a document can carry value conditions: read (the read scope: outside it a
# document does not exist for the agent), create (the new document), update (stored and merged),
# delete (the stored document), submit / cancel (their own, else update's, on the stored document).
CONDITION_OPERATIONS = OPERATIONS
# A condition may also say when a create or an update needs a person's approval (issue 16): the call
# waits for an approver when the document as it will be saved meets every such condition.
APPROVAL_CONDITION_OPERATIONS = ("approve create", "approve update")
CONDITION_TARGETS = CONDITION_OPERATIONS + APPROVAL_CONDITION_OPERATIONS
# The operations a rule can make wait for approval unconditionally (Approve Delete / Submit / Cancel).
APPROVAL_OPERATIONS = ("delete", "submit", "cancel")
DEFAULT_APPROVER_ROLE = "System Manager"
# What a Condition applies to when nothing is said (and what older profiles meant).
DEFAULT_CONDITION_OPERATIONS = ("read", "create", "update")
CONDITION_OPERATORS = ("=", "!=", "in", "not in", "<", "<=", ">", ">=", "between", "is set", "is not set")
# Why a list of fields is being checked; "write" is the only purpose that needs more than visibility.
FIELD_PURPOSES = ("fields", "filters", "order_by", "group_by", "search", "write")
ALWAYS_VISIBLE_FIELDS = frozenset({"name"})  # a result always carries the document name
# How a profile reached the user, most specific first (this order breaks priority ties).
VIA_ORDER = ("user", "role", "default")

# The layers a Decision names, so the protocol layer and the audit log can group refusals.
LAYER_PROFILE_RULE = "profile rule"
LAYER_PROTECTED = "protected DocType"
LAYER_NO_PROFILE = "no profile"
LAYER_FIELD_RULE = "field rule"
LAYER_CONDITION = "condition"
LAYER_APPROVAL = "approval"

# DocTypes no agent may touch unless a rule deliberately lifts it (Rule.allow_protected). A profile rule
# that grants one of these is still refused: a "grant everything" profile must not hand an agent the keys.
PROTECTED_DOCTYPES = frozenset(
	{
		# Identity and permissions: who may do what.
		"User",
		"Has Role",
		"Role",
		"Role Profile",
		"Module Profile",
		"User Type",
		"User Group",
		"User Group Member",
		"User Permission",
		"DocPerm",
		"Custom DocPerm",
		"DocShare",
		"Role Permission for Page and Report",
		# Tokens, OAuth and stored secrets of integrations (passwords, API keys, refresh tokens).
		"OAuth Client",
		"OAuth Bearer Token",
		"OAuth Authorization Code",
		"OAuth Provider Settings",
		"OAuth Scope",
		"Token Cache",
		"Connected App",
		"Social Login Key",
		"User Social Login",
		"LDAP Settings",
		"LDAP Group Mapping",
		"Email Account",
		"Email Domain",
		"SMS Settings",
		"Dropbox Settings",
		"S3 Backup Settings",
		"Google Settings",
		"Google Drive",
		"Google Calendar",
		"Google Contacts",
		"Push Notification Settings",
		"Stripe Settings",
		"Razorpay Settings",
		"Braintree Settings",
		"PayPal Settings",
		"Paytm Settings",
		"Mpesa Settings",
		"GoCardless Settings",
		"Plaid Settings",
		# Schema and code: anything here changes what the site does or runs code on it.
		"DocType",
		"DocField",
		"Custom Field",
		"Property Setter",
		"Customize Form",
		"Module Def",
		"Server Script",
		"Client Script",
		"System Console",
		"Scheduled Job Type",
		"Report",
		"Print Format",
		"Notification",
		"Auto Email Report",
		"Web Form",
		"Website Script",
		"Website Theme",
		"Workflow",
		"Webhook",
		"Package",
		"Package Import",
		"Package Release",
		# Site settings.
		"System Settings",
		"Log Settings",
		"Domain Settings",
		"Installed Applications",
		# Logs and history: they hold other users' data and values of fields a profile may restrict.
		"Version",
		"Deleted Document",
		"Access Log",
		"Activity Log",
		"Route History",
		"Error Log",
		"Console Log",
		"Scheduled Job Log",
		"Integration Request",
		"Webhook Request Log",
		"Email Queue",
		"Email Queue Recipient",
		"Submission Queue",
		"Data Import",
		"Data Export",
		"Prepared Report",
		# This app's own configuration and audit trail.
		"MCP Settings",
		"MCP Permission Profile",
		"MCP Audit Log",
	}
)
# Every DocType of this app is protected, including child tables and any added later.
PROTECTED_PREFIX = "MCP "
_PROTECTED_FOLDED = frozenset(d.casefold() for d in PROTECTED_DOCTYPES)


def is_protected(doctype: str) -> bool:
	"""True for a DocType no agent may touch unless a rule sets allow_protected.

	Compared without case or surrounding spaces: MariaDB resolves names case-insensitively, so "user"
	must not slip past a list that says "User".
	"""
	folded = str(doctype).strip().casefold()
	return folded in _PROTECTED_FOLDED or folded.startswith(PROTECTED_PREFIX.casefold())


def _frozen_names(value: Any, what: str) -> frozenset[str]:
	# A bare string would silently become a set of characters.
	if isinstance(value, str):
		raise TypeError(f"{what} must be a collection of names, not the string {value!r}")
	return frozenset(value)


def _frozen_value(value: Any) -> Any:
	# Lists become tuples so a Condition (and so a Rule and a Profile) stays hashable.
	if isinstance(value, list):
		return tuple(value)
	if isinstance(value, (set, frozenset)):
		return tuple(sorted(value, key=repr))
	return value


@dataclass(frozen=True)
class Condition:
	"""A value condition on one field; see conditions.py for what each operator means."""

	fieldname: str
	operator: str
	value: Any = None  # scalar; list for in/not in; [low, high] for between; ignored for is set/is not set
	applies_to: frozenset[str] = frozenset(DEFAULT_CONDITION_OPERATIONS)
	label: str = ""  # optional human label (e.g. "row 3"), used in messages

	def __post_init__(self):
		object.__setattr__(self, "value", _frozen_value(self.value))
		object.__setattr__(self, "applies_to", _frozen_names(self.applies_to, "Condition.applies_to"))


@dataclass(frozen=True)
class Rule:
	"""What a profile lets an agent do with one DocType, exactly as the administrator wrote it."""

	doctype: str
	operations: frozenset[str]
	allowed_fields: frozenset[str] | None = None  # None = every field
	restricted_fields: frozenset[str] = frozenset()
	conditions: tuple[Condition, ...] = ()
	allow_protected: bool = False  # an administrator deliberately opened a PROTECTED_DOCTYPES entry
	# Off (the default): an update whose result falls outside the read conditions is refused, so an
	# agent never moves a document out of its own sight (and out of every later check).
	may_leave_read_scope: bool = False
	# Per-DocType tools (list_customer_documents, ...) for this DocType: none unless named, so the tool
	# list a model pays for on every turn stays small; the generic tools always work.
	doctype_tools: frozenset[str] = frozenset()
	# Operations that wait for a person's approval every time (some of APPROVAL_OPERATIONS); create
	# and update wait when the document meets the rule's "approve create" / "approve update" conditions.
	approval_operations: frozenset[str] = frozenset()

	def __post_init__(self):
		approvals = _frozen_names(self.approval_operations, "Rule.approval_operations")
		unknown_approvals = sorted(approvals - set(APPROVAL_OPERATIONS))
		if unknown_approvals:
			raise ValueError(
				f"Rule for {self.doctype}: approval applies to {unknown_approvals}; expected some of "
				f"{list(APPROVAL_OPERATIONS)}"
			)
		object.__setattr__(self, "approval_operations", approvals)
		operations = _frozen_names(self.operations, "Rule.operations")
		unknown = sorted(operations - set(OPERATIONS))
		if unknown:
			raise ValueError(
				f"Rule for {self.doctype}: unknown operation(s) {unknown}; expected {list(OPERATIONS)}"
			)
		object.__setattr__(self, "operations", operations)
		kinds = _frozen_names(self.doctype_tools, "Rule.doctype_tools")
		unknown_kinds = sorted(kinds - set(DOCTYPE_TOOL_KINDS))
		if unknown_kinds:
			raise ValueError(
				f"Rule for {self.doctype}: unknown per-DocType tool(s) {unknown_kinds}; "
				f"expected some of {list(DOCTYPE_TOOL_KINDS)}"
			)
		object.__setattr__(self, "doctype_tools", kinds)
		if self.allowed_fields is not None:
			object.__setattr__(
				self, "allowed_fields", _frozen_names(self.allowed_fields, "Rule.allowed_fields")
			)
		object.__setattr__(
			self, "restricted_fields", _frozen_names(self.restricted_fields, "Rule.restricted_fields")
		)
		conditions = tuple(self.conditions)
		for c in conditions:
			if not isinstance(c, Condition):
				raise TypeError(f"Rule for {self.doctype}: conditions must be Condition objects, got {c!r}")
		object.__setattr__(self, "conditions", conditions)


@dataclass(frozen=True)
class Profile:
	"""An MCP Permission Profile as it reached one user."""

	name: str
	rules: tuple[Rule, ...]
	priority: int = 0
	# "user" (assigned to the user), "role" (via one of their roles), "default" (MCP Settings' default)
	via: str = "role"
	# Reports the agent may run (run_report); none unless named.
	reports: frozenset[str] = frozenset()
	# Who may approve what this profile's rules make wait for approval.
	approver_role: str = DEFAULT_APPROVER_ROLE

	def __post_init__(self):
		object.__setattr__(self, "reports", _frozen_names(self.reports, f"Profile {self.name}: reports"))
		rules = tuple(self.rules)
		if self.via not in VIA_ORDER:
			raise ValueError(f"Profile {self.name}: via must be one of {list(VIA_ORDER)}, not {self.via!r}")
		seen: set[str] = set()
		for rule in rules:
			if not isinstance(rule, Rule):
				raise TypeError(f"Profile {self.name}: rules must be Rule objects, got {rule!r}")
			# Two rules for one DocType would make "the rule" ambiguous; the Desk form refuses it too.
			if rule.doctype in seen:
				raise ValueError(f"Profile {self.name} has more than one rule for DocType {rule.doctype}")
			seen.add(rule.doctype)
		object.__setattr__(self, "rules", rules)

	def rule_for(self, doctype: str) -> Rule | None:
		for rule in self.rules:
			if rule.doctype == doctype:
				return rule
		return None


@dataclass(frozen=True)
class Decision:
	"""The answer to one question put to the policy; a denial names the profile, DocType and rule."""

	allowed: bool
	reason: str  # a sentence a person can act on
	layer: str  # "profile rule", "protected DocType", "no profile", "field rule", "condition"
	profile: str | None = None
	rule: str | None = None  # e.g. 'Customer: delete' or 'Customer: restricted field "credit_limit"'

	def raise_if_denied(self) -> None:
		if not self.allowed:
			raise PermissionDenied(self.reason, layer=self.layer, rule=self.rule)

	def as_dict(self) -> dict:
		return {
			"allowed": self.allowed,
			"reason": self.reason,
			"layer": self.layer,
			"profile": self.profile,
			"rule": self.rule,
		}


def json_value(value: Any) -> Any:
	"""A condition value in JSON form (for summaries and Desk rows)."""
	if isinstance(value, (list, tuple)):
		return [json_value(v) for v in value]
	if isinstance(value, date):
		return value.isoformat()
	if isinstance(value, Decimal):
		return int(value) if value == value.to_integral_value() else float(value)
	return value


__all__ = [
	"ALWAYS_VISIBLE_FIELDS",
	"APPROVAL_CONDITION_OPERATIONS",
	"APPROVAL_OPERATIONS",
	"CONDITION_OPERATIONS",
	"CONDITION_OPERATORS",
	"CONDITION_TARGETS",
	"DEFAULT_APPROVER_ROLE",
	"DEFAULT_CONDITION_OPERATIONS",
	"DOCTYPE_TOOL_KINDS",
	"FIELD_PURPOSES",
	"LAYER_APPROVAL",
	"LAYER_CONDITION",
	"LAYER_FIELD_RULE",
	"LAYER_NO_PROFILE",
	"LAYER_PROFILE_RULE",
	"LAYER_PROTECTED",
	"OPERATIONS",
	"PROTECTED_DOCTYPES",
	"PROTECTED_PREFIX",
	"VIA_ORDER",
	"Condition",
	"Decision",
	"Profile",
	"Rule",
	"is_protected",
	"json_value",
]
