"""The tools' behaviour, table by table, through `run_tool` with the in-memory backend: profile rules
stacked on the backend's ERPNext-like permissions, no leaks, no partial writes."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from erpnext_mcp.policy import Condition, Profile, Rule, import_seed, resolve
from erpnext_mcp.server.app import catalogue, run_tool
from erpnext_mcp.server.context import CallState, EndpointSettings
from erpnext_mcp.server.tools import generic_tools
from tests.memory_backend import MemoryBackend, MemoryStore

SALES = "sales@example.com"
MANAGER = "manager@example.com"

SEED = {
	"permissions": {
		"doctypes": {
			"Customer": {
				"read": True,
				"create": True,
				"update": True,
				"delete": False,
				"allowed_fields": [
					"customer_name",
					"customer_type",
					"territory",
					"disabled",
					"customer_group",
				],
				"restricted_fields": ["tax_id"],
				"conditions": {
					"create": {"customer_type": {"in": ["Company", "Individual"]}},
					"update": {"disabled": {"not_in": [1]}},
				},
			},
			"Sales Invoice": {
				"read": True,
				"create": True,
				"update": True,
				"restricted_fields": ["grand_total"],
			},
			"Sales Invoice Item": {"read": True, "restricted_fields": ["margin"]},
		}
	}
}
ANALYST = {
	"permissions": {
		"doctypes": {
			"Customer": {"read": True, "allowed_fields": ["customer_name", "territory"]},
			"Sales Invoice": {"read": True, "allowed_fields": ["customer", "posting_date", "items"]},
		}
	}
}


class World:
	def __init__(self):
		self.store = MemoryStore()
		self.settings = EndpointSettings(enabled=True)

	def state(self, user=SALES, profiles=()):
		return CallState(
			backend=MemoryBackend(self.store, user),
			policy=resolve(profiles),
			settings=self.settings,
			headers={},
			protocol_version="2025-06-18",
		)

	def call(self, name, args, user=SALES, profiles=()):
		state = self.state(user, profiles)
		result = run_tool(state, name, args)
		return result, state


def seed_profile(data=SEED, name="sales user", doctype_tools=frozenset()):
	profile, messages = import_seed(data, name)
	assert messages == []
	if doctype_tools:
		rules = tuple(dataclasses.replace(r, doctype_tools=doctype_tools) for r in profile.rules)
		profile = dataclasses.replace(profile, rules=rules)
	return profile


ALL_KINDS = frozenset({"list", "get", "search", "create", "update", "delete"})


def text(result):
	return "".join(c["text"] for c in result["content"])


@pytest.fixture
def world():
	return World()


# ---------------------------------------------------------------- the seed profiles, as written


def test_analyst_reads_only_allowed_fields(world):
	profile = seed_profile(ANALYST, "read-only analyst")
	res, _ = world.call(
		"get_generic_document", {"doctype": "Customer", "name": "CUST-EG-1"}, profiles=[profile]
	)
	assert set(res["structuredContent"]["document"]) == {"name", "customer_name", "territory"}
	res, _ = world.call("list_generic_documents", {"doctype": "Customer"}, profiles=[profile])
	for row in res["structuredContent"]["documents"]:
		assert set(row) <= {"name", "customer_name", "territory"}
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "X"}},
		profiles=[profile],
	)
	assert res["isError"] and "create" in text(res)


def test_sales_user_create_outside_the_list_is_refused_and_nothing_saved(world):
	before = copy.deepcopy(world.store.docs)
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "Partners", "customer_type": "Partnership"}},
		profiles=[seed_profile()],
	)
	assert res["isError"]
	message = text(res)
	assert "customer_type" in message and "sales user" in message
	assert world.store.docs == before


def test_sales_user_create_inside_the_list_works(world):
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "Fine Co", "customer_type": "Company"}},
		profiles=[seed_profile()],
	)
	assert not res.get("isError"), text(res)
	assert res["structuredContent"]["document"]["customer_name"] == "Fine Co"


@pytest.mark.parametrize("dodge", ["Partnership ", "PARTNERSHIP", " partnership"])
def test_condition_cannot_be_dodged_by_case_or_whitespace(world, dodge):
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "Dodge", "customer_type": dodge}},
		profiles=[seed_profile()],
	)
	assert res["isError"]


def test_update_of_disabled_customer_is_refused(world):
	before = copy.deepcopy(world.store.docs)
	res, _ = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-2", "values": {"territory": "India"}},
		profiles=[seed_profile()],
	)
	assert res["isError"]
	assert "disabled" in text(res) and "stored document" in text(res)
	assert world.store.docs == before


def test_update_into_a_forbidden_state_is_refused(world):
	res, _ = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "values": {"disabled": 1}},
		profiles=[seed_profile()],
	)
	assert res["isError"]
	assert "after this update" in text(res)
	assert world.store.docs["Customer"]["CUST-EG-1"]["disabled"] == 0


def test_delete_is_refused_by_the_profile_even_for_a_manager(world):
	res, _ = world.call(
		"delete_generic_document",
		{"doctype": "Customer", "name": "CUST-IN-1"},
		user=MANAGER,
		profiles=[seed_profile()],
	)
	assert res["isError"]
	assert "delete" in text(res) and "sales user" in text(res)
	assert "CUST-IN-1" in world.store.docs["Customer"]


def test_profile_allowing_more_than_erpnext_is_still_held_by_erpnext(world):
	everything = Profile(
		name="generous",
		rules=(Rule(doctype="Customer", operations=frozenset({"read", "create", "update", "delete"})),),
	)
	res, _ = world.call(
		"delete_generic_document", {"doctype": "Customer", "name": "CUST-IN-1"}, profiles=[everything]
	)
	assert res["isError"]
	assert "ERPNext" in text(res)
	assert "CUST-IN-1" in world.store.docs["Customer"]


# ---------------------------------------------------------------- restricted fields never leak


LEAKS = [
	("get", {"doctype": "Customer", "name": "CUST-EG-1"}),
	("list", {"doctype": "Customer"}),
	("list", {"doctype": "Customer", "fields": ["tax_id"]}),
	("list", {"doctype": "Customer", "filters": {"tax_id": "EG-1"}}),
	("list", {"doctype": "Customer", "filters": [{"field": "tax_id", "op": "like", "value": "EG%"}]}),
	("list", {"doctype": "Customer", "order_by": {"field": "tax_id", "direction": "asc"}}),
	("search", {"doctype": "Customer", "query": "EG-1"}),
	("search", {"doctype": "Customer", "query": "Nile", "filters": {"tax_id": "EG-1"}}),
	("get", {"doctype": "Customer", "name": "CUST-EG-1", "fields": ["tax_id"]}),
]


@pytest.mark.parametrize("tool,args", LEAKS)
def test_restricted_field_never_leaks(world, tool, args):
	name = {
		"get": "get_generic_document",
		"list": "list_generic_documents",
		"search": "search_generic_documents",
	}[tool]
	res, _ = world.call(name, args, profiles=[seed_profile()])
	blob = json.dumps(res)
	assert "tax_id" not in json.dumps(res.get("structuredContent", {}))
	assert "EG-1" not in blob.replace("CUST-EG-1", "")
	if any(k in args for k in ("fields", "filters", "order_by")):
		assert res["isError"], "naming a restricted field is refused, never dropped silently"
		assert "tax_id" in text(res)


def test_child_table_fields_follow_the_child_rule(world):
	res, _ = world.call(
		"get_generic_document", {"doctype": "Sales Invoice", "name": "SINV-0001"}, profiles=[seed_profile()]
	)
	doc = res["structuredContent"]["document"]
	assert "grand_total" not in doc
	assert doc["items"] and all("margin" not in row for row in doc["items"])
	assert all("rate" in row for row in doc["items"])


def test_write_naming_a_restricted_child_field_is_refused_whole(world):
	before = copy.deepcopy(world.store.docs)
	res, _ = world.call(
		"create_generic_document",
		{
			"doctype": "Sales Invoice",
			"values": {"customer": "CUST-EG-1", "items": [{"item_code": "X", "qty": 1, "margin": 5}]},
		},
		profiles=[seed_profile()],
	)
	assert res["isError"] and "margin" in text(res)
	assert world.store.docs == before


def test_write_naming_a_restricted_field_is_refused_with_the_field_named(world):
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "T", "customer_type": "Company", "tax_id": "X"}},
		profiles=[seed_profile()],
	)
	assert res["isError"] and "tax_id" in text(res)


def test_read_conditions_are_row_filters_on_every_read(world):
	egypt_only = Profile(
		name="egypt",
		rules=(
			Rule(
				doctype="Customer",
				operations=frozenset({"read"}),
				conditions=(
					Condition(
						fieldname="territory", operator="=", value="Egypt", applies_to=frozenset({"read"})
					),
				),
			),
		),
	)
	res, _ = world.call(
		"list_generic_documents", {"doctype": "Customer", "limit": 100}, profiles=[egypt_only]
	)
	assert {d["name"] for d in res["structuredContent"]["documents"]} == {"CUST-EG-1", "CUST-EG-2"}
	res, _ = world.call(
		"search_generic_documents", {"doctype": "Customer", "query": "Delhi"}, profiles=[egypt_only]
	)
	assert res["structuredContent"]["documents"] == []
	res, _ = world.call(
		"get_generic_document", {"doctype": "Customer", "name": "CUST-IN-1"}, profiles=[egypt_only]
	)
	assert res["isError"] and "Delhi" not in text(res)


# ---------------------------------------------------------------- hostile query arguments


@pytest.mark.parametrize(
	"args",
	[
		{"fields": ["name, (select password from tabUser)"]},
		{"fields": ["`tabUser`.`name`"]},
		{"fields": ["count(*)"]},
		{"fields": ["tabCustomer.name"]},
		{"filters": [["name", "= 1 or 1=1 --", "x"]]},
		{"filters": "name = 'x' or 1=1"},
		{"filters": [{"field": "sleep(5)", "op": "=", "value": 1}]},
		{"order_by": "name; drop table tabCustomer"},
		{"order_by": {"field": "name desc, (select 1)", "direction": "asc"}},
		{"order_by": {"field": "name", "direction": "desc; drop"}},
		{"limit": 0},
		{"limit": 100000},
		{"start": -1},
		{"ignore_permissions": True},
		{"user": "Administrator"},
		{"debug": True},
	],
)
def test_hostile_list_arguments_are_refused(world, args):
	res, _ = world.call("list_generic_documents", {"doctype": "Customer", **args}, profiles=[seed_profile()])
	assert res["isError"], args
	assert "structuredContent" not in res


@pytest.mark.parametrize(
	"values",
	[
		{"name": "CUST-EVIL"},
		{"owner": "Administrator"},
		{"docstatus": 1},
		{"modified": "2000-01-01"},
		{"__islocal": 1},
		{"flags": {"ignore_permissions": True}},
		{"idx": 3},
		{"parent": "x"},
	],
)
def test_system_fields_cannot_be_written(world, values):
	res, _ = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "values": values},
		profiles=[seed_profile()],
	)
	assert res["isError"]


# ---------------------------------------------------------------- catalogue


def test_per_doctype_tools_are_off_unless_a_rule_names_them(world):
	names = [t.name for t in catalogue(world.state(profiles=[seed_profile()]))]
	assert not [n for n in names if "customer" in n or "sales_invoice" in n], names
	only_list = seed_profile(doctype_tools=frozenset({"list", "get"}))
	names = [t.name for t in catalogue(world.state(profiles=[only_list]))]
	assert {"list_customer_documents", "get_customer_document"} <= set(names)
	assert "create_customer_document" not in names and "search_customer_documents" not in names


def test_tool_list_is_deterministic(world):
	profile = seed_profile(doctype_tools=ALL_KINDS)
	first = [t.as_wire() for t in catalogue(world.state(profiles=[profile]))]
	again = [t.as_wire() for t in catalogue(world.state(profiles=[profile]))]
	assert first == again


def test_max_tools_caps_the_list_and_test_connection_names_what_was_left_out(world):
	profile = seed_profile(doctype_tools=ALL_KINDS)
	uncapped = [t.name for t in catalogue(world.state(profiles=[profile]))]
	world.settings.max_tools = len(uncapped) - 2
	capped = [t.name for t in catalogue(world.state(profiles=[profile]))]
	assert capped == uncapped[:-2]
	res, _ = world.call("test_connection", {}, profiles=[profile])
	out = res["structuredContent"]
	assert out["tools_omitted"] == uncapped[-2:]
	assert "left out" in out["tools_note"]
	# A capped tool is not callable either (tools/list and tools/call share one plan).
	from erpnext_mcp.server import sdk

	with pytest.raises(Exception) as caught:
		world.call(uncapped[-1], {"name": "CUST-EG-1"}, profiles=[profile])
	assert sdk.is_protocol_error(caught.value)


def test_per_doctype_tools_follow_the_profile(world):
	state = world.state(profiles=[seed_profile(doctype_tools=ALL_KINDS)])
	names = [t.name for t in catalogue(state)]
	assert "list_customer_documents" in names
	assert "create_customer_document" in names
	assert "delete_customer_document" not in names  # the profile refuses delete
	assert "delete_generic_document" not in names  # no DocType grants delete
	create = next(t for t in catalogue(state) if t.name == "create_customer_document")
	props = create.input_schema["properties"]["values"]["properties"]
	assert "tax_id" not in props and "credit_limit" not in props  # restricted; permlevel
	assert set(props) <= {"customer_name", "customer_type", "territory", "disabled", "customer_group"}


def test_per_doctype_tools_can_be_switched_off(world):
	world.settings.per_doctype_tools = False
	state = world.state(profiles=[seed_profile(doctype_tools=ALL_KINDS)])
	generic = {t.name for t in generic_tools(state)}
	names = [t.name for t in catalogue(state)]
	assert names and set(names) <= generic


def test_per_doctype_tool_call_matches_generic(world):
	profile = seed_profile(doctype_tools=ALL_KINDS)
	a, _ = world.call("list_customer_documents", {"fields": ["customer_name"]}, profiles=[profile])
	b, _ = world.call(
		"list_generic_documents", {"doctype": "Customer", "fields": ["customer_name"]}, profiles=[profile]
	)
	assert a["structuredContent"] == b["structuredContent"]


def test_tool_names_are_bounded_and_unique():
	from erpnext_mcp.server.tools import tool_name

	taken: set[str] = set()
	long = "A Very Long DocType Name That Goes On And On Beyond Every Limit Whatsoever"
	names: list[str] = []
	for dt in ["Sales Invoice", "Sales-Invoice", long, long + " 2"]:
		name = tool_name("list_{}_documents", dt, taken)
		assert len(name) <= 64 and name.replace("_", "").isalnum() and name == name.lower()
		assert name not in taken
		taken.add(name)
		names.append(name)
	assert names[0] == "list_sales_invoice_documents"


def test_explain_access_names_the_rule(world):
	res, _ = world.call(
		"explain_access", {"doctype": "Customer", "operation": "delete"}, profiles=[seed_profile()]
	)
	out = res["structuredContent"]
	assert out["allowed"] is False
	profile_layer = out["layers"][-1]
	assert profile_layer["allowed"] is False and "sales user" in profile_layer["detail"]


def test_submit_and_cancel(world):
	profile = Profile(
		name="billing",
		rules=(Rule(doctype="Sales Invoice", operations=frozenset({"read", "submit", "cancel"})),),
	)
	res, _ = world.call(
		"submit_document", {"doctype": "Sales Invoice", "name": "SINV-0001"}, profiles=[profile]
	)
	assert res["structuredContent"]["docstatus"] == 1
	res, _ = world.call(
		"submit_document", {"doctype": "Sales Invoice", "name": "SINV-0001"}, profiles=[profile]
	)
	assert res["isError"]
	res, _ = world.call(
		"cancel_document", {"doctype": "Sales Invoice", "name": "SINV-0001"}, profiles=[profile]
	)
	assert res["structuredContent"]["docstatus"] == 2


def test_idempotent_create(world):
	profile = seed_profile()
	args = {
		"doctype": "Customer",
		"values": {"customer_name": "Once", "customer_type": "Company"},
		"idempotency_key": "retry-key-123",
	}
	a, _ = world.call("create_generic_document", args, profiles=[profile])
	b, _ = world.call("create_generic_document", args, profiles=[profile])
	assert a["structuredContent"]["name"] == b["structuredContent"]["name"]
	assert sum(1 for d in world.store.docs["Customer"].values() if d["customer_name"] == "Once") == 1


def test_a_rule_for_a_vanished_doctype_does_not_break_the_other_tools(world):
	stale = Profile(
		name="stale",
		rules=(
			Rule(doctype="Customer", operations=frozenset({"read"}), doctype_tools=ALL_KINDS),
			Rule(doctype="Retired DocType", operations=frozenset({"read"}), doctype_tools=ALL_KINDS),
		),
	)
	names = [t.name for t in catalogue(world.state(profiles=[stale]))]
	assert "list_customer_documents" in names
	res, _ = world.call("list_customer_documents", {"fields": ["customer_name"]}, profiles=[stale])
	assert not res.get("isError"), text(res)


def test_listed_and_callable_per_doctype_tools_are_the_same(world):
	"""A tool ERPNext's roles would refuse (Customer delete for a Sales User) is neither listed nor callable."""
	generous = Profile(
		name="generous",
		rules=(Rule(doctype="Customer", operations=frozenset({"read", "delete"}), doctype_tools=ALL_KINDS),),
	)
	names = [t.name for t in catalogue(world.state(profiles=[generous]))]
	assert "delete_customer_document" not in names
	from erpnext_mcp.server import sdk

	with pytest.raises(Exception) as caught:
		world.call("delete_customer_document", {"name": "CUST-IN-1"}, profiles=[generous])
	assert sdk.is_protocol_error(caught.value) and "Unknown tool" in str(caught.value)
	assert "CUST-IN-1" in world.store.docs["Customer"]


def test_a_refused_write_still_names_its_fields_for_the_audit(world):
	res, state = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "values": {"owner": "Administrator", "territory": "X"}},
		profiles=[seed_profile()],
	)
	assert res["isError"]
	assert {"owner", "territory"} <= state.audit["fields"]
	assert "Administrator" not in state.audit["fields"]  # names, never values


def test_documents_are_compact_unless_asked(world):
	world.store.docs["Customer"]["CUST-EG-1"].update(tax_id="", disabled=0)
	# Every field visible: compacting is about empty values, never about what the profile shows.
	profile = Profile(name="reader", rules=(Rule(doctype="Customer", operations=frozenset({"read"})),))
	res, _ = world.call(
		"get_generic_document", {"doctype": "Customer", "name": "CUST-EG-1"}, profiles=[profile]
	)
	doc = res["structuredContent"]["document"]
	assert "disabled" not in doc and "tax_id" not in doc  # zero and empty are left out
	assert {"name", "docstatus", "modified"} <= set(doc)  # always there, even docstatus 0
	full, _ = world.call(
		"get_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "include_empty": True},
		profiles=[profile],
	)
	assert full["structuredContent"]["document"]["disabled"] == 0
	asked, _ = world.call(
		"get_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "fields": ["disabled"]},
		profiles=[profile],
	)
	assert asked["structuredContent"]["document"]["disabled"] == 0  # a field asked for is kept


def test_child_rows_drop_what_repeats_the_parent(world):
	res, _ = world.call(
		"get_generic_document", {"doctype": "Sales Invoice", "name": "SINV-0001"}, profiles=[seed_profile()]
	)
	row = res["structuredContent"]["document"]["items"][0]
	assert "name" in row and "item_code" in row
	assert not {"owner", "creation", "modified", "modified_by", "docstatus"} & set(row)


def test_describe_is_compact_with_mandatory_fields_first_and_child_columns_inline(world):
	res, _ = world.call("describe_doctype", {"doctype": "Sales Invoice"}, profiles=[seed_profile()])
	out = res["structuredContent"]
	fields = out["fields"]
	assert fields[0]["fieldname"] == "customer" and fields[0]["mandatory"] is True
	assert fields[0]["link"] == "Customer"
	items = next(f for f in fields if f["fieldname"] == "items")
	assert items["child_doctype"] == "Sales Invoice Item"
	assert {c["fieldname"] for c in items["columns"]} == {"item_code", "qty", "rate"}  # margin restricted
	posting = next(f for f in fields if f["fieldname"] == "posting_date")
	assert posting == {"fieldname": "posting_date", "type": "Date"}  # no empty or redundant properties
	assert "grand_total" not in json.dumps(out)  # restricted by the profile: not even named
	full, _ = world.call(
		"describe_doctype", {"doctype": "Sales Invoice", "detail": "full"}, profiles=[seed_profile()]
	)
	assert "module" in full["structuredContent"]
	assert len(text(full)) > len(text(res))
