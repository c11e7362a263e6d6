"""Tier 1 tests of policy/conditions.py: every operator, its type coercions, validation and filter form."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from erpnext_mcp.exceptions import InvalidArguments
from erpnext_mcp.policy import CONDITION_OPERATORS, Condition, evaluate, is_set, to_filter, validate_condition
from erpnext_mcp.policy.conditions import condition_problem, describe_condition, is_ambiguous


def ok(operator, expected, value, **kw):
	return evaluate(Condition("f", operator, expected, **kw), value)


# ---------------------------------------------------------------- "=" and "!="


@pytest.mark.parametrize(
	"expected, value",
	[
		("Company", "Company"),
		("Company", "company"),
		("Company", "  COMPANY \t"),
		("straße", "STRASSE"),  # casefold, not lower
		(5, 5),
		(5, 5.0),
		(5, "5"),
		("5", 5.0),
		(Decimal("2.50"), 2.5),
		(Decimal("2.50"), "2.5"),
		(0.1, "0.1"),
		(1, True),
		(0, False),
		("1", True),
		("0", False),
		(True, 1),
		(True, "1"),
		(date(2024, 5, 1), "2024-05-01"),
		("2024-05-01", date(2024, 5, 1)),
		("2024-05-01", datetime(2024, 5, 1, 10, 30)),  # date against datetime: the date part
		("2024-05-01 10:30:00", datetime(2024, 5, 1, 10, 30)),
		("2024-05-01T10:30:00", "2024-05-01 10:30:00"),
		(None, None),
		(None, ""),
		(None, "   "),
		("", None),
	],
)
def test_equal_matches(expected, value):
	assert ok("=", expected, value)
	assert not ok("!=", expected, value)


@pytest.mark.parametrize(
	"expected, value",
	[
		("Company", "Individual"),
		("Company", "Compan y"),
		("Company", None),
		("Company", ""),
		(5, 6),
		(5, "5x"),
		(5, "abc"),
		(1, False),
		(1, "true"),  # Frappe's cint("true") is 0, so "true" is not 1
		(date(2024, 5, 1), "2024-05-02"),
		(datetime(2024, 5, 1, 10, 0), datetime(2024, 5, 1, 11, 0)),
		(None, "x"),
		(None, 0),  # 0 is a value: "is not set" means empty, not falsy
		("2024-05-01", 20240501),
	],
)
def test_equal_does_not_match(expected, value):
	assert not ok("=", expected, value)
	assert ok("!=", expected, value)


def test_equal_none_means_is_not_set_and_not_equal_none_means_is_set():
	assert ok("=", None, None)
	assert not ok("=", None, "x")
	assert ok("!=", None, "x")
	assert not ok("!=", None, None)
	assert not ok("!=", None, "  ")


@pytest.mark.parametrize("a, b", [("1.0", "1"), ("007", "7"), ("1e1", "10"), ("+5", "5")])
def test_two_numeric_strings_written_differently_are_ambiguous_and_meet_neither(a, b):
	assert not ok("=", a, b)
	assert not ok("!=", a, b)
	assert not ok("in", [a], b)
	assert not ok("not in", [a], b)
	assert is_ambiguous(Condition("f", "not in", [a]), b)


def test_ambiguity_only_between_two_strings():
	assert ok("=", 1, "1.0")
	assert ok("=", "1.0", 1)
	assert not ok("not in", [1], "1.0")
	assert not is_ambiguous(Condition("f", "=", 1), "1.0")
	assert not is_ambiguous(Condition("f", "<", "1"), "1.0")


def test_in_matches_if_one_item_matches_exactly_even_with_an_ambiguous_one():
	assert ok("in", ["007", "7"], "7")


# ---------------------------------------------------------------- "in" and "not in"


@pytest.mark.parametrize(
	"items, value, inside",
	[
		(["Company", "Individual"], "Company", True),
		(["Company", "Individual"], " individual ", True),
		(["Company", "Individual"], "INDIVIDUAL", True),
		(["Company", "Individual"], "Partnership", False),
		(["Company", "Individual"], None, False),
		(["Company", "Individual"], "", False),
		([1], 1, True),
		([1], "1", True),
		([1], True, True),
		([1], 1.0, True),
		([1], 0, False),
		([1], False, False),
		(["1"], 1, True),
		([0, 1], "0", True),
		(["", "Company"], None, True),  # "" in the list accepts an unset field
		([None], "", True),
		([date(2024, 1, 1)], "2024-01-01", True),
		(("a", "b"), "B", True),
	],
)
def test_in_and_not_in(items, value, inside):
	assert ok("in", items, value) is inside
	assert ok("not in", items, value) is not inside


@pytest.mark.parametrize("dodge", ["BLOCKED", " blocked", "blocked ", "\tBlocked\n", "bLoCkEd"])
def test_not_in_cannot_be_dodged_by_case_or_whitespace(dodge):
	assert not ok("not in", ["Blocked"], dodge)
	assert not ok("!=", "Blocked", dodge)


@pytest.mark.parametrize("dodge", [1, "1", 1.0, True, " 1 ", Decimal("1.00")])
def test_check_field_not_in_cannot_be_dodged_by_type(dodge):
	assert not ok("not in", [1], dodge)
	assert not ok("not in", ["1"], dodge)


@pytest.mark.parametrize("value", [["Company"], ("Company",), {"x": 1}, {"Company"}, [], [1]])
def test_a_list_or_dict_never_meets_a_value_comparison(value):
	for operator, expected in [
		("=", "Company"),
		("!=", "Company"),
		("in", ["Company"]),
		("not in", ["Company"]),
		("<", 5),
		(">=", 0),
		("between", [0, 10]),
	]:
		assert not ok(operator, expected, value), (operator, value)


# ---------------------------------------------------------------- ordering


@pytest.mark.parametrize(
	"operator, bound, value, expected",
	[
		("<", 10, 5, True),
		("<", 10, 10, False),
		("<=", 10, 10, True),
		(">", 10, 10, False),
		(">=", 10, 10, True),
		(">", 10, 11, True),
		("<", 10, "5", True),
		("<", "10", "9", True),  # numbers, not text ("10" < "9" as text)
		("<", 10, Decimal("9.99"), True),
		("<", 1, False, True),
		(">", 0, True, True),
		(">", 1000, 1000.0001, True),
		("<", date(2024, 5, 1), date(2024, 4, 30), True),
		("<", "2024-05-01", "2024-04-30", True),
		("<", "2024-05-01", datetime(2024, 5, 1, 23, 59), False),  # same date part
		("<=", "2024-05-01", datetime(2024, 5, 1, 23, 59), True),
		(">", datetime(2024, 5, 1, 10, 0), datetime(2024, 5, 1, 10, 1), True),
		(">", "2024-05-01 10:00:00", "2024-05-01 10:00:01", True),
		("<", "m", "apple", True),
		("<", "m", "Apple", True),  # text compares folded
		(">", "m", "zebra", True),
	],
)
def test_ordering(operator, bound, value, expected):
	assert ok(operator, bound, value) is expected


@pytest.mark.parametrize(
	"operator, bound, value",
	[
		("<", 5, "abc"),
		(">", 5, "abc"),
		("<", "abc", 5),
		("<", 5, None),
		(">", 5, None),
		("<", 5, ""),
		("<", date(2024, 1, 1), 5),
		("<", date(2024, 1, 1), "abc"),
		(">", "abc", "2024-01-01"),
		("<", "2024-13-45", 5),
		("<", 5, [1]),
		("<", datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2023, 1, 1)),  # aware vs naive
	],
)
def test_ordering_between_kinds_is_not_met_and_never_raises(operator, bound, value):
	assert ok(operator, bound, value) is False


@pytest.mark.parametrize(
	"bounds, value, expected",
	[
		([1, 10], 1, True),
		([1, 10], 10, True),
		([1, 10], 5.5, True),
		([1, 10], "7", True),
		([1, 10], 0, False),
		([1, 10], 11, False),
		([10, 1], 5, False),  # reversed bounds hold nothing, as in SQL
		(["2024-01-01", "2024-12-31"], "2024-06-15", True),
		(["2024-01-01", "2024-12-31"], date(2025, 1, 1), False),
		(["2024-01-01", "2024-12-31"], datetime(2024, 12, 31, 23, 59), True),  # date part
		(["a", "m"], "Hello", True),
		(["a", "m"], "zed", False),
		([1, 10], None, False),
		([1, 10], "abc", False),
	],
)
def test_between_is_inclusive(bounds, value, expected):
	assert ok("between", bounds, value) is expected


# ---------------------------------------------------------------- is set / is not set


@pytest.mark.parametrize(
	"value, expected",
	[
		(None, False),
		("", False),
		("   ", False),
		([], False),
		({}, False),
		((), False),
		("x", True),
		(0, True),
		(False, True),
		(0.0, True),
		([1], True),
		(date(2024, 1, 1), True),
	],
)
def test_is_set_and_is_not_set(value, expected):
	assert is_set(value) is expected
	assert ok("is set", None, value) is expected
	assert ok("is not set", None, value) is not expected


def test_is_set_ignores_the_condition_value():
	assert ok("is set", "anything", "x")
	assert ok("is not set", ["junk"], None)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
	"condition, words",
	[
		(Condition("f", "like", "%a%"), "unknown operator 'like'"),
		(Condition("f", "IN", ["a"]), "unknown operator"),
		(Condition("f", "in", "Company"), '"in" needs a non-empty list'),
		(Condition("f", "not in", []), '"not in" needs a non-empty list'),
		(Condition("f", "in", None), "non-empty list"),
		(Condition("f", "in", [["a"]]), "list item"),
		(Condition("f", "in", [{"a": 1}]), "list item"),
		(Condition("f", "between", [1]), "exactly two values"),
		(Condition("f", "between", [1, 2, 3]), "exactly two values"),
		(Condition("f", "between", 5), "exactly two values"),
		(Condition("f", "between", [1, None]), "both bounds set"),
		(Condition("f", "between", [1, "abc"]), "one kind"),
		(Condition("f", "between", ["2024-01-01", 5]), "one kind"),
		(Condition("f", "between", [[1], 2]), "bound"),
		(Condition("f", "<", [1, 2]), "compares with one value"),
		(Condition("f", ">=", {"a": 1}), "compares with one value"),
		(Condition("f", "<", None), "needs a value"),
		(Condition("f", "<", ""), "needs a value"),
		(Condition("f", "=", ["a"]), "compares with one value"),
		(Condition("f", "=", float("nan")), "finite"),
		(Condition("f", ">", float("inf")), "finite"),
		(Condition("f", "=", 1, applies_to=frozenset()), "applies to no operation"),
		(
			Condition("f", "=", 1, applies_to=frozenset({"approve"})),
			"apply only to read, create, update, delete",
		),
		(Condition("", "=", 1), "not a fieldname"),
		(Condition("tab`Customer`", "=", 1), "not a fieldname"),
		(Condition("credit limit", "=", 1), "not a fieldname"),
	],
)
def test_invalid_conditions_are_refused_with_a_clear_message(condition, words):
	with pytest.raises(InvalidArguments) as e:
		validate_condition(condition)
	assert words in e.value.message
	assert condition.fieldname in e.value.message
	assert condition_problem(condition)


@pytest.mark.parametrize(
	"condition",
	[
		Condition("customer_type", "in", ["Company", "Individual"]),
		Condition("disabled", "not in", [1]),
		Condition("territory", "=", "Egypt"),
		Condition("territory", "=", None),
		Condition("territory", "!=", ""),
		Condition("grand_total", "<", 1000),
		Condition("posting_date", ">=", date(2024, 1, 1)),
		Condition("posting_date", "between", ["2024-01-01", "2024-12-31"]),
		Condition("qty", "between", [1, Decimal("10.5")]),
		Condition("tax_id", "is set"),
		Condition("tax_id", "is not set", "ignored"),
		Condition("f", "=", 1, applies_to=frozenset({"read"})),
	],
)
def test_valid_conditions_pass(condition):
	validate_condition(condition)
	assert condition_problem(condition) is None


def test_validate_names_the_label():
	with pytest.raises(InvalidArguments, match=r"row 3"):
		validate_condition(Condition("f", "in", "x", label="row 3"))


@pytest.mark.parametrize(
	"condition",
	[
		Condition("f", "like", "a"),
		Condition("f", "in", "a"),
		Condition("f", "between", [1]),
		Condition("f", "<", None),
	],
)
def test_an_invalid_condition_is_never_met(condition):
	for value in ["a", 1, None, "", [1], 0.5]:
		assert evaluate(condition, value) is False


def test_condition_value_lists_become_tuples_so_conditions_are_hashable():
	c = Condition("f", "in", ["a", "b"], applies_to=["read"])
	assert c.value == ("a", "b")
	assert c.applies_to == frozenset({"read"})
	hash(c)


def test_applies_to_as_a_bare_string_is_refused():
	with pytest.raises(TypeError):
		Condition("f", "=", 1, applies_to="read")


# ---------------------------------------------------------------- filter form and description


@pytest.mark.parametrize(
	"condition, triplet",
	[
		(Condition("territory", "=", "Egypt"), ["territory", "=", "Egypt"]),
		(Condition("territory", "!=", "Egypt"), ["territory", "!=", "Egypt"]),
		(Condition("t", "in", ["a", "b"]), ["t", "in", ["a", "b"]]),
		(Condition("t", "not in", [1]), ["t", "not in", [1]]),
		(Condition("t", "<", 5), ["t", "<", 5]),
		(Condition("t", "<=", 5), ["t", "<=", 5]),
		(Condition("t", ">", 5), ["t", ">", 5]),
		(Condition("t", ">=", 5), ["t", ">=", 5]),
		(
			Condition("t", "between", ["2024-01-01", "2024-12-31"]),
			["t", "between", ["2024-01-01", "2024-12-31"]],
		),
		(Condition("t", "is set"), ["t", "is", "set"]),
		(Condition("t", "is not set"), ["t", "is", "not set"]),
		(Condition("t", "=", None), ["t", "is", "not set"]),
		(Condition("t", "=", ""), ["t", "is", "not set"]),
		(Condition("t", "!=", None), ["t", "is", "set"]),
	],
)
def test_to_filter(condition, triplet):
	assert to_filter(condition) == triplet
	assert all(isinstance(v, list) for v in triplet[2:] if isinstance(v, (list, tuple)))


@pytest.mark.parametrize(
	"condition, text",
	[
		(
			Condition("customer_type", "in", ["Company", "Individual"]),
			'customer_type in ["Company", "Individual"]',
		),
		(Condition("disabled", "not in", [1]), "disabled not in [1]"),
		(Condition("territory", "=", "Egypt"), 'territory = "Egypt"'),
		(
			Condition("d", "between", [date(2024, 1, 1), date(2024, 2, 1)]),
			'd between ["2024-01-01", "2024-02-01"]',
		),
		(Condition("tax_id", "is set"), "tax_id is set"),
		(Condition("tax_id", "=", None), "tax_id is not set"),
		(Condition("tax_id", "!=", None), "tax_id is set"),
		(Condition("q", ">", Decimal("2.5")), "q > 2.5"),
	],
)
def test_describe_condition(condition, text):
	assert describe_condition(condition) == text


def test_describe_cuts_long_lists():
	text = describe_condition(Condition("f", "in", [str(i) for i in range(30)]))
	assert "20 more" in text
	assert '"29"' not in text


# ---------------------------------------------------------------- properties

scalars = st.one_of(
	st.none(),
	st.text(max_size=12),
	st.integers(min_value=-(2**53), max_value=2**53),
	st.floats(allow_nan=False, allow_infinity=False),
	st.booleans(),
	st.decimals(allow_nan=False, allow_infinity=False, places=3),
	st.dates(),
	st.datetimes(),
	st.sampled_from(["1", "1.0", "007", "7", " Company ", "company", "2024-05-01", "2024-05-01 10:00:00"]),
)
values = st.one_of(
	scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=3), scalars, max_size=2)
)


@given(scalars, st.lists(scalars, min_size=1, max_size=5))
def test_in_and_not_in_are_never_both_met(value, items):
	assert not (ok("in", items, value) and ok("not in", items, value))


@given(scalars, st.lists(scalars, min_size=1, max_size=5))
def test_in_and_not_in_are_complementary_for_non_ambiguous_scalars(value, items):
	assume(not is_ambiguous(Condition("f", "in", items), value))
	assert ok("in", items, value) != ok("not in", items, value)


@given(scalars, scalars)
def test_equal_and_not_equal_are_complementary_unless_ambiguous(value, expected):
	c = Condition("f", "=", expected)
	assume(not is_ambiguous(c, value))
	assert ok("=", expected, value) != ok("!=", expected, value)


@given(
	st.sampled_from(CONDITION_OPERATORS), values, st.one_of(scalars, st.lists(scalars, max_size=3), values)
)
def test_evaluate_never_raises(operator, value, expected):
	assert evaluate(Condition("f", operator, expected), value) in (True, False)


@given(st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7A), min_size=1, max_size=10))
def test_case_and_whitespace_never_dodge_a_not_in(word):
	dodges = [word.upper(), word.lower(), f"  {word} ", f"\t{word.swapcase()}\n"]
	for dodge in dodges:
		assert not ok("not in", [word], dodge)
		assert ok("in", [word], dodge)


@given(st.integers(-(2**53), 2**53), st.integers(-(2**53), 2**53))
def test_numeric_ordering_agrees_with_python_in_any_written_form(a, b):
	for written in (a, float(a), str(a), Decimal(a)):
		assert ok("<", b, written) is (a < b)
		assert ok(">=", b, written) is (a >= b)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_between_is_the_conjunction_of_its_bounds(value, low, high):
	assert ok("between", [low, high], value) is (low <= value <= high)
	assert ok("between", [low, high], value) is (ok(">=", low, value) and ok("<=", high, value))


@given(st.dates(), st.dates(), st.integers(0, 86399))
def test_date_against_datetime_compares_on_the_date_part(d, bound, seconds):
	moment = datetime.combine(d, datetime.min.time()) + timedelta(seconds=seconds)
	assert ok("=", bound, moment) is (d == bound)
	assert ok("<", bound, moment) is (d < bound)
	assert ok("<=", bound.isoformat(), moment.isoformat(" ")) is (d <= bound)
