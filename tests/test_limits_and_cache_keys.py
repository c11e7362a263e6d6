"""Rate-limit arithmetic (limits.py) and read-cache keys (data/cache_key.py): pure, no Redis."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpnext_mcp import limits
from erpnext_mcp.data import cache_key
from erpnext_mcp.policy import Condition, Profile, Rule, resolve
from erpnext_mcp.server.context import EndpointSettings

# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
	"default, profiles, expected",
	[
		(120, [], 120),
		(120, [None, 0], 120),
		(120, [30], 30),
		(120, [30, 500, None], 500),
		(0, [], 0),
		(0, [10], 10),
		(-5, [], 0),
	],
)
def test_effective_limit_is_the_highest_a_profile_sets_else_settings(default, profiles, expected):
	assert limits.effective_limit(default, profiles) == expected


def test_limits_for_combines_settings_and_profiles():
	settings = EndpointSettings(rate_limit_per_minute=60, rate_limit_per_hour=0)
	got = limits.limits_for(
		settings, [{"per_minute": 5, "per_hour": None}, {"per_minute": 9, "per_hour": 100}]
	)
	assert [(lim.label, lim.seconds, lim.limit) for lim in got] == [
		("per minute", 60, 9),
		("per hour", 3600, 100),
	]


@pytest.mark.parametrize(
	"now, seconds, expected",
	[
		(120.0, 60, (2, 60)),
		(179.2, 60, (2, 1)),
		(179.99, 60, (2, 1)),
		(3600 * 5 + 1, 3600, (5, 3599)),
	],
)
def test_window_index_and_seconds_to_its_end(now, seconds, expected):
	assert limits.window(now, seconds) == expected


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False), st.sampled_from([60, 3600]))
def test_retry_after_never_outlasts_the_window(now, seconds):
	index, retry = limits.window(now, seconds)
	assert 1 <= retry <= seconds
	assert index * seconds <= now < (index + 1) * seconds


def test_decide_names_the_refusing_limit_and_the_longest_wait():
	minute, hour = limits.Limit("per minute", 60, 3), limits.Limit("per hour", 3600, 10)
	now = 3600 * 7 + 30.0
	assert limits.decide([minute, hour], [3, 3], now).allowed
	refused = limits.decide([minute, hour], [4, 4], now)
	assert not refused.allowed and refused.limit is minute and refused.retry_after == 30
	both = limits.decide([minute, hour], [4, 11], now)
	assert both.limit is hour and both.retry_after == 3570
	assert limits.decide([limits.Limit("per minute", 60, 0)], [10**6], now).allowed  # 0 = unlimited


def test_429_says_which_limit_and_when_to_retry():
	verdict = limits.Verdict(False, limits.Limit("per minute", 60, 120), 17)
	resp = limits.too_many_requests(verdict, request_id=7)
	assert resp.status == 429 and resp.headers["Retry-After"] == "17"
	error = json.loads(resp.body)["error"]
	assert json.loads(resp.body)["id"] == 7
	assert "120 requests per minute" in error["message"] and "17 seconds" in error["message"]
	assert error["data"] == {
		"limit": "per minute",
		"limit_value": 120,
		"window_seconds": 60,
		"retry_after_seconds": 17,
	}


# ---------------------------------------------------------------- cache keys


def rule(doctype, ops=("read",), **kw):
	return Rule(doctype, frozenset(ops), **kw)


def policy(*profiles):
	return resolve(list(profiles))


KEY_ARGS = {
	"user": "a@example.com",
	"roles": ["Sales User"],
	"fingerprint": "f",
	"doctype": "Customer",
	"operation": "get",
	"args": {"name": "C-1"},
	"epoch": "e1",
}


def test_equivalent_policies_share_a_fingerprint_whatever_the_order():
	cond = Condition("territory", "in", ["B", "A"], frozenset({"read", "create"}))
	one = policy(
		Profile(
			"P",
			(
				rule(
					"Customer", ("read", "create"), allowed_fields=frozenset({"x", "y"}), conditions=(cond,)
				),
				rule("Supplier"),
			),
		)
	)
	two = policy(
		Profile(
			"P",
			(
				rule("Supplier"),
				rule(
					"Customer", ("create", "read"), allowed_fields=frozenset({"y", "x"}), conditions=(cond,)
				),
			),
		)
	)
	assert cache_key.policy_fingerprint(one) == cache_key.policy_fingerprint(two)


@pytest.mark.parametrize(
	"other",
	[
		Profile("P", (rule("Customer", restricted_fields=frozenset({"tax_id"})),)),
		Profile("P", (rule("Customer", allowed_fields=frozenset({"customer_name"})),)),
		Profile("P", (rule("Customer", ("read", "update")),)),
		Profile("Q", (rule("Customer"),)),
		Profile(
			"P", (rule("Customer", conditions=(Condition("territory", "=", "X", frozenset({"read"})),)),)
		),
	],
)
def test_different_field_rules_or_profiles_mean_different_fingerprints(other):
	base = policy(Profile("P", (rule("Customer"),)))
	assert cache_key.policy_fingerprint(base) != cache_key.policy_fingerprint(policy(other))


@pytest.mark.parametrize(
	"change",
	[
		{"user": "b@example.com"},
		{"roles": ["Sales User", "Sales Manager"]},
		{"fingerprint": "g"},
		{"doctype": "Supplier"},
		{"operation": "list"},
		{"args": {"name": "C-2"}},
		{"epoch": "e2"},
	],
)
def test_every_part_of_the_key_separates_entries(change):
	assert cache_key.entry_key(**KEY_ARGS) != cache_key.entry_key(**{**KEY_ARGS, **change})


def test_an_entry_is_served_only_under_the_version_it_was_stored_under():
	sealed = cache_key.seal_entry("v1", b'{"a":"x\\ny"}')
	assert cache_key.open_entry("v1", sealed) == b'{"a":"x\\ny"}'
	assert cache_key.open_entry("v2", sealed) is None  # the DocType was written since
	assert cache_key.open_entry("v", sealed) is None  # a prefix of the token is not the token
	assert cache_key.open_entry("v1", None) is None
	assert cache_key.open_entry("v1", b"v1") is None  # not a sealed entry


def test_argument_order_and_role_order_do_not_matter():
	a = cache_key.entry_key(**{**KEY_ARGS, "args": {"fields": ["a"], "start": 0}, "roles": ["R1", "R2"]})
	b = cache_key.entry_key(**{**KEY_ARGS, "args": {"start": 0, "fields": ["a"]}, "roles": ["R2", "R1"]})
	assert a == b and a.startswith("erpnext_mcp:cache:e:")


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_two_users_never_share_a_key(u1, u2):
	if u1 != u2:
		assert cache_key.entry_key(**{**KEY_ARGS, "user": u1}) != cache_key.entry_key(
			**{**KEY_ARGS, "user": u2}
		)


def test_token_scope_changes_the_policy_fingerprint():
	from erpnext_mcp.data.cache_key import policy_fingerprint
	from erpnext_mcp.policy import Profile, Rule, resolve
	from erpnext_mcp.policy.token_scope import narrow

	policy = resolve(
		[Profile(name="p", rules=(Rule(doctype="Customer", operations=frozenset({"read", "create"})),))]
	)
	read_only = narrow(policy, frozenset({"read"}), "mcp:read")
	assert policy_fingerprint(policy) != policy_fingerprint(read_only)
	assert policy_fingerprint(read_only) == policy_fingerprint(
		narrow(policy, frozenset({"read"}), "mcp:read")
	)
