"""Whitelisted methods for administrators: import the seed config.json permission block as a profile."""

from __future__ import annotations

import json

import frappe
from frappe import _

from erpnext_mcp.data.profiles import profile_to_rows
from erpnext_mcp.policy import import_seed


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
