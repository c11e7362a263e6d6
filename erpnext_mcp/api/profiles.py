"""Whitelisted methods for administrators: import the seed config.json permission block as a profile,
and "Test this profile" (the explain_access tool's engine, run for a chosen user)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import frappe
from frappe import _

from erpnext_mcp.data.profiles import profile_to_rows
from erpnext_mcp.policy import OPERATIONS, import_seed


@frappe.whitelist(methods=["POST"])
def import_seed_config(
	config: str, profile_name: str, roles: str | None = None, users: str | None = None
) -> dict:
	"""Create (or replace) the profile `profile_name` from a config.json text; report what was not mapped."""
	frappe.only_for("System Manager")
	return import_seed_into_profile(config, profile_name, roles=roles, users=users)


def import_seed_into_profile(config: str, profile_name: str, *, roles=None, users=None) -> dict:
	try:
		data = json.loads(config) if isinstance(config, str) else config
	except ValueError as e:
		frappe.throw(_("The configuration is not valid JSON: {0}").format(e))
	profile, messages = import_seed(data, profile_name)
	rows = profile_to_rows(profile)
	# Rules for DocTypes this site does not have cannot be saved; they are reported, not dropped silently.
	missing = [
		r["document_type"] for r in rows["rules"] if not frappe.db.exists("DocType", r["document_type"])
	]
	for doctype in missing:
		messages.append(f"{doctype}: no such DocType on this site; its rule was not imported")
	rows["rules"] = [r for r in rows["rules"] if r["document_type"] not in missing]
	rows["conditions"] = [c for c in rows["conditions"] if c["document_type"] not in missing]
	if frappe.db.exists("MCP Permission Profile", profile_name):
		doc = frappe.get_doc("MCP Permission Profile", profile_name)
		doc.set("rules", [])
		doc.set("conditions", [])
	else:
		doc = frappe.new_doc("MCP Permission Profile")
		doc.profile_name = profile_name
	doc.update({"rules": rows["rules"], "conditions": rows["conditions"]})
	for role in _lines(roles):
		if role not in {r.role for r in doc.roles}:
			doc.append("roles", {"role": role})
	for user in _lines(users):
		if user not in {u.user for u in doc.users}:
			doc.append("users", {"user": user})
	doc.description = doc.description or _("Imported from config.json")
	doc.save()
	return {
		"profile": doc.name,
		"rules": len(doc.rules),
		"conditions": len(doc.conditions),
		"unmapped": messages,
	}


def _lines(text) -> list[str]:
	if not text:
		return []
	if isinstance(text, list):
		return [str(t).strip() for t in text if str(t).strip()]
	return [t.strip() for t in str(text).replace(",", "\n").splitlines() if t.strip()]


# ---------------------------------------------------------------- Test this profile


@frappe.whitelist(methods=["POST"])
def test_profile(
	profile: str,
	user: str,
	doctype: str,
	operation: str,
	name: str | None = None,
	fieldname: str | None = None,
	only_this_profile: bool = False,
) -> dict:
	"""Would `user`'s agent be allowed `operation` on `doctype` (optionally one document or field)?

	The answer of the explain_access tool, layer by layer, computed by the same code as that user:
	with every profile that applies to the user as saved (what the agent really gets), or with
	`only_this_profile` as if `profile` (as saved) were the only one.
	"""
	frappe.only_for("System Manager")
	return explain_for_user(
		profile,
		user,
		doctype,
		operation,
		name=name or None,
		fieldname=fieldname or None,
		only_this_profile=bool(only_this_profile),
	)


def explain_for_user(
	profile_name: str,
	user: str,
	doctype: str,
	operation: str,
	*,
	name: str | None = None,
	fieldname: str | None = None,
	only_this_profile: bool = False,
) -> dict:
	from erpnext_mcp.data.frappe_backend import FrappeBackend
	from erpnext_mcp.data.profiles import policy_for, profile_from_doc, profiles_for
	from erpnext_mcp.data.settings import administrator_allowed, load_settings
	from erpnext_mcp.exceptions import ToolError
	from erpnext_mcp.policy import resolve
	from erpnext_mcp.server import tools
	from erpnext_mcp.server.context import CallState

	if operation not in OPERATIONS:
		frappe.throw(_("Operation must be one of {0}").format(", ".join(OPERATIONS)))
	profile = frappe.get_doc("MCP Permission Profile", profile_name)
	profile.check_permission("read")
	if not frappe.db.exists("User", user):
		frappe.throw(_("User {0} does not exist").format(frappe.bold(user)))

	settings = load_settings()
	notes = []
	if not settings.enabled:
		notes.append(_("The MCP server is disabled on this site (MCP Settings): every client gets 503 now."))
	if not frappe.db.get_value("User", user, "enabled"):
		notes.append(_("{0} is disabled: ERPNext refuses its API keys and tokens.").format(user))
	if user == "Administrator" and not administrator_allowed():
		notes.append(_("MCP Settings refuse the Administrator user: its agent gets no answer at all."))
	applying = profiles_for(user)
	applies = _how_profile_applies(profile, user, applying)
	if only_this_profile:
		mode = _("only this profile, as saved")
	else:
		mode = _("every profile that applies to {0}, as saved").format(user)
		if applies is None:
			notes.append(
				_(
					"This profile does not apply to {0} ({1}); the answer is what the user's agent gets "
					"without it. Tick 'Only this profile' to test its rules alone."
				).format(user, _("disabled") if not profile.enabled else _("not named by user or role"))
			)

	with acting_as(user):
		policy = resolve([profile_from_doc(profile, "user")]) if only_this_profile else policy_for(user)
		state = CallState(
			backend=FrappeBackend(),
			policy=policy,
			settings=settings,
			headers={},
			protocol_version="desk",
		)
		args = {"doctype": doctype, "operation": operation}
		if name:
			args["name"] = name
		if fieldname:
			args["fieldname"] = fieldname
		try:
			result = tools.explain_access(state, args, for_administrator=True)
		except ToolError as e:
			error = e.message
		else:
			error = None
	if error:
		frappe.throw(error, title=_("Cannot explain"))
	result.update(
		{
			"user": user,
			"profile": profile.name,
			"only_this_profile": only_this_profile,
			"mode": mode,
			"applies": applies,
			"profiles": [p.name for p in applying] if not only_this_profile else [profile.name],
			"notes": notes,
		}
	)
	return result


def _how_profile_applies(profile, user: str, applying) -> str | None:
	"""In words, how `profile` reaches `user` (None: it does not)."""
	for p in applying:
		if p.name == profile.name:
			if p.via == "user":
				return _("assigned to {0} directly").format(user)
			if p.via == "role":
				roles = set(frappe.get_roles(user)) & {r.role for r in profile.roles}
				return _("through the role {0}").format(", ".join(sorted(roles)))
			return _("as MCP Settings' default profile")
	return None


@contextlib.contextmanager
def acting_as(user: str) -> Iterator[None]:
	"""Run as `user` inside the administrator's request, then restore the administrator's session
	exactly (frappe.set_user alone would overwrite the session's id and data, which Frappe saves
	after the request)."""
	session = frappe.local.session
	saved = (session.user, session.get("sid"), session.get("data"))
	form_dict = frappe.local.form_dict
	messages = len(getattr(frappe.local, "message_log", None) or [])
	frappe.set_user(user)
	try:
		yield
	finally:
		session.user, session.sid, session.data = saved
		frappe.local.form_dict = form_dict
		frappe.local.cache = {}
		frappe.local.role_permissions = {}
		frappe.local.new_doc_templates = {}
		frappe.local.user_perms = None
		frappe.local.jenv = None
		# Messages Frappe queued while checking as the other user are not the administrator's.
		if getattr(frappe.local, "message_log", None):
			frappe.local.message_log = frappe.local.message_log[:messages]
