"""The gate (data/gate.py), table by table and by property: every tool that addresses a document by
name (generic and per-DocType) answers a document outside the profile's read scope exactly as it
answers one that does not exist, changes nothing, and reads out nothing of it."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpnext_mcp.policy import Condition, Profile, Rule, resolve
from erpnext_mcp.server.app import catalogue, run_tool
from erpnext_mcp.server.context import CallState, EndpointSettings
from tests.memory_backend import MemoryBackend, MemoryStore, collate

MANAGER = "manager@example.com"  # Customer: read/write/create/delete; Sales Invoice: + submit/cancel
ALL = frozenset({"read", "create", "update", "delete", "submit", "cancel"})
MISSING = "NO-SUCH-DOC-1"
ALL_KINDS = frozenset({"list", "get", "search", "create", "update", "delete"})


def scoped_profile(*, customer_conditions=None, invoice_conditions=None, leave=False, ops=ALL):
	if customer_conditions is None:
		customer_conditions = (Condition("customer_group", "=", "Commercial", frozenset({"read"})),)
	if invoice_conditions is None:
		invoice_conditions = (Condition("customer", "=", "CUST-EG-1", frozenset({"read"})),)
	return Profile(
		"Scoped",
		(
			Rule(
				"Customer",
				ops,
				conditions=tuple(customer_conditions),
				may_leave_read_scope=leave,
				doctype_tools=ALL_KINDS,
			),
			Rule("Sales Invoice", ops, conditions=tuple(invoice_conditions), doctype_tools=ALL_KINDS),
		),
	)


class World:
	def __init__(self):
		self.store = MemoryStore()
		self.settings = EndpointSettings(enabled=True)
		invoices = self.store.docs["Sales Invoice"]
		hidden = copy.deepcopy(invoices["SINV-0001"])
		hidden.update(name="SINV-0002", customer="CUST-EG-2")
		invoices["SINV-0002"] = hidden
		submitted = copy.deepcopy(hidden)
		submitted.update(name="SINV-0003", docstatus=1)
		invoices["SINV-0003"] = submitted

	def state(self, profiles):
		return CallState(
			backend=MemoryBackend(self.store, MANAGER),
			policy=resolve(profiles),
			settings=self.settings,
			headers={},
			protocol_version="2025-06-18",
		)

	def call(self, name, args, profiles):
		state = self.state(profiles)
		return run_tool(state, name, args), state

	def tool_names(self, profiles):
		return {t.name for t in catalogue(self.state(profiles))}


def text(result):
	return "".join(c["text"] for c in result["content"])


def message(result):
	return json.loads(text(result))["message"]


def masked(result, name):
	return text(result).replace(json.dumps(name)[1:-1], "<NAME>")


# (tool, doctype it addresses, extra arguments): every tool that takes a document name.
GATED_CUSTOMER = [
	("get_generic_document", {"doctype": "Customer"}),
	("update_generic_document", {"doctype": "Customer", "values": {"territory": "India"}}),
	("delete_generic_document", {"doctype": "Customer"}),
	("explain_access", {"doctype": "Customer", "operation": "read"}),
	("explain_access", {"doctype": "Customer", "operation": "update", "fieldname": "customer_group"}),
	("explain_access", {"doctype": "Customer", "operation": "delete"}),
	("get_customer_document", {}),
	("update_customer_document", {"values": {"territory": "India"}}),
	("delete_customer_document", {}),
]
GATED_INVOICE = [
	("get_generic_document", {"doctype": "Sales Invoice"}),
	("update_generic_document", {"doctype": "Sales Invoice", "values": {"posting_date": "2026-11-30"}}),
	("delete_generic_document", {"doctype": "Sales Invoice"}),
	("submit_document", {"doctype": "Sales Invoice"}),
	("cancel_document", {"doctype": "Sales Invoice"}),
	("explain_access", {"doctype": "Sales Invoice", "operation": "submit"}),
	("explain_access", {"doctype": "Sales Invoice", "operation": "cancel"}),
	("get_sales_invoice_document", {}),
	("update_sales_invoice_document", {"values": {"posting_date": "2026-11-30"}}),
]


@pytest.fixture
def world():
	return World()


def test_every_gated_tool_is_in_the_catalogue(world):
	names = world.tool_names([scoped_profile()])
	for tool, _args in GATED_CUSTOMER + GATED_INVOICE:
		assert tool in names


@pytest.mark.parametrize(
	("tool", "args", "outside"),
	[(t, a, "CUST-EG-2") for t, a in GATED_CUSTOMER]
	+ [(t, a, "SINV-0002") for t, a in GATED_INVOICE]
	+ [(t, a, "SINV-0003") for t, a in GATED_INVOICE],
)
def test_outside_the_read_scope_is_answered_as_not_found(world, tool, args, outside):
	before = copy.deepcopy(world.store.docs)
	hidden, _ = world.call(tool, {**args, "name": outside}, [scoped_profile()])
	missing, _ = world.call(tool, {**args, "name": MISSING}, [scoped_profile()])
	assert hidden["isError"] and missing["isError"]
	error = json.loads(text(hidden))
	# "not found", or a refusal that says nothing of any document (the caller's ERPNext roles).
	assert error["error"] == "not_found" or error.get("decided_by") == "ERPNext role permissions", error
	# Byte for byte the same answer, the name aside: no oracle for what the profile hides.
	assert masked(hidden, outside) == masked(missing, MISSING)
	assert world.store.docs == before
	# Nothing of the hidden document is read out (its group, territory, customer).
	for value in ("Individual", "CUST-EG-2"):
		if value != outside:
			assert value not in text(hidden)


@pytest.mark.parametrize(("tool", "args"), GATED_CUSTOMER)
def test_inside_the_read_scope_the_tools_work(world, tool, args):
	res, _ = world.call(tool, {**args, "name": "CUST-EG-1"}, [scoped_profile()])
	assert not res.get("isError"), text(res)


def test_outside_and_missing_audit_differently_but_answer_alike(world):
	_res, hidden = world.call(
		"delete_generic_document", {"doctype": "Customer", "name": "CUST-EG-2"}, [scoped_profile()]
	)
	_res, missing = world.call(
		"delete_generic_document", {"doctype": "Customer", "name": MISSING}, [scoped_profile()]
	)
	assert hidden.audit["result"] == "Denied" and hidden.audit["layer"] == "read conditions"
	assert hidden.audit["rule"].startswith("Customer: condition customer_group")
	assert missing.audit["result"] == "Error" and missing.audit["layer"] is None


def test_update_may_not_move_a_document_out_of_the_read_scope(world):
	before = copy.deepcopy(world.store.docs)
	res, _ = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "values": {"customer_group": "Government"}},
		[scoped_profile()],
	)
	assert res["isError"]
	assert "may not move a document out of the read conditions" in text(res)
	assert world.store.docs == before


def test_an_update_allowed_to_leave_answers_only_the_name(world):
	res, _ = world.call(
		"update_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1", "values": {"customer_group": "Government"}},
		[scoped_profile(leave=True)],
	)
	assert not res.get("isError"), text(res)
	assert res["structuredContent"]["document"] == {"name": "CUST-EG-1"}
	assert "Government" not in text(res) and "Nile Traders" not in text(res)
	assert world.store.docs["Customer"]["CUST-EG-1"]["customer_group"] == "Government"


def test_a_write_without_read_answers_only_the_name(world):
	profile = Profile("WriteOnly", (Rule("Customer", frozenset({"create"})),))
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Customer", "values": {"customer_name": "Blind Co", "customer_type": "Company"}},
		[profile],
	)
	assert not res.get("isError"), text(res)
	out = res["structuredContent"]
	assert set(out["document"]) == {"name"} and "Blind Co" not in text(res)


def test_delete_and_submit_conditions_bind(world):
	delete_only_disabled = Condition("disabled", "=", 1, frozenset({"delete"}))
	res, _ = world.call(
		"delete_generic_document",
		{"doctype": "Customer", "name": "CUST-EG-1"},
		[scoped_profile(customer_conditions=(delete_only_disabled,))],
	)
	assert res["isError"] and "refuses to delete this Customer" in text(res)
	assert "CUST-EG-1" in world.store.docs["Customer"]
	small = Condition("grand_total", "<", 100, frozenset({"update"}))
	res, _ = world.call(
		"submit_document",
		{"doctype": "Sales Invoice", "name": "SINV-0001"},
		[scoped_profile(invoice_conditions=(small,))],
	)
	assert res["isError"] and "refuses to submit this Sales Invoice" in text(res)
	assert world.store.docs["Sales Invoice"]["SINV-0001"]["docstatus"] == 0


def test_read_only_and_set_only_once_fields_are_refused_by_generic_and_per_doctype_tools(world):
	from tests import memory_backend

	for tool, args in [
		("update_generic_document", {"doctype": "Sales Invoice"}),
		("update_sales_invoice_document", {}),
	]:
		res, _ = world.call(
			tool, {**args, "name": "SINV-0001", "values": {"grand_total": 1}}, [scoped_profile()]
		)
		assert res["isError"]
		assert 'field "grand_total" (Grand Total) of Sales Invoice is read-only' in message(res)
	res, _ = world.call(
		"create_generic_document",
		{"doctype": "Sales Invoice", "values": {"customer": "CUST-EG-1", "grand_total": 5}},
		[scoped_profile()],
	)
	assert res["isError"] and 'field "grand_total" (Grand Total) of Sales Invoice is read-only' in message(
		res
	)

	info = memory_backend.META["Customer"]
	original = info.fields
	try:
		info.fields = [type(f)(**{**f.__dict__, "set_only_once": f.fieldname == "tax_id"}) for f in original]
		res, _ = world.call(
			"update_generic_document",
			{"doctype": "Customer", "name": "CUST-EG-1", "values": {"tax_id": "EG-9"}},
			[scoped_profile()],
		)
		assert res["isError"] and 'field "tax_id" (Tax ID) of Customer can only be set' in message(res)
		same, _ = world.call(
			"update_generic_document",
			{"doctype": "Customer", "name": "CUST-EG-1", "values": {"tax_id": "EG-1"}},
			[scoped_profile()],
		)
		assert not same.get("isError"), text(same)
	finally:
		info.fields = original


def test_memory_backend_compares_text_as_the_site_collation_does():
	assert collate("Commercial") == collate("commercial  ") == collate("COMMÉRCIAL")
	assert collate(" Commercial") != collate("Commercial")  # leading spaces count in MariaDB
	store = MemoryStore()
	backend = MemoryBackend(store, MANAGER)
	rows = backend.list_documents(
		"Customer",
		fields=["name"],
		filters=[["customer_group", "=", "commercial "]],
		or_filters=None,
		order_by=None,
		start=0,
		page_length=10,
	)
	assert sorted(r["name"] for r in rows) == ["CUST-EG-1", "CUST-IN-1"]
	assert backend.get_document("Customer", "cust-eg-1")["name"] == "CUST-EG-1"


# ---------------------------------------------------------------- the property

VALUES = {
	"customer_group": ["Commercial", "commercial ", " Commercial", "Commércial", "Government", "", None],
	"territory": ["Egypt", "EGYPT", "India", "india  ", "", None],
	"customer_type": ["Company", "Individual", "company", None],
	"disabled": [0, 1],
}
OPERATORS = ["=", "!=", "in", "not in", "is set", "is not set"]


@st.composite
def read_condition(draw):
	field = draw(st.sampled_from(sorted(VALUES)))
	op = draw(st.sampled_from(OPERATORS))
	pool = [v for v in VALUES[field] if v is not None]
	if op in ("in", "not in"):
		value = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
	elif op in ("is set", "is not set"):
		value = None
	else:
		value = draw(st.sampled_from(pool))
	return Condition(field, op, value, frozenset({"read"}))


@st.composite
def customer(draw, i):
	doc = {field: draw(st.sampled_from(values)) for field, values in VALUES.items()}
	doc["customer_name"] = f"Property Co {i}"
	return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
	conditions=st.lists(read_condition(), min_size=1, max_size=2),
	customers=st.lists(st.integers(0, 10**6), min_size=1, max_size=5).flatmap(
		lambda ids: st.tuples(*[customer(i) for i in range(len(ids))])
	),
)
def test_no_tool_answers_a_document_outside_the_read_scope(conditions, customers):
	world = World()
	docs = world.store.docs["Customer"]
	for i, values in enumerate(customers):
		name = f"PROP-{i}"
		docs[name] = {
			**values,
			"name": name,
			"owner": "Administrator",
			"modified": "2026-11-01 10:00:00.000000",
			"creation": "2026-11-01 10:00:00.000000",
			"modified_by": "Administrator",
			"idx": 0,
			"docstatus": 0,
		}
	profiles = [scoped_profile(customer_conditions=conditions)]
	listed, _ = world.call("list_generic_documents", {"doctype": "Customer", "limit": 100}, profiles)
	assert not listed.get("isError"), text(listed)
	scope = {d["name"] for d in listed["structuredContent"]["documents"]}
	for name in sorted(docs):
		if name in scope:
			continue
		for tool, args in GATED_CUSTOMER:
			before = copy.deepcopy(world.store.docs)
			hidden, _ = world.call(tool, {**args, "name": name}, profiles)
			missing, _ = world.call(tool, {**args, "name": MISSING}, profiles)
			assert masked(hidden, name) == masked(missing, MISSING), (tool, name, text(hidden))
			assert world.store.docs == before
