"""Tier 1 tests of policy/engine.py: profile resolution and every decision, with the messages an admin reads."""

import itertools
import json
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpnext_mcp.exceptions import PermissionDenied
from erpnext_mcp.policy import (
	ALWAYS_VISIBLE_FIELDS,
	FIELD_PURPOSES,
	OPERATIONS,
	PROTECTED_DOCTYPES,
	Condition,
	Decision,
	EffectivePolicy,
	Profile,
	Rule,
	is_protected,
	resolve,
)

ALL = frozenset(OPERATIONS)


def customer_rule(**kw):
	base = dict(
		doctype="Customer",
		operations=frozenset({"read", "create", "update"}),
		allowed_fields=frozenset({"customer_name", "customer_type", "territory", "disabled", "credit_limit"}),
		restricted_fields=frozenset({"credit_limit"}),
		conditions=(
			Condition("customer_type", "in", ["Company", "Individual"], frozenset({"create"})),
			Condition("disabled", "not in", [1], frozenset({"update"})),
			Condition("territory", "=", "Egypt", frozenset({"read"})),
		),
	)
	base.update(kw)
	return Rule(**base)


@pytest.fixture
def sales():
	return Profile("Sales", (customer_rule(),))


@pytest.fixture
def policy(sales):
	return resolve([sales])


def denied(decision, layer):
	assert isinstance(decision, Decision)
	assert decision.allowed is False, decision
	assert decision.layer == layer, decision
	return decision


# ---------------------------------------------------------------- no profile


def test_no_profiles_denies_everything_with_advice():
	policy = resolve([])
	assert not policy.has_profiles()
	assert policy.profile_names == ()
	assert policy.doctypes() == []
	for op in OPERATIONS:
		d = denied(policy.check_operation(op, "Customer"), "no profile")
		assert "Assign a profile" in d.reason
		assert "default profile in MCP Settings" in d.reason
		assert '"Customer"' in d.reason
	assert policy.visible_fields("Customer", ["name", "customer_name"]) == ["name"]
	denied(policy.check_fields("Customer", ["customer_name"], "fields"), "no profile")
	denied(policy.check_document("create", "Customer", {}), "no profile")
	assert policy.summary("Customer")["operations"] == {op: False for op in OPERATIONS}


def test_no_profile_read_filters_raise():
	with pytest.raises(PermissionDenied) as e:
		resolve([]).read_filters("Customer")
	assert e.value.layer == "no profile"


# ---------------------------------------------------------------- operations


@pytest.mark.parametrize("op", ["read", "create", "update"])
def test_granted_operations_are_allowed(policy, op):
	d = policy.check_operation(op, "Customer")
	assert d.allowed
	assert d.profile == "Sales"
	assert d.rule == f"Customer: {op}"
	assert d.layer == "profile rule"


@pytest.mark.parametrize("op", ["delete", "submit", "cancel"])
def test_operations_not_ticked_are_denied_naming_profile_doctype_and_rule(policy, op):
	d = denied(policy.check_operation(op, "Customer"), "profile rule")
	assert d.profile == "Sales"
	assert d.rule == f"Customer: {op}"
	assert 'Profile "Sales"' in d.reason
	assert 'DocType "Customer"' in d.reason
	assert f'"{op}"' in d.reason
	assert f"Customer: {op}" in d.reason


def test_doctype_without_rule_is_denied_listing_profiles():
	policy = resolve([Profile("B", (customer_rule(),)), Profile("A", ())])
	d = denied(policy.check_operation("read", "Item"), "profile rule")
	assert 'No MCP profile rule for DocType "Item" (profiles: A, B)' in d.reason
	assert d.rule == "Item: no rule"


def test_unknown_operation_raises_value_error(policy):
	with pytest.raises(ValueError):
		policy.check_operation("write", "Customer")
	with pytest.raises(ValueError):
		policy.check_document("export", "Customer", {})
	with pytest.raises(ValueError):
		policy.explain("drop", "Customer")


def test_raise_if_denied(policy):
	policy.check_operation("read", "Customer").raise_if_denied()
	with pytest.raises(PermissionDenied) as e:
		policy.check_operation("delete", "Customer").raise_if_denied()
	assert e.value.layer == "profile rule"
	assert e.value.rule == "Customer: delete"
	assert "Sales" in e.value.message
	assert e.value.as_dict()["error"] == "permission_denied"


def test_rule_operations_are_validated():
	with pytest.raises(ValueError, match="write"):
		Rule("Customer", {"read", "write"})
	with pytest.raises(TypeError):
		Rule("Customer", "read")
	with pytest.raises(TypeError):
		Rule("Customer", {"read"}, allowed_fields="customer_name")


def test_profile_refuses_two_rules_for_one_doctype_and_bad_via():
	with pytest.raises(ValueError, match="more than one rule"):
		Profile("P", (Rule("Customer", {"read"}), Rule("Customer", {"create"})))
	with pytest.raises(ValueError, match="via"):
		Profile("P", (), via="group")


def test_empty_operations_rule_is_not_listed(policy):
	p = resolve([Profile("P", (Rule("Customer", frozenset()), Rule("Item", {"read"})))])
	assert p.doctypes() == ["Item"]
	assert p.rule_for("Customer") is not None


# ---------------------------------------------------------------- protected DocTypes


@pytest.mark.parametrize(
	"doctype",
	[
		"User",
		"Role",
		"Has Role",
		"DocType",
		"Server Script",
		"System Settings",
		"MCP Settings",
		"MCP Audit Log",
		"MCP Permission Profile",
		"OAuth Bearer Token",
		"Email Account",
		"Social Login Key",
		"Version",
		"Error Log",
		"Webhook",
		"System Console",
		"MCP Anything Added Later",
	],
)
def test_protected_doctypes_are_denied_even_when_a_rule_grants_everything(doctype):
	admin = Profile("Admin-like", (Rule(doctype, ALL),), priority=100, via="user")
	policy = resolve([admin])
	for op in OPERATIONS:
		d = denied(policy.check_operation(op, doctype), "protected DocType")
		assert f'DocType "{doctype}" is protected' in d.reason
		assert 'profile "Admin-like"' in d.reason
		assert "Allow protected DocType" in d.reason
		assert d.profile == "Admin-like"
		assert d.rule == f"{doctype}: protected DocType"
	assert doctype not in policy.doctypes()
	assert policy.visible_fields(doctype, ["name", "email"]) == ["name"]
	denied(policy.check_fields(doctype, ["email"], "fields"), "protected DocType")
	with pytest.raises(PermissionDenied):
		policy.read_filters(doctype)
	assert policy.summary(doctype)["protected"] is True


@pytest.mark.parametrize("spelling", ["user", "USER", " User ", "mcp settings", "Mcp Audit Log"])
def test_protection_ignores_case_and_spaces(spelling):
	assert is_protected(spelling)
	policy = resolve([Profile("P", (Rule(spelling, ALL),))])
	denied(policy.check_operation("read", spelling), "protected DocType")


def test_protected_without_any_rule_says_how_to_open_it(policy):
	d = denied(policy.check_operation("read", "User"), "protected DocType")
	assert d.profile is None
	assert "Allow protected DocType" in d.reason


def test_allow_protected_lifts_the_protection_deliberately():
	rule = Rule("Error Log", {"read"}, allowed_fields={"error", "method"}, allow_protected=True)
	policy = resolve([Profile("Ops", (rule,))])
	assert policy.check_operation("read", "Error Log").allowed
	denied(policy.check_operation("delete", "Error Log"), "profile rule")
	assert policy.doctypes() == ["Error Log"]
	assert policy.visible_fields("Error Log", ["method", "name", "seen"]) == ["method", "name"]
	assert policy.summary("Error Log")["allow_protected"] is True


def test_allow_protected_comes_from_the_deciding_rule_only():
	low = Profile("Low", (Rule("User", {"read"}, allow_protected=True),), priority=1)
	high = Profile("High", (Rule("User", {"read"}),), priority=5)
	denied(resolve([low, high]).check_operation("read", "User"), "protected DocType")


def test_protected_list_covers_the_required_names():
	required = {
		"User", "Has Role", "Role", "Role Profile", "DocPerm", "Custom DocPerm", "User Permission", "DocShare",
		"OAuth Client", "OAuth Bearer Token", "OAuth Authorization Code", "OAuth Provider Settings", "Token Cache",
		"Connected App", "DocType", "Custom Field", "Property Setter", "Server Script", "Client Script", "Report",
		"Print Format", "Notification", "System Settings", "Module Def", "Customize Form", "Web Form", "Workflow",
		"Version", "Deleted Document", "Access Log", "Activity Log", "Error Log", "Scheduled Job Log",
		"Integration Request", "Webhook", "Webhook Request Log", "Data Import", "Data Export", "Prepared Report",
		"Installed Applications", "MCP Settings", "MCP Permission Profile", "MCP Audit Log",
	}  # fmt: skip
	assert required <= PROTECTED_DOCTYPES
	assert not is_protected("Customer")
	assert not is_protected("Sales Invoice")


# ---------------------------------------------------------------- resolution


def test_highest_priority_profile_decides_per_doctype():
	low = Profile("Low", (Rule("Customer", ALL - {"submit", "cancel"}), Rule("Item", {"read"})), priority=1)
	high = Profile("High", (Rule("Customer", {"read"}),), priority=10)
	policy = resolve([low, high])
	assert policy.profile_names == ("High", "Low")
	assert policy.rule_for("Customer")[0].name == "High"
	d = denied(policy.check_operation("delete", "Customer"), "profile rule")
	assert d.profile == "High"
	# Item comes from Low: rules for different DocTypes combine.
	assert policy.check_operation("read", "Item").profile == "Low"
	assert policy.doctypes() == ["Customer", "Item"]


def test_a_higher_rule_that_ticks_nothing_shuts_a_doctype():
	low = Profile("Low", (Rule("Customer", {"read"}),), priority=1)
	high = Profile("Block", (Rule("Customer", frozenset()),), priority=2)
	policy = resolve([low, high])
	d = denied(policy.check_operation("read", "Customer"), "profile rule")
	assert d.profile == "Block"
	assert policy.doctypes() == []


def test_fields_and_conditions_are_never_mixed_across_profiles():
	low = Profile(
		"Low",
		(Rule("Customer", {"read"}, allowed_fields={"a", "b"}, conditions=(Condition("a", "=", 1),)),),
		priority=1,
	)
	high = Profile("High", (Rule("Customer", {"read"}, restricted_fields={"b"}),), priority=2)
	policy = resolve([low, high])
	# High's rule has allowed_fields=None (every field) and no condition: Low's list and condition do not apply.
	assert policy.visible_fields("Customer", ["a", "b", "c"]) == ["a", "c"]
	assert policy.read_filters("Customer") == []


@pytest.mark.parametrize(
	"first, second, winner",
	[
		(("A", 1, "role"), ("B", 2, "role"), "B"),  # priority first
		(("A", 5, "default"), ("B", 1, "role"), "B"),  # a default only when nothing else applies
		(("A", 0, "role"), ("B", 0, "user"), "B"),  # user before role
		(("A", 0, "role"), ("B", 0, "role"), "A"),  # then the name
		(("b", 0, "user"), ("A", 0, "user"), "A"),  # alphabetical regardless of case
		(("Z", 3, "role"), ("A", 3, "user"), "A"),
		(("Z", 4, "role"), ("A", 3, "user"), "Z"),  # priority beats via
	],
)
def test_resolution_tie_breaks(first, second, winner):
	profiles = [
		Profile(name, (Rule("Customer", {"read"}),), priority=prio, via=via)
		for name, prio, via in (first, second)
	]
	for ordering in (profiles, profiles[::-1]):
		assert resolve(ordering).rule_for("Customer")[0].name == winner


def test_default_profile_is_used_only_when_nothing_else_applies():
	default = Profile("Basic", (Rule("Item", {"read"}),), priority=99, via="default")
	assert resolve([default]).check_operation("read", "Item").allowed
	assert resolve([default]).profile_names == ("Basic",)
	other = Profile("Sales", (Rule("Customer", {"read"}),))
	policy = resolve([default, other])
	assert policy.profile_names == ("Sales",)
	d = denied(policy.check_operation("read", "Item"), "profile rule")
	assert "(profiles: Sales)" in d.reason


def test_the_same_profile_twice_counts_once_by_its_most_specific_route():
	rules = (Rule("Customer", {"read"}),)
	policy = resolve([Profile("Sales", rules, via="default"), Profile("Sales", rules, via="role")])
	assert policy.profile_names == ("Sales",)
	assert policy.summary("Customer")["via"] == "role"
	policy = resolve([Profile("Sales", rules, via="role"), Profile("Sales", rules, via="user")])
	assert policy.summary("Customer")["via"] == "user"


def test_resolve_refuses_non_profiles():
	with pytest.raises(TypeError):
		resolve([{"name": "Sales"}])


def test_effective_policy_repr_and_default_constructor():
	assert "Customer" in repr(resolve([Profile("S", (Rule("Customer", {"read"}),))]))
	assert not EffectivePolicy().has_profiles()


# ---------------------------------------------------------------- fields


def test_visible_fields_keeps_order_drops_hidden_and_restricted(policy):
	got = policy.visible_fields(
		"Customer", ["territory", "credit_limit", "tax_id", "name", "customer_name", "territory"]
	)
	assert got == ["territory", "name", "customer_name"]


def test_visible_fields_without_name_does_not_invent_it(policy):
	assert policy.visible_fields("Customer", ["customer_name"]) == ["customer_name"]


def test_visible_fields_without_a_rule_keeps_only_always_visible(policy):
	assert policy.visible_fields("Item", ["item_code", "name", "item_name"]) == ["name"]


def test_allowed_fields_none_means_every_field_but_restricted():
	policy = resolve([Profile("P", (Rule("Item", {"read"}, restricted_fields={"valuation_rate"}),))])
	assert policy.visible_fields("Item", ["a", "valuation_rate", "b"]) == ["a", "b"]


def test_name_is_visible_even_if_restricted_but_never_writable_for_it():
	policy = resolve(
		[Profile("P", (Rule("Item", {"read", "update"}, allowed_fields={"a"}, restricted_fields={"name"}),))]
	)
	assert policy.visible_fields("Item", ["name", "a"]) == ["name", "a"]
	assert policy.check_fields("Item", ["name"], "fields").allowed
	d = denied(policy.check_fields("Item", ["name"], "write"), "field rule")
	assert 'restricted field "name"' in d.reason


@pytest.mark.parametrize(
	"purpose, verb",
	[
		("fields", "read"),
		("filters", "filter on"),
		("order_by", "sort by"),
		("group_by", "group by"),
		("search", "search in"),
		("write", "write"),
	],
)
def test_check_fields_refuses_restricted_for_every_purpose(policy, purpose, verb):
	d = denied(policy.check_fields("Customer", ["customer_name", "credit_limit"], purpose), "field rule")
	assert f'{verb} restricted field "credit_limit"' in d.reason
	assert 'Profile "Sales"' in d.reason
	assert 'DocType "Customer"' in d.reason
	assert d.rule == 'Customer: restricted field "credit_limit"'
	assert d.profile == "Sales"
	assert "customer_name" not in d.reason  # only offenders are named


@pytest.mark.parametrize("purpose", FIELD_PURPOSES)
def test_check_fields_refuses_fields_outside_allowed(policy, purpose):
	d = denied(policy.check_fields("Customer", ["tax_id"], purpose), "field rule")
	assert 'field "tax_id" (not in the rule\'s allowed fields)' in d.reason
	assert d.rule == "Customer: allowed fields"


@pytest.mark.parametrize("purpose", FIELD_PURPOSES)
def test_check_fields_allows_allowed_fields(policy, purpose):
	d = policy.check_fields("Customer", ["customer_name", "territory"], purpose)
	assert d.allowed
	assert d.layer == "field rule"


@pytest.mark.parametrize("purpose", ["fields", "filters", "order_by", "group_by", "search"])
def test_name_is_always_usable_for_reading_purposes(policy, purpose):
	assert policy.check_fields("Customer", ["name"], purpose).allowed


def test_name_is_not_writable_through_always_visible(policy):
	d = denied(policy.check_fields("Customer", ["name"], "write"), "field rule")
	assert 'field "name"' in d.reason


def test_check_fields_names_several_offenders_in_order_then_counts(policy):
	names = ["credit_limit", "a1", "a2", "a3", "a4", "a5", "a6", "customer_name"]
	d = denied(policy.check_fields("Customer", names, "filters"), "field rule")
	assert d.reason.index('"credit_limit"') < d.reason.index('"a1"') < d.reason.index('"a4"')
	assert '"a5"' not in d.reason
	assert "2 more" in d.reason
	assert "them out" in d.reason


def test_check_fields_first_offender_decides_the_rule_name(policy):
	d = policy.check_fields("Customer", ["tax_id", "credit_limit"], "fields")
	assert d.rule == "Customer: allowed fields"


def test_check_fields_empty_is_allowed_and_unknown_purpose_raises(policy):
	assert policy.check_fields("Customer", [], "fields").allowed
	with pytest.raises(ValueError):
		policy.check_fields("Customer", ["a"], "select")


def test_check_fields_without_rule(policy):
	d = denied(policy.check_fields("Item", ["item_code"], "filters"), "profile rule")
	assert '"Item"' in d.reason


# ---------------------------------------------------------------- read filters


def test_read_filters_are_the_read_conditions_as_triplets():
	rule = Rule(
		"Sales Invoice",
		{"read"},
		conditions=(
			Condition("company", "=", "ACME", frozenset({"read"})),
			Condition("status", "not in", ["Cancelled", "Draft"], frozenset({"read", "update"})),
			Condition("grand_total", "between", [0, 1000]),
			Condition("customer", "is set", applies_to=frozenset({"read"})),
			Condition("remarks", "is not set", applies_to=frozenset({"read"})),
			Condition("owner", "=", None, frozenset({"read"})),
			Condition("is_return", "=", 1, frozenset({"create"})),
		),
	)
	policy = resolve([Profile("P", (rule,))])
	assert policy.read_filters("Sales Invoice") == [
		["company", "=", "ACME"],
		["status", "not in", ["Cancelled", "Draft"]],
		["grand_total", "between", [0, 1000]],
		["customer", "is", "set"],
		["remarks", "is", "not set"],
		["owner", "is", "not set"],
	]


def test_read_filters_refuse_when_read_is_not_granted():
	policy = resolve([Profile("P", (Rule("Customer", {"create"}),))])
	with pytest.raises(PermissionDenied) as e:
		policy.read_filters("Customer")
	assert e.value.rule == "Customer: read"


# ---------------------------------------------------------------- documents


def test_create_condition_met_and_not_met(policy):
	assert policy.check_document("create", "Customer", {"customer_type": "Company"}).allowed
	assert policy.check_document("create", "Customer", {"customer_type": " individual "}).allowed
	d = denied(policy.check_document("create", "Customer", {"customer_type": "Partnership"}), "condition")
	assert 'Profile "Sales" refuses to create this Customer' in d.reason
	assert 'customer_type in ["Company", "Individual"]' in d.reason
	assert 'customer_type is "Partnership"' in d.reason
	assert d.rule == 'Customer: condition customer_type in ["Company", "Individual"]'
	assert d.profile == "Sales"


def test_create_missing_field_is_evaluated_as_none(policy):
	d = denied(policy.check_document("create", "Customer", {"customer_name": "X"}), "condition")
	assert "customer_type is not set" in d.reason
	rule = Rule(
		"Item", {"create"}, conditions=(Condition("variant_of", "is not set", applies_to={"create"}),)
	)
	assert resolve([Profile("P", (rule,))]).check_document("create", "Item", {}).allowed


def test_denial_never_mentions_other_values_of_the_document(policy):
	doc = {
		"customer_type": "Partnership",
		"customer_name": "Secret Corp",
		"credit_limit": 987654,
		"territory": "Mars",
	}
	d = policy.check_document("create", "Customer", doc)
	for secret in ("Secret Corp", "987654", "Mars"):
		assert secret not in d.reason


def test_denial_hides_the_value_of_a_field_the_profile_hides():
	rule = Rule(
		"Customer",
		{"read"},
		restricted_fields={"credit_limit"},
		conditions=(Condition("credit_limit", "<", 1000, frozenset({"read"})),),
	)
	policy = resolve([Profile("P", (rule,))])
	d = denied(policy.check_document("read", "Customer", {"credit_limit": 424242}), "condition")
	assert "424242" not in d.reason
	assert "not shown" in d.reason


def test_update_is_checked_against_stored_and_merged_document(policy):
	ok = policy.check_update(
		"Customer", {"disabled": 0}, {"disabled": 0, "customer_name": "New", "territory": "Egypt"}
	)
	assert ok.allowed
	d = denied(policy.check_update("Customer", {"disabled": 1}, {"disabled": 0}), "condition")
	assert "the stored document does not meet the condition disabled not in [1]" in d.reason
	assert 'Profile "Sales" refuses to update this Customer' in d.reason
	d = denied(policy.check_update("Customer", {"disabled": 0}, {"disabled": "1"}), "condition")
	assert "the document after this update does not meet" in d.reason
	assert d.rule == "Customer: condition disabled not in [1]"


@pytest.mark.parametrize("sneaky", [True, "1", 1.0, " 1 "])
def test_update_cannot_dodge_not_in_by_type_or_spaces(policy, sneaky):
	denied(policy.check_update("Customer", {"disabled": 0}, {"disabled": sneaky}), "condition")


def test_update_with_ambiguous_value_explains_itself():
	rule = Rule(
		"Customer", {"update"}, conditions=(Condition("disabled", "not in", ["1"], frozenset({"update"})),)
	)
	policy = resolve([Profile("P", (rule,))])
	d = denied(policy.check_update("Customer", {"disabled": "0"}, {"disabled": "1.0"}), "condition")
	assert "written differently" in d.reason


def test_list_value_never_meets_a_condition(policy):
	d = denied(policy.check_update("Customer", {"disabled": 0}, {"disabled": [0]}), "condition")
	assert "holds a list" in d.reason


def test_read_condition_on_a_single_document(policy):
	assert policy.check_document("read", "Customer", {"territory": "egypt"}).allowed
	d = denied(policy.check_document("read", "Customer", {"territory": "Libya"}), "condition")
	assert "refuses to read this Customer" in d.reason


@pytest.mark.parametrize("op", ["delete", "submit", "cancel"])
def test_operations_without_conditions_of_their_own_pass_when_granted(op):
	rule = Rule(
		"Sales Invoice", ALL, conditions=(Condition("docstatus", "=", 0, frozenset({"read", "create"})),)
	)
	policy = resolve([Profile("P", (rule,))])
	d = policy.check_document(op, "Sales Invoice", {"docstatus": 5})
	assert d.allowed
	assert "meets the 0 condition(s)" in d.reason


@pytest.mark.parametrize("op", ["submit", "cancel"])
def test_submit_and_cancel_use_the_update_conditions_when_they_have_none(op):
	rule = Rule(
		"Sales Invoice", ALL, conditions=(Condition("grand_total", "<", 1000, frozenset({"update"})),)
	)
	policy = resolve([Profile("P", (rule,))])
	assert policy.check_document(op, "Sales Invoice", {"grand_total": 10}).allowed
	d = denied(policy.check_document(op, "Sales Invoice", {"grand_total": 5000}), "condition")
	assert f"refuses to {op} this Sales Invoice" in d.reason


def test_submit_conditions_of_their_own_replace_the_update_conditions():
	rule = Rule(
		"Sales Invoice",
		ALL,
		conditions=(
			Condition("grand_total", "<", 1000, frozenset({"update"})),
			Condition("grand_total", "<", 100, frozenset({"submit"})),
		),
	)
	policy = resolve([Profile("P", (rule,))])
	denied(policy.check_document("submit", "Sales Invoice", {"grand_total": 500}), "condition")
	assert policy.check_document("submit", "Sales Invoice", {"grand_total": 50}).allowed
	# cancel has none of its own: update's apply
	assert policy.check_document("cancel", "Sales Invoice", {"grand_total": 500}).allowed
	denied(policy.check_document("cancel", "Sales Invoice", {"grand_total": 5000}), "condition")


def test_delete_conditions_bind_delete_only():
	rule = Rule("Customer", ALL, conditions=(Condition("disabled", "=", 1, frozenset({"delete"})),))
	policy = resolve([Profile("P", (rule,))])
	denied(policy.check_document("delete", "Customer", {"disabled": 0}), "condition")
	assert policy.check_document("delete", "Customer", {"disabled": 1}).allowed
	assert policy.check_update("Customer", {"disabled": 0}, {"disabled": 0}).allowed


def test_read_scope_is_asked_whatever_the_operation(policy):
	assert policy.scope_filters("Customer") == [["territory", "=", "Egypt"]]
	assert policy.in_read_scope("Customer", {"territory": "egypt "}).allowed
	d = denied(policy.in_read_scope("Customer", {"territory": "India"}), "condition")
	assert d.rule == 'Customer: condition territory = "Egypt"'
	# A rule without read still has a scope (a write-only rule never reaches outside it).
	no_read = resolve([Profile("W", (customer_rule(operations=frozenset({"update"})),))])
	assert no_read.scope_filters("Customer") == [["territory", "=", "Egypt"]]


def test_update_may_not_leave_the_read_scope_unless_the_rule_says_so(policy):
	d = denied(
		policy.check_update(
			"Customer", {"disabled": 0, "territory": "Egypt"}, {"disabled": 0, "territory": "India"}
		),
		"condition",
	)
	assert "may not move a document out of the read conditions" in d.reason
	assert "refuses to update this Customer" in d.reason
	leaving = resolve([Profile("Sales", (customer_rule(may_leave_read_scope=True),))])
	assert leaving.check_update(
		"Customer", {"disabled": 0, "territory": "Egypt"}, {"disabled": 0, "territory": "India"}
	).allowed


def test_check_document_refuses_an_operation_that_is_not_granted(policy):
	denied(policy.check_document("delete", "Customer", {}), "profile rule")


def test_condition_labels_appear_in_the_rule_name():
	rule = Rule(
		"Item",
		{"create"},
		conditions=(Condition("item_group", "=", "Products", frozenset({"create"}), "row 3"),),
	)
	d = resolve([Profile("P", (rule,))]).check_document("create", "Item", {"item_group": "Services"})
	assert d.rule == 'Item: condition row 3 (item_group = "Products")'
	labelled = Condition("item_group", "=", "Products", frozenset({"create"}), "condition row 4")
	policy = resolve([Profile("P", (Rule("Item", {"create"}, conditions=(labelled,)),))])
	d = policy.check_document("create", "Item", {"item_group": "Services"})
	assert d.rule == 'Item: condition row 4 (item_group = "Products")'
	assert d.rule in d.reason


def test_invalid_condition_refuses_every_operation_until_fixed():
	rule = Rule(
		"Item", {"read", "create"}, conditions=(Condition("item_group", "in", "Products", label="row 2"),)
	)
	policy = resolve([Profile("Stock", (rule,))])
	for op in ("read", "create"):
		d = denied(policy.check_operation(op, "Item"), "condition")
		assert 'Profile "Stock" has an invalid condition (row 2) on field "item_group"' in d.reason
		assert "non-empty list" in d.reason
	with pytest.raises(PermissionDenied):
		policy.read_filters("Item")
	assert policy.summary("Item")["conditions"][0]["problem"]


def test_check_document_accepts_any_mapping(policy):
	assert policy.check_document("create", "Customer", MappingProxyType({"customer_type": "Company"})).allowed
	assert not policy.check_document("create", "Customer", MappingProxyType({})).allowed


# ---------------------------------------------------------------- explain and summary


def test_explain_combines_the_checks(policy):
	assert policy.explain("read", "Customer").allowed
	denied(policy.explain("delete", "Customer"), "profile rule")
	denied(policy.explain("read", "Customer", "credit_limit"), "field rule")
	denied(policy.explain("update", "Customer", "credit_limit"), "field rule")
	denied(policy.explain("update", "Customer", "name"), "field rule")
	assert policy.explain("read", "Customer", "name").allowed
	denied(policy.explain("update", "Customer", "customer_name", {"disabled": 1}), "condition")
	d = policy.explain("update", "Customer", "customer_name", {"disabled": 0})
	assert d.allowed
	assert d.profile == "Sales"
	assert "Customer: update" in d.reason
	denied(policy.explain("read", "User"), "protected DocType")


def test_summary_is_json_and_shows_the_rule(policy):
	s = policy.summary("Customer")
	json.dumps(s)
	assert s["profile"] == "Sales"
	assert s["operations"] == {
		"read": True,
		"create": True,
		"update": True,
		"delete": False,
		"submit": False,
		"cancel": False,
	}
	assert s["allowed_fields"] == ["credit_limit", "customer_name", "customer_type", "disabled", "territory"]
	assert s["restricted_fields"] == ["credit_limit"]
	assert s["conditions"][0] == {
		"field": "customer_type",
		"operator": "in",
		"value": ["Company", "Individual"],
		"applies_to": ["create"],
		"label": "",
		"problem": None,
	}
	assert s["protected"] is False


def test_summary_all_fields_and_unknown_doctype(policy):
	p = resolve([Profile("P", (Rule("Item", {"read"}),))])
	assert p.summary("Item")["allowed_fields"] is None
	s = policy.summary("Item")
	assert s["profile"] is None
	assert not any(s["operations"].values())


def test_summary_of_a_protected_rule_shows_operations_as_effectively_denied():
	p = resolve([Profile("P", (Rule("User", ALL),))])
	s = p.summary("User")
	assert s["profile"] == "P"
	assert s["protected"] is True
	assert not any(s["operations"].values())


def test_decision_as_dict():
	d = Decision(False, "r", "condition", "P", "X: read")
	assert d.as_dict() == {
		"allowed": False,
		"reason": "r",
		"layer": "condition",
		"profile": "P",
		"rule": "X: read",
	}


# ---------------------------------------------------------------- properties

fieldnames = st.sampled_from(["name", "a", "b", "c", "d", "e", "credit_limit", "owner"])


@given(
	st.lists(fieldnames, max_size=12),
	st.none() | st.frozensets(fieldnames),
	st.frozensets(fieldnames),
)
def test_visible_fields_is_an_ordered_subset_without_restricted_fields(requested, allowed, restricted):
	policy = resolve([Profile("P", (Rule("X", {"read"}, allowed, restricted),))])
	got = policy.visible_fields("X", requested)
	assert set(got) <= set(requested)
	assert set(got) <= (set(allowed if allowed is not None else requested) | ALWAYS_VISIBLE_FIELDS)
	assert not (set(got) & (restricted - ALWAYS_VISIBLE_FIELDS))
	assert got == sorted(got, key=requested.index)
	assert len(got) == len(set(got))
	for f in set(requested) & ALWAYS_VISIBLE_FIELDS:
		assert f in got


@given(
	st.lists(fieldnames, min_size=1, max_size=6),
	st.none() | st.frozensets(fieldnames),
	st.frozensets(fieldnames),
	st.sampled_from(FIELD_PURPOSES),
)
def test_check_fields_agrees_with_visibility_and_writability(names, allowed, restricted, purpose):
	policy = resolve([Profile("P", (Rule("X", {"read"}, allowed, restricted),))])
	d = policy.check_fields("X", names, purpose)
	if purpose == "write":
		expected = all(f not in restricted and (allowed is None or f in allowed) for f in names)
	else:
		expected = set(policy.visible_fields("X", names)) == set(names)
	assert d.allowed is expected


profile_strategy = st.builds(
	lambda name, prio, via, doctypes, ops: Profile(
		name, tuple(Rule(dt, ops) for dt in sorted(doctypes)), priority=prio, via=via
	),
	st.sampled_from(["Alpha", "beta", "Gamma", "delta", "Eps"]),
	st.integers(-2, 2),
	st.sampled_from(["user", "role", "default"]),
	st.frozensets(st.sampled_from(["Customer", "Item", "Sales Invoice", "User"]), max_size=3),
	st.frozensets(st.sampled_from(OPERATIONS)),
)


def _fingerprint(policy):
	return (
		policy.profile_names,
		policy.doctypes(),
		{
			(op, dt): policy.check_operation(op, dt)
			for op in OPERATIONS
			for dt in ["Customer", "Item", "Sales Invoice", "User", "Quotation"]
		},
	)


@given(st.lists(profile_strategy, max_size=4), st.randoms(use_true_random=False))
def test_resolution_is_independent_of_input_order(profiles, rnd):
	shuffled = list(profiles)
	rnd.shuffle(shuffled)
	assert _fingerprint(resolve(profiles)) == _fingerprint(resolve(shuffled))


@given(st.lists(profile_strategy, min_size=1, max_size=4, unique_by=lambda p: p.name))
def test_the_deciding_rule_is_the_best_ranked_profile_with_a_rule(profiles):
	policy = resolve(profiles)
	active = set(policy.profile_names)
	for dt in ["Customer", "Item", "Sales Invoice"]:
		found = policy.rule_for(dt)
		holders = [p for p in profiles if p.name in active and p.rule_for(dt) is not None]
		if not holders:
			assert found is None
			continue
		rank = {"user": 0, "role": 1, "default": 2}
		best = min(holders, key=lambda p: (-p.priority, rank[p.via], p.name.casefold()))
		assert found[0] is best
		assert found[1] is best.rule_for(dt)


@given(st.lists(profile_strategy, max_size=4))
def test_defaults_only_apply_alone(profiles):
	policy = resolve(profiles)
	vias = {p.name: p.via for p in profiles}
	non_default_names = {p.name for p in profiles if p.via != "default"}
	if non_default_names:
		assert set(policy.profile_names) == non_default_names
	else:
		assert set(policy.profile_names) == set(vias)


@given(
	st.lists(profile_strategy, max_size=4),
	st.sampled_from(sorted(PROTECTED_DOCTYPES)),
	st.sampled_from(OPERATIONS),
)
def test_protected_doctypes_are_never_allowed_without_allow_protected(profiles, doctype, op):
	profiles = [*profiles, Profile("Everything", (Rule(doctype, ALL),), priority=9, via="user")]
	assert not resolve(profiles).check_operation(op, doctype).allowed


def test_all_permutations_of_three_profiles_resolve_alike():
	profiles = [
		Profile("A", (Rule("Customer", {"read"}),), priority=1, via="role"),
		Profile("B", (Rule("Customer", {"create"}), Rule("Item", {"read"})), priority=1, via="user"),
		Profile("C", (Rule("Item", {"delete"}),), priority=2, via="role"),
	]
	results = {repr(_fingerprint(resolve(order))) for order in itertools.permutations(profiles)}
	assert len(results) == 1
	policy = resolve(profiles)
	assert policy.profile_names == ("C", "B", "A")
	assert policy.check_operation("create", "Customer").profile == "B"
	assert policy.check_operation("delete", "Item").profile == "C"
