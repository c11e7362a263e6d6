"""Tier 1: totals, reports, link search and conversions under the profile's rules, on the in-memory
backend (the real server code end to end; tier 2 runs the same questions on ERPNext)."""

from __future__ import annotations

import json

import pytest

from erpnext_mcp.policy import Condition, Profile, Rule, resolve
from erpnext_mcp.server.app import catalogue, run_tool
from erpnext_mcp.server.context import CallState, EndpointSettings
from erpnext_mcp.server.report_filters import checked_filters
from tests.memory_backend import MemoryBackend, MemoryStore

SALES = "sales@example.com"
READ = frozenset({"read"})


def text(result):
	return "".join(c["text"] for c in result["content"])


class World:
	def __init__(self):
		self.store = MemoryStore()

	def call(self, name, args, *profiles, user=SALES):
		state = CallState(
			backend=MemoryBackend(self.store, user),
			policy=resolve(profiles),
			settings=EndpointSettings(enabled=True),
			headers={},
			protocol_version="2025-06-18",
		)
		result = run_tool(state, name, args)
		return result, state

	def ok(self, name, args, *profiles, user=SALES):
		result, state = self.call(name, args, *profiles, user=user)
		assert not result.get("isError"), text(result)
		return result["structuredContent"], state

	def refused(self, name, args, *profiles, user=SALES):
		result, _ = self.call(name, args, *profiles, user=user)
		assert result.get("isError"), result
		return json.loads(text(result))


@pytest.fixture
def world():
	return World()


def profile(*rules, reports=()):
	return Profile("analytics", tuple(rules), reports=frozenset(reports))


EGYPT_ONLY = Condition("territory", "=", "Egypt", applies_to=frozenset({"read"}))


# ---------------------------------------------------------------- aggregate_documents
def test_totals_grouped_and_sorted_by_an_aggregate(world):
	p = profile(Rule("Sales Order", READ))
	out, state = world.ok(
		"aggregate_documents",
		{
			"doctype": "Sales Order",
			"aggregates": [{"function": "sum", "field": "grand_total"}, {"function": "count"}],
			"group_by": ["customer"],
			"order_by": {"field": "sum_grand_total", "direction": "desc"},
		},
		p,
	)
	assert out["groups"] == [
		{"customer": "CUST-IN-1", "sum_grand_total": 500.0, "count": 1},
		{"customer": "CUST-EG-1", "sum_grand_total": 200.0, "count": 1},
	]
	assert "docstatus" in out["note"]
	assert state.audit["fields"] == {"grand_total", "customer"}


def test_a_total_under_read_conditions_excludes_the_hidden_rows(world):
	p = profile(Rule("Customer", READ, conditions=(EGYPT_ONLY,)))
	out, _ = world.ok(
		"aggregate_documents", {"doctype": "Customer", "aggregates": [{"function": "count"}]}, p
	)
	assert out["totals"] == {"count": 2}  # CUST-IN-1 is outside the read scope
	unrestricted, _ = world.ok(
		"aggregate_documents", {"doctype": "Customer"}, profile(Rule("Customer", READ))
	)
	assert unrestricted["totals"] == {"count": 3}


@pytest.mark.parametrize(
	"args",
	[
		{"aggregates": [{"function": "max", "field": "credit_limit"}]},
		{"group_by": ["tax_id"]},
		{"filters": {"tax_id": "EG-1"}},
	],
	ids=["aggregated", "grouped", "filtered"],
)
def test_a_restricted_field_named_anywhere_is_refused(world, args):
	# The manager's ERPNext roles read credit_limit's permlevel: only the profile stands in the way.
	p = profile(Rule("Customer", READ, restricted_fields=frozenset({"tax_id", "credit_limit"})))
	error = world.refused(
		"aggregate_documents", {"doctype": "Customer", **args}, p, user="manager@example.com"
	)
	assert error["decided_by"] == "field rule"
	assert "tax_id" in error["message"] or "credit_limit" in error["message"]


def test_sum_needs_a_number_field_and_bad_input_is_named(world):
	p = profile(Rule("Customer", READ))
	error = world.refused(
		"aggregate_documents",
		{"doctype": "Customer", "aggregates": [{"function": "sum", "field": "territory"}]},
		p,
	)
	assert (
		error["error"] == "invalid_arguments"
		and "territory" in error["message"]
		and "Link" in error["message"]
	)
	error = world.refused(
		"aggregate_documents", {"doctype": "Customer", "order_by": {"field": "customer_name"}}, p
	)
	assert "neither an aggregate" in error["message"]


def test_list_count_counts_only_what_the_list_may_show(world):
	p = profile(Rule("Customer", READ, conditions=(EGYPT_ONLY,)))
	out, _ = world.ok("list_generic_documents", {"doctype": "Customer", "limit": 1, "with_count": True}, p)
	assert len(out["documents"]) == 1 and out["count"] == 2
	out, _ = world.ok("list_generic_documents", {"doctype": "Customer", "with_count": True}, p)
	assert out["count"] == len(out["documents"]) == 2


# ---------------------------------------------------------------- search_link
def test_search_link_returns_names_inside_the_read_scope(world):
	p = profile(Rule("Customer", READ, conditions=(EGYPT_ONLY,)))
	out, _ = world.ok("search_link", {"doctype": "Customer", "text": "nile"}, p)
	assert out["results"] == [{"name": "CUST-EG-1", "title": "Nile Traders"}]
	out, _ = world.ok("search_link", {"doctype": "Customer", "text": "Delhi"}, p)
	assert out["results"] == []  # exists, but outside the read scope


def test_search_link_is_no_oracle_for_a_hidden_field(world):
	# The backend's search matches territory (a search field); a profile that hides territory must not
	# learn which customers are in "India" from which names come back.
	hidden = profile(Rule("Customer", READ, restricted_fields=frozenset({"territory"})))
	out, _ = world.ok("search_link", {"doctype": "Customer", "text": "India"}, hidden)
	assert out["results"] == []
	visible = profile(Rule("Customer", READ))
	out, _ = world.ok("search_link", {"doctype": "Customer", "text": "India"}, visible)
	assert [r["name"] for r in out["results"]] == ["CUST-IN-1"]


# ---------------------------------------------------------------- run_report
def test_a_report_the_profile_does_not_name_is_refused(world):
	error = world.refused(
		"run_report",
		{"report_name": "Customer Credit", "filters": {"territory": "Egypt"}},
		profile(Rule("Customer", READ)),
	)
	assert error["decided_by"] == "profile rule" and "Customer Credit" in error["message"]


def test_run_report_is_listed_only_when_a_report_is_named():
	def names(p):
		state = CallState(
			backend=MemoryBackend(MemoryStore(), SALES),
			policy=resolve([p]),
			settings=EndpointSettings(enabled=True),
			headers={},
			protocol_version="2025-06-18",
		)
		return {t.name for t in catalogue(state)}

	assert "run_report" not in names(profile(Rule("Customer", READ)))
	assert "run_report" in names(profile(Rule("Customer", READ), reports=["Customer Credit"]))


def test_a_named_report_runs_with_checked_filters_capped_and_said(world):
	p = profile(reports=["Customer Credit"])
	out, state = world.ok(
		"run_report", {"report_name": "Customer Credit", "filters": {"territory": "Egypt"}, "limit": 1}, p
	)
	assert out["total_rows"] == 2 and len(out["rows"]) == 1 and out["truncated"] is True
	assert out["rows"][0] == {"customer": "CUST-EG-1", "customer_name": "Nile Traders", "credit_limit": 50000}
	assert {"fieldname": "credit_limit", "label": "Credit Limit", "fieldtype": "Currency"} in out["columns"]
	assert "1 of 2" in out["note"]
	assert state.audit["doctype"] == "Report" and state.audit["names"] == ["Customer Credit"]


def test_report_filters_are_checked_against_the_definitions(world):
	p = profile(reports=["Customer Credit"])
	error = world.refused("run_report", {"report_name": "Customer Credit", "filters": {"region": "x"}}, p)
	assert "no filter 'region'" in error["message"] and "territory (Territory, Link)" in error["message"]
	error = world.refused("run_report", {"report_name": "Customer Credit"}, p)
	assert 'needs the filter "territory"' in error["message"]
	error = world.refused(
		"run_report",
		{"report_name": "Customer Credit", "filters": {"territory": "Egypt", "min_limit": "lots"}},
		p,
	)
	assert "filters.min_limit: takes a number" in error["message"]


def test_report_columns_can_be_chosen_and_unknown_ones_are_named(world):
	p = profile(reports=["Customer Credit"])
	out, _ = world.ok(
		"run_report",
		{"report_name": "Customer Credit", "filters": {"territory": "India"}, "columns": ["customer"]},
		p,
	)
	assert out["rows"] == [{"customer": "CUST-IN-1"}] and [c["fieldname"] for c in out["columns"]] == [
		"customer"
	]
	error = world.refused(
		"run_report",
		{"report_name": "Customer Credit", "filters": {"territory": "India"}, "columns": ["x"]},
		p,
	)
	assert "no column 'x'" in error["message"]


def test_report_builder_reports_are_pointed_elsewhere(world):
	error = world.refused(
		"run_report", {"report_name": "Customer Ledger Builder"}, profile(reports=["Customer Ledger Builder"])
	)
	assert "list_generic_documents" in error["message"]


def test_checked_filters_use_defaults_and_types():
	definition = {
		"name": "R",
		"filters": [
			{
				"fieldname": "company",
				"label": "Company",
				"fieldtype": "Link",
				"options": "Company",
				"reqd": True,
				"default": "ACME",
			},
			{
				"fieldname": "on",
				"label": "On",
				"fieldtype": "Date",
				"options": None,
				"reqd": False,
				"default": None,
			},
			{
				"fieldname": "mode",
				"label": "Mode",
				"fieldtype": "Select",
				"options": "\nA\nB",
				"reqd": False,
				"default": None,
			},
			{
				"fieldname": "cc",
				"label": "CC",
				"fieldtype": "MultiSelectList",
				"options": None,
				"reqd": False,
				"default": None,
			},
		],
	}
	assert checked_filters(definition, {"on": "2026-12-01", "cc": "Main"}) == {
		"company": "ACME",
		"on": "2026-12-01",
		"cc": ["Main"],
	}
	for bad in ({"on": "yesterday"}, {"mode": "C"}, {"company": ["a"]}):
		with pytest.raises(Exception) as e:
			checked_filters(definition, bad)
		assert type(e.value).__name__ == "InvalidArguments"


# ---------------------------------------------------------------- make_document
SO_ARGS = {"source_doctype": "Sales Order", "source_name": "SO-0001", "target_doctype": "Sales Invoice"}


def test_conversion_returns_a_draft_and_saves_nothing(world):
	p = profile(Rule("Sales Order", READ), Rule("Sales Invoice", frozenset({"read", "create"})))
	before = len(world.store.docs["Sales Invoice"])
	out, _ = world.ok("make_document", SO_ARGS, p)
	assert out["saved"] is False and out["document"]["customer"] == "CUST-EG-1"
	assert len(world.store.docs["Sales Invoice"]) == before
	saved, state = world.ok("make_document", {**SO_ARGS, "save": True}, p)
	assert saved["docstatus"] == 0 and saved["name"] in world.store.docs["Sales Invoice"]
	assert state.audit["names"] == ["SO-0001", saved["name"]]


def test_a_conversion_whose_target_may_not_be_created_is_refused_and_saves_nothing(world):
	p = profile(Rule("Sales Order", READ), Rule("Sales Invoice", READ))
	before = json.dumps(world.store.docs, sort_keys=True, default=str)
	error = world.refused("make_document", {**SO_ARGS, "save": True}, p)
	assert error["decided_by"] == "profile rule" and '"create"' in error["message"]
	assert json.dumps(world.store.docs, sort_keys=True, default=str) == before


def test_a_conversion_meets_the_targets_create_conditions(world):
	only_in = Condition("customer", "=", "CUST-IN-1", applies_to=frozenset({"create"}))
	p = profile(
		Rule("Sales Order", READ), Rule("Sales Invoice", frozenset({"read", "create"}), conditions=(only_in,))
	)
	before = len(world.store.docs["Sales Invoice"])
	error = world.refused("make_document", {**SO_ARGS, "save": True}, p)
	assert error["decided_by"] == "condition"
	assert len(world.store.docs["Sales Invoice"]) == before
	out, _ = world.ok("make_document", {**SO_ARGS, "source_name": "SO-0002", "save": True}, p)
	assert out["document"]["customer"] == "CUST-IN-1"


def test_a_source_outside_the_read_scope_is_not_found_like_a_missing_one(world):
	scope = Condition("customer", "=", "CUST-IN-1", applies_to=frozenset({"read"}))
	p = profile(
		Rule("Sales Order", READ, conditions=(scope,)), Rule("Sales Invoice", frozenset({"read", "create"}))
	)
	hidden = world.refused("make_document", SO_ARGS, p)
	missing = world.refused("make_document", {**SO_ARGS, "source_name": "SO-NOPE"}, p)
	assert hidden["error"] == missing["error"] == "not_found"
	assert hidden["message"].replace("SO-0001", "X") == missing["message"].replace("SO-NOPE", "X")


def test_values_the_target_rule_restricts_are_refused(world):
	p = profile(
		Rule("Sales Order", READ),
		Rule("Sales Invoice", frozenset({"read", "create"}), restricted_fields=frozenset({"posting_date"})),
	)
	error = world.refused("make_document", {**SO_ARGS, "values": {"posting_date": "2026-12-01"}}, p)
	assert error["decided_by"] == "field rule" and "posting_date" in error["message"]


def test_an_unlisted_conversion_names_the_allowed_ones(world):
	p = profile(Rule("Sales Order", READ), Rule("Sales Invoice", frozenset({"read", "create"})))
	result, _ = world.call("make_document", {**SO_ARGS, "target_doctype": "Purchase Receipt"}, p)
	assert result.get("isError")
	assert "Purchase Order → Purchase Receipt" in text(result)


def test_make_document_is_listed_only_where_some_conversion_is_allowed():
	def names(*rules):
		state = CallState(
			backend=MemoryBackend(MemoryStore(), SALES),
			policy=resolve([profile(*rules)]),
			settings=EndpointSettings(enabled=True),
			headers={},
			protocol_version="2025-06-18",
		)
		return {t.name for t in catalogue(state)}

	create = frozenset({"read", "create"})
	assert "make_document" not in names(Rule("Customer", create), Rule("Sales Invoice", create))
	assert "make_document" not in names(Rule("Sales Order", create), Rule("Sales Invoice", READ))
	assert "make_document" in names(Rule("Sales Order", READ), Rule("Sales Invoice", create))


def test_hidden_values_carried_names_top_level_and_child_fields():
	from erpnext_mcp.server.tools.conversions import hidden_values_carried
	from tests.memory_backend import META

	backend = MemoryBackend(MemoryStore(), "manager@example.com")
	p = profile(
		Rule("Customer", READ, restricted_fields=frozenset({"tax_id", "territory"})),
		Rule("Supplier", frozenset({"read", "create"})),
	)
	state = CallState(
		backend=backend,
		policy=resolve([p]),
		settings=EndpointSettings(enabled=True),
		headers={},
		protocol_version="2025-06-18",
	)
	stored = {"name": "C1", "customer_name": "X", "tax_id": "T-1", "territory": "Egypt"}
	# A made-up mapping into Supplier that copied tax_id (same value) and territory (changed).
	draft = {"supplier_name": "X", "tax_id": "T-1", "territory": "India"}
	supplier = dataclasses_replace_fields(META["Supplier"], ["tax_id", "territory"])
	assert hidden_values_carried(state, backend.describe("Customer"), stored, supplier, draft) == ["tax_id"]


def dataclasses_replace_fields(info, extra):
	import copy

	from erpnext_mcp.data.backend import FieldInfo

	out = copy.copy(info)
	out.fields = [*info.fields, *(FieldInfo(f, f.title(), "Data") for f in extra)]
	out.all_fieldnames = frozenset(f.fieldname for f in out.fields)
	return out
