"""The one place MCP clients become Frappe OAuth Clients: Dynamic Client Registration (RFC 7591) and
Client ID Metadata Documents (the client_id is an https URL whose JSON names its redirect URIs).

Either way the result is an ordinary OAuth Client record (hash-named, visible in Desk, with the MCP
fields telling how it came), so Frappe's provider and an administrator see one kind of client.
"""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe.utils import get_datetime, now_datetime

from erpnext_mcp.data.oauth import (
	REGISTRATION_CIMD,
	REGISTRATION_DCR,
	allow_http_loopback_metadata,
	oauth_settings,
)
from erpnext_mcp.server import oauth as rules

# A metadata document is fetched again when the copy is older than this (its owner may change it).
METADATA_TTL = timedelta(minutes=5)


FRAPPE_AUTH_METHODS = {
	"none": "None",
	"client_secret_post": "Client Secret Post",
	"client_secret_basic": "Client Secret Basic",
}


def _client_doc(meta: rules.ClientMetadata, doc=None):
	doc = doc or frappe.new_doc("OAuth Client")
	doc.app_name = meta.client_name
	doc.scopes = " ".join(meta.scopes)
	doc.redirect_uris = "\n".join(meta.redirect_uris)
	doc.default_redirect_uri = meta.redirect_uris[0]
	doc.grant_type = "Authorization Code"
	doc.response_type = "Code"
	doc.skip_authorization = 0  # anyone can register: the user always confirms
	doc.mcp_token_endpoint_auth_method = meta.token_endpoint_auth_method
	if doc.meta.has_field("token_endpoint_auth_method"):
		# Frappe v16's own provider reads this field (public clients send no secret).
		doc.token_endpoint_auth_method = FRAPPE_AUTH_METHODS.get(meta.token_endpoint_auth_method, "None")
	return doc


def register(data: object) -> dict:
	"""RFC 7591 registration: a new OAuth Client for the checked metadata; the response body."""
	meta = rules.parse_client_metadata(data)
	doc = _client_doc(meta)
	doc.mcp_registration = REGISTRATION_DCR
	doc.insert(ignore_permissions=True)
	issued_at = int(get_datetime(doc.creation).timestamp())
	body = {"client_id": doc.name, "client_id_issued_at": issued_at, **meta.registration_response()}
	if meta.token_endpoint_auth_method == "client_secret_post":
		body["client_secret"] = doc.client_secret
		body["client_secret_expires_at"] = 0
	return body


def _by_url(url: str) -> str | None:
	return frappe.db.get_value("OAuth Client", {"mcp_client_id_url": url}, "name")


def resolve(client_id: str | None, *, fetch: bool) -> str:
	"""The OAuth Client record name for a client_id as a client sends it. A Client ID Metadata Document
	URL is fetched (when `fetch` and the stored copy is stale) and kept as an OAuth Client; a registered
	client_id is returned as it is. Raises rules.OAuthProblem("invalid_client", reason)."""
	if not client_id or not isinstance(client_id, str):
		raise rules.OAuthProblem("invalid_request", "client_id is missing")
	settings = oauth_settings()
	if rules.looks_like_client_id_url(client_id):
		if not settings.client_id_metadata_documents:
			raise rules.OAuthProblem(
				"invalid_client",
				"This site does not accept Client ID Metadata Documents (MCP Settings). Register the client "
				"instead, or ask an administrator to allow them.",
			)
		name = _by_url(client_id)
		if fetch:
			fetched_at = name and frappe.db.get_value("OAuth Client", name, "mcp_metadata_fetched_at")
			if not fetched_at or get_datetime(fetched_at) + METADATA_TTL < now_datetime():
				name = _store_document(client_id, name)
		if not name:
			raise rules.OAuthProblem("invalid_client", "Unknown client: start the sign-in again.")
		return name
	row = frappe.db.get_value("OAuth Client", client_id, ["name", "mcp_registration"], as_dict=True)
	if not row:
		raise rules.OAuthProblem("invalid_client", "Unknown client_id: register the client first.")
	if row.mcp_registration == REGISTRATION_DCR and not settings.dynamic_client_registration:
		raise rules.OAuthProblem(
			"invalid_client",
			"Dynamically registered clients are turned off on this site (MCP Settings).",
		)
	if row.mcp_registration == REGISTRATION_CIMD:
		raise rules.OAuthProblem("invalid_client", "Use the client's metadata document URL as client_id.")
	return row.name


def _store_document(url: str, name: str | None) -> str:
	data = rules.fetch_client_metadata_document(url, allow_http_loopback=allow_http_loopback_metadata())
	try:
		meta = rules.parse_client_metadata(data, document_url=url)
	except rules.OAuthProblem as e:
		raise rules.OAuthProblem("invalid_client", f"The client metadata document is not usable: {e}")
	doc = frappe.get_doc("OAuth Client", name) if name else None
	doc = _client_doc(meta, doc)
	doc.mcp_registration = REGISTRATION_CIMD
	doc.mcp_client_id_url = url
	doc.mcp_metadata_fetched_at = now_datetime()
	if doc.is_new():
		try:
			doc.insert(ignore_permissions=True)
		except frappe.DuplicateEntryError:
			return _by_url(url)
	else:
		doc.save(ignore_permissions=True)
	frappe.db.commit()  # kept even when this GET request ends without a write-commit
	return doc.name


def public_client_id(name: str) -> str:
	"""The client_id a client knows itself by (its metadata URL for a Client ID Metadata Document)."""
	return frappe.db.get_value("OAuth Client", name, "mcp_client_id_url") or name


UNUSED_CLIENT_AGE = timedelta(days=7)


def delete_unused_clients() -> int:
	"""Daily: OAuth Clients that registered themselves (Dynamic Client Registration or a metadata
	document) more than a week ago and hold no authorization code or token any more. Registration is
	open to anyone, so what nobody uses must not pile up. Frappe's own daily job removes revoked tokens
	and used codes first."""
	cutoff = now_datetime() - UNUSED_CLIENT_AGE
	names = frappe.get_all(
		"OAuth Client",
		filters={"mcp_registration": ["is", "set"], "creation": ["<", cutoff]},
		pluck="name",
	)
	deleted = 0
	for name in names:
		if frappe.db.exists("OAuth Bearer Token", {"client": name}) or frappe.db.exists(
			"OAuth Authorization Code", {"client": name}
		):
			continue
		frappe.delete_doc("OAuth Client", name, ignore_permissions=True, force=True)
		deleted += 1
	frappe.db.commit()
	return deleted
