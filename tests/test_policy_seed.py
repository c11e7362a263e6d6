"""Tier 1 tests of policy/seed.py: the original config.json permission block imported into Profiles."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpnext_mcp.policy import OPERATIONS, Condition, Profile, import_seed, resolve
from erpnext_mcp.policy.seed import SEED_OPERATORS

# The two example profiles of the original design's config.json.
READ_ONLY_ANALYST = {
	"permissions": {
		"doctypes": {
			"Customer": {
				"read": True,
				"create": False,
				"update": False,
				"delete": False,
				"allowed_fields": ["customer_name", "customer_type", "territory", "customer_group"],
			},
			"Item": {
				"read": True,
				"create": False,
				"update": False,
				"delete": False,
				"allowed_fields": ["item_code", "item_name", "item_group", "stock_uom"],
			},
			"Sales Invoice": {
				"read": True,
				"create": False,
				"update": False,
				"delete": False,
				"allowed_fields": ["customer", "posting_date", "grand_total", "status"],
			},
		}
	}
}

SALES_USER = {
	"server": {"name": "erpnext-mcp"},  # another section of config.json: not permissions, not reported
	"permissions": {
		"doctypes": {
			"Customer": {
				"read": True,
				"create": True,
				"update": True,
				"delete": False,
				"allowed_fields": ["customer_name", "customer_type", "territory", "disabled", "credit_limit"],
				"restricted_fields": ["credit_limit"],
				"conditions": {
					"create": {"customer_type": {"in": ["Company", "Individual"]}},
					"update": {"disabled": {"not_in": [1]}},
				},
			}
		}
	},
}

DESIGN_EXAMPLE = {
	"permissions": {
		"doctypes": {
			"Customer": {
				"read": True,
				"create": True,
				"update": True,
				"delete": False,
				"allowed_fields": ["customer_name", "customer_type", "territory"],
				"restricted_fields": ["credit_limit"],
				"conditions": {
					"create": {"customer_type": {"in": ["Company", "Individual"]}},
					"update": {"disabled": {"not_in": [1]}},
					"read": {"territory": "Egypt"},
				},
			}
		}
	}
}


@pytest.fixture
def analyst():
	profile, messages = import_seed(READ_ONLY_ANALYST, "Read-only Analyst")
	assert messages == []
	return profile


@pytest.fixture
def sales():
	profile, messages = import_seed(SALES_USER, "Sales User")
	assert messages == []
	return profile


# ---------------------------------------------------------------- the two example profiles


def test_analyst_profile_shape(analyst):
	assert isinstance(analyst, Profile)
	assert analyst.name == "Read-only Analyst"
	assert analyst.via == "role"
	assert analyst.priority == 0
	assert [r.doctype for r in analyst.rules] == ["Customer", "Item", "Sales Invoice"]
	for rule in analyst.rules:
		assert rule.operations == frozenset({"read"})
		assert rule.restricted_fields == frozenset()
		assert rule.conditions == ()
		assert rule.allow_protected is False


@pytest.mark.parametrize("doctype", ["Customer", "Item", "Sales Invoice"])
def test_analyst_reads_and_never_writes(analyst, doctype):
	policy = resolve([analyst])
	assert policy.check_operation("read", doctype).allowed
	for op in ("create", "update", "delete", "submit", "cancel"):
		d = policy.check_operation(op, doctype)
		assert not d.allowed
		assert 'Profile "Read-only Analyst"' in d.reason
		assert d.rule == f"{doctype}: {op}"


def test_analyst_sees_only_the_listed_fields(analyst):
	policy = resolve([analyst])
	assert policy.visible_fields(
		"Sales Invoice", ["name", "customer", "grand_total", "outstanding_amount", "status"]
	) == [
		"name",
		"customer",
		"grand_total",
		"status",
	]
	assert not policy.check_fields("Customer", ["credit_limit"], "filters").allowed
	assert policy.check_fields("Item", ["item_group"], "order_by").allowed
	assert policy.doctypes() == ["Customer", "Item", "Sales Invoice"]
	assert not policy.check_operation("read", "Quotation").allowed


def test_sales_user_behaves_as_written(sales):
	policy = resolve([sales])
	for op, allowed in {"read": True, "create": True, "update": True, "delete": False}.items():
		assert policy.check_operation(op, "Customer").allowed is allowed
	# restricted beats allowed
	assert policy.visible_fields("Customer", ["customer_name", "credit_limit"]) == ["customer_name"]
	d = policy.check_fields("Customer", ["credit_limit"], "write")
	assert not d.allowed
	assert 'restricted field "credit_limit"' in d.reason
	# create condition
	assert policy.check_document("create", "Customer", {"customer_type": "Company"}).allowed
	assert policy.check_document("create", "Customer", {"customer_type": "individual"}).allowed
	d = policy.check_document("create", "Customer", {"customer_type": "Partnership"})
	assert not d.allowed
	assert 'Profile "Sales User"' in d.reason
	assert 'customer_type in ["Company", "Individual"]' in d.reason
	assert not policy.check_document("create", "Customer", {}).allowed
	# update condition, before and after
	assert policy.check_update("Customer", {"disabled": 0}, {"disabled": 0}).allowed
	assert not policy.check_update("Customer", {"disabled": 1}, {"disabled": 0}).allowed
	assert not policy.check_update("Customer", {"disabled": 0}, {"disabled": True}).allowed
	# the create condition does not apply to updates, nor the update one to creates
	assert policy.check_update(
		"Customer", {"customer_type": "Partnership"}, {"customer_type": "Partnership"}
	).allowed
	assert policy.check_document("create", "Customer", {"customer_type": "Company", "disabled": 1}).allowed
	assert policy.read_filters("Customer") == []


def test_design_example_conditions():
	profile, messages = import_seed(DESIGN_EXAMPLE, "Sales")
	assert messages == []
	(rule,) = profile.rules
	assert rule.allowed_fields == frozenset({"customer_name", "customer_type", "territory"})
	assert rule.restricted_fields == frozenset({"credit_limit"})
	assert set(rule.conditions) == {
		Condition("customer_type", "in", ["Company", "Individual"], frozenset({"create"})),
		Condition("disabled", "not in", [1], frozenset({"update"})),
		Condition("territory", "=", "Egypt", frozenset({"read"})),
	}
	assert resolve([profile]).read_filters("Customer") == [["territory", "=", "Egypt"]]


def test_seed_input_is_not_mutated():
	data = copy.deepcopy(DESIGN_EXAMPLE)
	import_seed(data, "X")
	assert data == DESIGN_EXAMPLE


# ---------------------------------------------------------------- shapes


def test_permission_block_without_the_permissions_key():
	profile, messages = import_seed(READ_ONLY_ANALYST["permissions"], "A")
	assert messages == []
	assert len(profile.rules) == 3


@pytest.mark.parametrize(
	"data, words",
	[
		([], "not a JSON object"),
		("{}", "not a JSON object"),
		({}, 'no "permissions" or "doctypes"'),
		({"server": {}}, 'no "permissions" or "doctypes"'),
		({"permissions": []}, '"permissions" is not an object'),
		({"permissions": {}}, '"doctypes" is missing'),
		({"doctypes": ["Customer"]}, '"doctypes" is missing or not an object'),
	],
)
def test_unreadable_shapes_import_nothing_and_say_so(data, words):
	profile, messages = import_seed(data, "X")
	assert profile.rules == ()
	assert any(words in m for m in messages), messages


def test_unknown_key_in_the_permission_block_is_reported():
	_profile, messages = import_seed({"permissions": {"doctypes": {}, "default": "deny"}}, "X")
	assert messages == ['permissions: unknown key "default" not imported']


# ---------------------------------------------------------------- operators


@pytest.mark.parametrize(
	"name, operator",
	sorted(SEED_OPERATORS.items()),
)
def test_every_seed_operator_name_maps(name, operator):
	value = {"in": ["a"], "not in": ["a"], "between": [1, 5]}.get(operator, 3)
	profile, messages = import_seed(
		{"doctypes": {"Item": {"read": True, "conditions": {"read": {"qty": {name: value}}}}}}, "X"
	)
	assert messages == []
	(condition,) = profile.rules[0].conditions
	assert condition.operator == operator
	assert condition.fieldname == "qty"
	assert condition.applies_to == frozenset({"read"})


@pytest.mark.parametrize("flag, operator", [(True, "is set"), (False, "is not set")])
def test_is_set(flag, operator):
	profile, messages = import_seed(
		{"doctypes": {"Item": {"create": True, "conditions": {"create": {"tax_id": {"is_set": flag}}}}}}, "X"
	)
	assert messages == []
	assert profile.rules[0].conditions == (Condition("tax_id", operator, None, frozenset({"create"})),)


def test_several_operators_on_one_field_are_all_kept():
	profile, messages = import_seed(
		{"doctypes": {"Item": {"update": True, "conditions": {"update": {"qty": {"gte": 1, "lte": 10}}}}}},
		"X",
	)
	assert messages == []
	ops = {(c.operator, c.value) for c in profile.rules[0].conditions}
	assert ops == {(">=", 1), ("<=", 10)}
	policy = resolve([profile])
	assert policy.check_update("Item", {"qty": 5}, {"qty": 10}).allowed
	assert not policy.check_update("Item", {"qty": 5}, {"qty": 11}).allowed


def test_the_same_condition_on_several_operations_becomes_one_condition():
	cond = {"company": "ACME"}
	profile, messages = import_seed(
		{
			"doctypes": {
				"Sales Invoice": {"read": True, "create": True, "conditions": {"read": cond, "create": cond}}
			}
		},
		"X",
	)
	assert messages == []
	assert profile.rules[0].conditions == (Condition("company", "=", "ACME", frozenset({"read", "create"})),)


def test_bare_scalar_means_equality_and_null_means_not_set():
	profile, messages = import_seed(
		{"doctypes": {"Item": {"read": True, "conditions": {"read": {"disabled": 0, "variant_of": None}}}}},
		"X",
	)
	assert messages == []
	assert set(profile.rules[0].conditions) == {
		Condition("disabled", "=", 0, frozenset({"read"})),
		Condition("variant_of", "=", None, frozenset({"read"})),
	}
	assert resolve([profile]).read_filters("Item") == [["disabled", "=", 0], ["variant_of", "is", "not set"]]


# ---------------------------------------------------------------- could not map, failing closed


def _one(spec, doctype="Customer"):
	profile, messages = import_seed({"doctypes": {doctype: spec}}, "Seed")
	return (profile.rules[0] if profile.rules else None), messages


def test_unknown_operator_is_reported_and_its_operation_left_off():
	rule, messages = _one(
		{"read": True, "create": True, "conditions": {"create": {"customer_name": {"like": "%A%"}}}}
	)
	assert rule.operations == frozenset({"read"})
	assert any('unknown operator "like"' in m and "Customer" in m for m in messages)
	assert any("create not granted" in m for m in messages)


def test_invalid_operand_is_reported_and_its_operation_left_off():
	rule, messages = _one({"update": True, "conditions": {"update": {"disabled": {"not_in": 1}}}})
	assert rule.operations == frozenset()
	assert any('update condition on "disabled" is invalid' in m and "non-empty list" in m for m in messages)


@pytest.mark.parametrize("bad", [{"between": [1]}, {"lt": [1, 2]}, {"is_set": "yes"}, {}])
def test_other_bad_conditions_fail_closed(bad):
	rule, messages = _one({"read": True, "update": True, "conditions": {"update": {"qty": bad}}})
	assert rule.operations == frozenset({"read"})
	assert messages


def test_bare_list_is_not_guessed():
	rule, messages = _one({"create": True, "conditions": {"create": {"customer_type": ["Company"]}}})
	assert rule.operations == frozenset()
	assert any('write {"in": [...]}' in m for m in messages)


def test_delete_conditions_are_imported():
	rule, messages = _one({"read": True, "delete": True, "conditions": {"delete": {"disabled": 0}}})
	assert rule.operations == frozenset({"read", "delete"})
	assert [(c.fieldname, c.applies_to) for c in rule.conditions] == [("disabled", frozenset({"delete"}))]
	assert messages == []


def test_conditions_for_an_unknown_operation_are_reported():
	rule, messages = _one({"read": True, "conditions": {"approve": {"disabled": 0}}})
	assert rule.operations == frozenset({"read"})
	assert any('conditions for "approve" not imported' in m for m in messages)


def test_conditions_that_are_not_objects_shut_the_condition_operations():
	rule, messages = _one({"read": True, "create": True, "delete": True, "conditions": ["x"]})
	assert rule.operations == frozenset({"delete"})
	assert messages
	rule, messages = _one({"read": True, "create": True, "conditions": {"create": "x"}})
	assert rule.operations == frozenset({"read"})


@pytest.mark.parametrize("flag", [1, 0, "true", "yes", None, [True]])
def test_non_boolean_operation_is_reported_and_not_granted(flag):
	rule, messages = _one({"read": True, "delete": flag})
	assert rule.operations == frozenset({"read"})
	assert messages == [f'Customer: "delete" is {json.dumps(flag)}, not true or false; not granted']


def test_unknown_rule_key_is_reported():
	rule, messages = _one({"read": True, "export": True, "max_records": 10})
	assert rule.operations == frozenset({"read"})
	assert 'Customer: unknown key "export" not imported' in messages
	assert 'Customer: unknown key "max_records" not imported' in messages


def test_unreadable_allowed_fields_leave_only_the_name_visible():
	rule, messages = _one({"read": True, "allowed_fields": "customer_name"})
	assert rule.allowed_fields == frozenset()
	assert "no field but the document name" in messages[0]
	assert resolve([Profile("Seed", (rule,))]).visible_fields("Customer", ["name", "customer_name"]) == [
		"name"
	]


def test_unreadable_restricted_fields_leave_only_the_name_visible():
	rule, messages = _one({"read": True, "restricted_fields": ["credit_limit", 5]})
	assert rule.allowed_fields == frozenset()
	assert "not fieldnames: 5" in messages[0]


def test_non_string_in_allowed_fields_fails_closed():
	rule, messages = _one({"read": True, "allowed_fields": ["customer_name", None]})
	assert rule.allowed_fields == frozenset()
	assert messages


def test_null_field_lists_mean_not_given():
	rule, messages = _one(
		{"read": True, "allowed_fields": None, "restricted_fields": None, "conditions": None}
	)
	assert messages == []
	assert rule.allowed_fields is None


def test_rule_that_is_not_an_object_is_not_imported():
	rule, messages = _one(True)
	assert rule is None
	assert messages == ["Customer: the rule is true, not an object; not imported"]


def test_protected_doctype_in_the_seed_is_imported_but_flagged():
	rule, messages = _one({"read": True}, doctype="User")
	assert rule.operations == frozenset({"read"})
	assert not rule.allow_protected
	assert any("protected DocType" in m for m in messages)
	assert not resolve([Profile("Seed", (rule,))]).check_operation("read", "User").allowed


def test_doctype_names_are_trimmed_and_duplicates_after_trimming_reported():
	profile, messages = import_seed(
		{"doctypes": {"Customer": {"read": True}, " Customer ": {"create": True}}}, "X"
	)
	assert [r.doctype for r in profile.rules] == ["Customer"]
	assert profile.rules[0].operations == frozenset({"read"})
	assert any("second rule" in m for m in messages)


def test_blank_doctype_name_is_reported():
	profile, messages = import_seed({"doctypes": {"  ": {"read": True}}}, "X")
	assert profile.rules == ()
	assert messages


# ---------------------------------------------------------------- properties

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
json_values = st.recursive(
	json_scalars,
	lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
	max_leaves=12,
)
rule_specs = st.dictionaries(
	st.sampled_from([*OPERATIONS, "allowed_fields", "restricted_fields", "conditions", "junk"]),
	json_values,
	max_size=6,
)


@given(
	st.dictionaries(st.sampled_from(["Customer", "Item", "User", ""]), rule_specs | json_values, max_size=3)
)
def test_import_never_raises_and_never_grants_more_than_the_seed_says(doctypes):
	profile, messages = import_seed({"permissions": {"doctypes": doctypes}}, "P")
	assert isinstance(messages, list)
	for rule in profile.rules:
		spec = doctypes[rule.doctype]
		for op in rule.operations:
			assert spec.get(op) is True


@given(rule_specs)
def test_something_not_understood_is_always_reported(spec):
	_profile, messages = import_seed({"doctypes": {"Item": spec}}, "P")
	understood = all(
		(key in OPERATIONS and isinstance(value, bool))
		or (key in ("allowed_fields", "restricted_fields") and value is None)
		for key, value in spec.items()
	)
	if not understood and "junk" in spec:
		assert messages
	if understood:
		assert messages == []
