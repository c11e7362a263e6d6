"""server/schema_check.py against jsonschema: its "yes" is never wrong, on every tool's real input
schema, for arguments drawn both near the schema and at random; and it says "yes" often enough to
matter (plainly valid arguments skip jsonschema)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpnext_mcp.server import app
from erpnext_mcp.server.app import catalogue
from erpnext_mcp.server.schema_check import compile_schema
from tests.test_toolsnaps import snapshot_state

SPECS = catalogue(snapshot_state())
JSON = st.recursive(
	st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False) | st.text(max_size=8),
	lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
	max_leaves=12,
)


def near(schema) -> st.SearchStrategy:
	"""Values shaped by the schema, with a share of wrong types, sizes and values (the edges)."""
	if not isinstance(schema, dict):
		return JSON
	options = []
	kinds = schema.get("type")
	kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
	if "enum" in schema:
		options.append(st.sampled_from(schema["enum"]))
	if "anyOf" in schema:
		options.extend(near(sub) for sub in schema["anyOf"])
	for kind in kinds:
		if kind == "string":
			low, high = schema.get("minLength", 0), schema.get("maxLength", 12)
			options.append(st.text(min_size=max(low - 1, 0), max_size=min(high + 1, 150)))
		elif kind == "integer":
			low, high = schema.get("minimum", -3), schema.get("maximum", 600)
			options.append(st.integers(low - 1, high + 1) | st.sampled_from([float(low), True]))
		elif kind == "number":
			options.append(st.integers(-3, 3) | st.floats(allow_nan=False))
		elif kind == "boolean":
			options.append(st.booleans() | st.just(1))
		elif kind == "null":
			options.append(st.none())
		elif kind == "array":
			high = schema.get("maxItems", 4)
			options.append(st.lists(near(schema.get("items", {})), max_size=min(high + 1, 6)))
		elif kind == "object" and "properties" in schema:
			props = schema["properties"]
			required = schema.get("required", [])
			options.append(
				st.fixed_dictionaries(
					{k: near(props[k]) for k in required if k in props},
					optional={
						**{k: near(v) for k, v in props.items() if k not in required},
						"unexpected": JSON,
					},
				)
			)
		elif kind == "object":
			options.append(
				st.dictionaries(st.text(max_size=6), JSON, max_size=schema.get("maxProperties", 4) + 1)
			)
	options.append(JSON)
	return st.one_of(options)


def validator_of(spec):
	schema = spec.input_schema
	cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
	return cls(schema)


def test_every_tool_schema_gets_a_fast_check():
	missing = [spec.name for spec in SPECS if compile_schema(spec.input_schema) is None]
	assert missing == []


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_fast_yes_is_never_wrong(spec, data):
	fits = compile_schema(spec.input_schema)
	arguments = data.draw(near(spec.input_schema))
	if fits(arguments):
		assert validator_of(spec).is_valid(arguments), (spec.name, json.dumps(arguments)[:300])


@pytest.mark.parametrize(
	"name, arguments",
	[
		("list_generic_documents", {"doctype": "Customer"}),
		(
			"list_generic_documents",
			{
				"doctype": "Customer",
				"fields": ["name", "customer_name"],
				"filters": [{"field": "customer_name", "op": "like", "value": "A%"}],
				"order_by": {"field": "modified", "direction": "desc"},
				"limit": 20,
			},
		),
		("list_generic_documents", {"doctype": "Customer", "filters": {"territory": "Egypt"}}),
		("get_generic_document", {"doctype": "Customer", "name": "CUST-1"}),
		("create_generic_document", {"doctype": "Customer", "values": {"customer_name": "x"}}),
		("test_connection", {}),
	],
)
def test_plainly_valid_arguments_skip_jsonschema(monkeypatch, name, arguments):
	spec = next(s for s in SPECS if s.name == name)
	assert compile_schema(spec.input_schema)(arguments)
	assert validator_of(spec).is_valid(arguments)
	monkeypatch.setattr(app, "_validator", lambda *_: pytest.fail("jsonschema ran for a plain fit"))
	app.validate_arguments(spec, arguments)


@pytest.mark.parametrize(
	"arguments, words",
	[
		({"doctype": "Customer", "limit": 0}, "limit"),
		({"doctype": "Customer", "limit": True}, "limit"),
		({"doctype": "Customer", "bogus": 1}, "bogus"),
		({"doctype": "Customer", "filters": [{"field": "x", "op": "~", "value": 1}]}, "filters"),
		({}, "doctype"),
	],
)
def test_arguments_that_do_not_fit_still_get_jsonschemas_words(arguments, words):
	spec = next(s for s in SPECS if s.name == "list_generic_documents")
	assert not compile_schema(spec.input_schema)(arguments)
	with pytest.raises(Exception) as refused:
		app.validate_arguments(spec, arguments)
	assert words in str(refused.value)


@pytest.mark.parametrize(
	"schema",
	[
		{"type": "string", "pattern": "^a"},
		{"type": "object", "patternProperties": {"^x": {}}},
		{"oneOf": [{"type": "string"}]},
		{"$ref": "#/$defs/x"},
		{"type": "tuple"},
		{"enum": [1.5, 2]},
		{"enum": [True, "x"]},
		{"type": "array", "items": [{"type": "string"}]},
	],
)
def test_a_schema_outside_the_vocabulary_gets_no_fast_check(schema):
	assert compile_schema(schema) is None


def test_integer_valued_floats_and_booleans_are_left_to_jsonschema():
	fits = compile_schema({"type": "integer", "minimum": 1})
	assert fits(3) and not fits(1.0) and not fits(True) and not fits(0)
	choice = compile_schema({"type": ["integer", "null"], "enum": [0, 1, None]})
	assert choice(1) and choice(None) and not choice(True) and not choice(1.0) and not choice(2)
