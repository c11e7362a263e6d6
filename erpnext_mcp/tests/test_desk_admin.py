"""What the administrator's Desk relies on, on a real site: "Test this Profile" gives the explain_access
tool's answer for the chosen user and leaves the administrator's session as it was; profiles travel as
fixtures (export-fixtures → migrate's sync); the MCP workspace, its number cards and its
"connect a client" block are installed by migrate."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from unittest import mock

import frappe

from erpnext_mcp.api.profiles import explain_for_user, test_profile
from erpnext_mcp.tests.test_endpoint import make_customer
from erpnext_mcp.tests.utils import (
	SALES_USER,
	TEST_USERS,
	InProcessClient,
	IntegrationTestCase,
	enable_mcp,
	ensure_profile,
	ensure_user,
	rule,
)

DESK_USER = "mcp-desk-test@example.com"
DESK_ROLE = "MCP Desk Test Role"
PROFILE = "Desk Test Profile"
OTHER = "Desk Test Other"
FIXTURE_PROFILE = "Desk Test Fixture Profile"
CUSTOMER = "MCP Desk Test Customer"


def ensure_role(name: str) -> str:
	if not frappe.db.exists("Role", name):
		frappe.get_doc({"doctype": "Role", "role_name": name, "desk_access": 1}).insert(
			ignore_permissions=True
		)
	return name


class TestTestThisProfile(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		ensure_role(DESK_ROLE)
		ensure_user(DESK_USER, ["Sales User", DESK_ROLE])
		for email, roles in TEST_USERS.items():
			ensure_user(email, roles)
		enable_mcp()
		make_customer(CUSTOMER)
		# Only this suite's role and user: the profiles never touch the other suites' users.
		ensure_profile(
			PROFILE,
			roles=[DESK_ROLE],
			priority=20,
			rules=[rule("Customer", "read,update", allowed_fields="customer_name, territory, disabled")],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Read",
					"fieldname": "disabled",
					"operator": "=",
					"value": "0",
				}
			],
		)
		ensure_profile(OTHER, users=[DESK_USER], priority=30, rules=[rule("Customer", "read,create")])
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.set_user("Administrator")
		for name in (PROFILE, OTHER):
			frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		frappe.set_user("Administrator")

	def tearDown(self):
		frappe.set_user("Administrator")

	def tool_answer(self, args: dict) -> dict:
		result = InProcessClient(DESK_USER).call("explain_access", args)
		assert not result.get("isError"), result
		return result["structuredContent"]

	def test_same_layers_as_the_explain_access_tool(self):
		for args in (
			{"doctype": "Customer", "operation": "read"},
			{"doctype": "Customer", "operation": "create"},
			{"doctype": "Customer", "operation": "delete"},
			{"doctype": "Customer", "operation": "read", "fieldname": "tax_id"},
			{"doctype": "Customer", "operation": "read", "name": CUSTOMER},
			{"doctype": "Supplier", "operation": "read"},
		):
			with self.subTest(**args):
				mine = explain_for_user(
					PROFILE,
					DESK_USER,
					args["doctype"],
					args["operation"],
					name=args.get("name"),
					fieldname=args.get("fieldname"),
				)
				tool = self.tool_answer(args)
				self.assertEqual(mine["layers"], tool["layers"])
				self.assertEqual(mine["allowed"], tool["allowed"])

	def test_effective_profiles_versus_only_this_profile(self):
		# The user's agent gets OTHER's Customer rule (higher priority): create allowed, update not.
		effective = explain_for_user(PROFILE, DESK_USER, "Customer", "update")
		self.assertFalse(effective["allowed"])
		self.assertEqual(effective["layers"][-1]["profile"], OTHER)
		self.assertIn(PROFILE, effective["profiles"])
		self.assertIn(OTHER, effective["profiles"])
		self.assertIn(DESK_ROLE, effective["applies"])
		# This profile's rules alone: update allowed, and its field rule decides tax_id.
		alone = explain_for_user(PROFILE, DESK_USER, "Customer", "update", only_this_profile=True)
		self.assertTrue(alone["allowed"], alone)
		self.assertEqual(alone["profiles"], [PROFILE])
		field = explain_for_user(
			PROFILE, DESK_USER, "Customer", "read", fieldname="tax_id", only_this_profile=True
		)
		self.assertFalse(field["allowed"])
		denied = [layer for layer in field["layers"] if not layer["allowed"]]
		self.assertEqual([layer["layer"] for layer in denied], ["MCP field rule"])

	def test_a_profile_that_does_not_apply_says_so(self):
		out = explain_for_user(PROFILE, SALES_USER, "Customer", "read")
		self.assertIsNone(out["applies"])
		self.assertTrue(any("does not apply" in note for note in out["notes"]), out["notes"])

	def test_the_administrators_session_is_restored(self):
		session = frappe.local.session
		session.sid = "desk-admin-session-id"
		session.data = frappe._dict({"csrf_token": "keep-me"})
		frappe.local.form_dict = frappe._dict({"cmd": "erpnext_mcp.api.profiles.test_profile"})
		frappe.local.message_log = []
		test_profile(PROFILE, DESK_USER, "Customer", "read", name="no such customer")
		self.assertEqual(frappe.session.user, "Administrator")
		self.assertEqual(frappe.local.session.sid, "desk-admin-session-id")
		self.assertEqual(frappe.local.session.data, {"csrf_token": "keep-me"})
		self.assertEqual(frappe.local.form_dict.cmd, "erpnext_mcp.api.profiles.test_profile")
		self.assertEqual(frappe.local.message_log, [])
		self.assertIn("System Manager", frappe.get_roles())

	def test_only_a_system_manager_may_test(self):
		frappe.set_user(SALES_USER)
		with self.assertRaises(frappe.PermissionError):
			test_profile(PROFILE, DESK_USER, "Customer", "read")

	def test_bad_arguments_are_refused_with_a_message(self):
		with self.assertRaises(frappe.ValidationError):
			explain_for_user(PROFILE, DESK_USER, "Customer", "approve")
		with self.assertRaises(frappe.ValidationError):
			explain_for_user(PROFILE, "nobody@example.com", "Customer", "read")
		with self.assertRaises(frappe.ValidationError):
			explain_for_user(PROFILE, DESK_USER, "Sales Order Item", "read")
		self.assertEqual(frappe.session.user, "Administrator")


class TestProfilesAsFixtures(IntegrationTestCase):
	"""`bench export-fixtures --app erpnext_mcp` and migrate's fixture sync, with the app's fixtures folder
	redirected to a temporary one (the checkout is never written)."""

	def setUp(self):
		frappe.set_user("Administrator")
		ensure_role(DESK_ROLE)
		self.folder = tempfile.mkdtemp(prefix="erpnext-mcp-fixtures-")
		self.fixtures = os.path.join(self.folder, "fixtures")
		real = frappe.get_app_path

		def app_path(app, *parts):
			if app == "erpnext_mcp" and parts and parts[0] == "fixtures":
				return os.path.join(self.folder, *parts)
			return real(app, *parts)

		self.patch = mock.patch("frappe.get_app_path", side_effect=app_path)
		self.patch.start()

	def tearDown(self):
		self.patch.stop()
		shutil.rmtree(self.folder, ignore_errors=True)
		for name in (FIXTURE_PROFILE, OTHER):
			if frappe.db.exists("MCP Permission Profile", name):
				frappe.delete_doc("MCP Permission Profile", name, ignore_permissions=True, force=True)
		frappe.db.commit()

	def test_ticked_profiles_travel_with_their_rules_and_conditions(self):
		from frappe.utils.fixtures import export_fixtures, sync_fixtures

		ensure_profile(
			FIXTURE_PROFILE,
			roles=[DESK_ROLE],
			priority=7,
			rules=[
				rule("Customer", "read,update", allowed_fields="customer_name, customer_type"),
				rule("Sales Order", "read", restricted_fields="discount_amount"),
			],
			conditions=[
				{
					"document_type": "Customer",
					"applies_to": "Create and Update",
					"fieldname": "customer_type",
					"operator": "in",
					"value": "Company\nIndividual",
				}
			],
		)
		frappe.db.set_value("MCP Permission Profile", FIXTURE_PROFILE, "export_as_fixture", 1)
		ensure_profile(OTHER, roles=[DESK_ROLE], rules=[rule("Customer")])  # not ticked: stays home
		frappe.db.commit()
		before = self.shape(FIXTURE_PROFILE)

		export_fixtures(app="erpnext_mcp")
		with open(os.path.join(self.fixtures, "mcp_permission_profile.json")) as f:
			exported = json.load(f)
		self.assertEqual([d["name"] for d in exported], [FIXTURE_PROFILE])
		self.assertTrue(os.path.exists(os.path.join(self.fixtures, "custom_html_block.json")))

		# On "production": the profile is not there (or differs) until migrate syncs the fixtures.
		frappe.delete_doc("MCP Permission Profile", FIXTURE_PROFILE, ignore_permissions=True, force=True)
		frappe.db.commit()
		sync_fixtures(app="erpnext_mcp")
		self.assertEqual(self.shape(FIXTURE_PROFILE), before)

		# Changed locally, synced again: the fixture wins (configuration as code).
		doc = frappe.get_doc("MCP Permission Profile", FIXTURE_PROFILE)
		doc.rules[0].can_delete = 1
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		sync_fixtures(app="erpnext_mcp")
		self.assertEqual(self.shape(FIXTURE_PROFILE), before)

	def test_a_fixture_is_validated_like_a_form(self):
		"""A fixture naming a DocType the site does not have is refused, not imported half."""
		from frappe.utils.fixtures import sync_fixtures

		os.makedirs(self.fixtures)
		with open(os.path.join(self.fixtures, "mcp_permission_profile.json"), "w") as f:
			json.dump(
				[
					{
						"doctype": "MCP Permission Profile",
						"name": FIXTURE_PROFILE,
						"profile_name": FIXTURE_PROFILE,
						"enabled": 1,
						"export_as_fixture": 1,
						"modified": "2026-12-01 10:00:00",
						"rules": [{"document_type": "No Such DocType", "can_read": 1}],
					}
				],
				f,
			)
		with self.assertRaises(frappe.ValidationError):
			sync_fixtures(app="erpnext_mcp")
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("MCP Permission Profile", FIXTURE_PROFILE))

	@staticmethod
	def shape(name: str) -> dict:
		doc = frappe.get_doc("MCP Permission Profile", name)
		return {
			"profile": (doc.profile_name, doc.enabled, doc.priority, doc.export_as_fixture),
			"roles": sorted(r.role for r in doc.roles),
			"rules": [
				(
					r.document_type,
					r.can_read,
					r.can_create,
					r.can_update,
					r.can_delete,
					r.allowed_fields,
					r.restricted_fields,
				)
				for r in doc.rules
			],
			"conditions": [
				(c.document_type, c.applies_to, c.fieldname, c.operator, c.value) for c in doc.conditions
			],
		}


class TestWorkspace(IntegrationTestCase):
	def test_migrate_installs_the_workspace_and_what_it_shows(self):
		from frappe.desk.doctype.number_card.number_card import get_result

		frappe.set_user("Administrator")
		ws = frappe.get_doc("Workspace", "MCP")
		self.assertEqual(ws.module, "ERPNext MCP")
		self.assertEqual({r.role for r in ws.roles}, {"System Manager"})
		blocks = json.loads(ws.content)
		labels = {
			"number_card": {r.label for r in ws.number_cards},
			"chart": {r.label for r in ws.charts},
			"custom_block": {r.label for r in ws.custom_blocks},
			"shortcut": {r.label for r in ws.shortcuts},
			"card": {r.label for r in ws.links if r.type == "Card Break"},
		}
		for block in blocks:
			kind = block["type"]
			if kind in labels:
				# Desk places a block by the label of its row: a block without one shows nothing.
				self.assertIn(block["data"][f"{kind}_name"], labels[kind], block)
		for row in ws.number_cards:
			card = frappe.get_doc("Number Card", row.number_card_name)
			value = get_result(card.as_json(), card.filters_json)
			self.assertIsInstance(value, (int, float), row.number_card_name)
		self.assertTrue(frappe.db.exists("Dashboard Chart", "MCP Calls and Denials per Day"))
		block = frappe.get_doc("Custom HTML Block", "MCP Connect a Client")
		self.assertIn("erpnext_mcp.api.mcp.handle", block.script)
		self.assertIn("data-mcp-url", block.html)
