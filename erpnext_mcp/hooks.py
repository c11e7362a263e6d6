app_name = "erpnext_mcp"
app_title = "ERPNext MCP"
app_publisher = "erpnext_mcp contributors"
app_description = "Turns an ERPNext site into a secure Model Context Protocol (MCP) server"
app_email = "maintainers@erpnext-mcp.invalid"
app_license = "mit"

# "org/repo" rather than a bare "erpnext": Frappe v15's install-app resolves a bare name by asking
# GitHub's API which org holds it, which fails on servers without internet access. Both bench and
# install-app read "frappe/erpnext" as the erpnext app.
required_apps = ["frappe/erpnext"]

# Whitelisted methods must declare the types of their arguments.
require_type_annotated_api_methods = True
export_python_type_annotations = True

# Frappe answers bad credentials and unparsable bodies before the endpoint runs: turn those answers
# into JSON-RPC errors on the MCP endpoint only.
after_request = ["erpnext_mcp.api.mcp.after_request", "erpnext_mcp.api.oauth.after_request"]

# OAuth 2.1 sign-in for MCP clients (api/oauth.py, data/oauth.py): the MCP fields on Frappe's OAuth
# DocTypes, the /.well-known/ discovery documents (Frappe v15 routes them to the website), MCP tokens
# confined to the MCP endpoint, and codes/tokens bound to the resource they were issued for.
after_install = ["erpnext_mcp.data.oauth.setup_custom_fields"]
# `bench run-tests --app erpnext_mcp` runs only this app's before_tests: on a fresh site, whose setup
# wizard never ran, it completes the setup as ERPNext's own test runs do.
before_tests = "erpnext_mcp.tests.utils.before_tests"
after_migrate = ["erpnext_mcp.data.oauth.setup_custom_fields", "erpnext_mcp.data.cache.after_migrate"]
page_renderer = ["erpnext_mcp.api.oauth.WellKnownRenderer"]
# Frappe v16 answers /.well-known/oauth-* and the 401 challenge itself and publishes its own provider;
# there MCP clients use Frappe's documents, authorize and token endpoints, and only registration
# (loopback redirect URIs, MCP scopes) is this app's. v15 has no such method: the entry is inert.
override_whitelisted_methods = {
	"frappe.integrations.oauth2.register_client": "erpnext_mcp.api.oauth.frappe_register_client"
}
auth_hooks = ["erpnext_mcp.data.oauth.confine_mcp_tokens"]
doc_events = {
	"OAuth Authorization Code": {"before_insert": "erpnext_mcp.data.oauth.on_new_grant"},
	"OAuth Bearer Token": {"before_insert": "erpnext_mcp.data.oauth.on_new_grant"},
	# The read cache (data/cache.py): any write to any DocType ends its cached reads.
	"*": {
		"after_insert": "erpnext_mcp.data.cache.on_write",
		"on_update": "erpnext_mcp.data.cache.on_write",
		"on_change": "erpnext_mcp.data.cache.on_write",
		"on_submit": "erpnext_mcp.data.cache.on_write",
		"on_cancel": "erpnext_mcp.data.cache.on_write",
		"on_update_after_submit": "erpnext_mcp.data.cache.on_write",
		"on_trash": "erpnext_mcp.data.cache.on_write",
		"after_rename": "erpnext_mcp.data.cache.on_write",
	},
}

# MCP Audit Log (audit.py): every request to the endpoint is on record, also those Frappe answers
# itself; queued records and flood summaries are written every scheduler tick; Log Settings deletes
# records older than MCP Settings' retention (kept in sync by MCP Settings).
before_request = ["erpnext_mcp.audit.before_request"]
scheduler_events = {
	# Approval requests nobody decided (or nobody ran) in time expire (data/approvals.py).
	"all": ["erpnext_mcp.audit.flush", "erpnext_mcp.data.approvals.expire_overdue"],
	# Self-registered OAuth clients nobody signed in with for a week are removed.
	"daily": ["erpnext_mcp.data.oauth_clients.delete_unused_clients"],
}
default_log_clearing_doctypes = {"MCP Audit Log": 90}
# An audit record names users, DocTypes and Error Logs; it never keeps them from being deleted.
ignore_links_on_delete = ["MCP Audit Log"]

# Configuration that travels with `bench migrate` (fixtures/): the MCP workspace's "connect a client"
# block, and the MCP Permission Profiles ticked "Export as Fixture" (child rows travel with them).
# `bench --site SITE export-fixtures --app erpnext_mcp` writes them; migrate creates or replaces them.
fixtures = [
	{"dt": "Custom HTML Block", "filters": [["name", "in", ["MCP Connect a Client"]]]},
	{"dt": "MCP Permission Profile", "filters": [["export_as_fixture", "=", 1]]},
]

# MCP Approval Request: read by its requester, the approver role it names and System Managers; written
# only by the app (data/approvals.py) and decided only through api/approvals.py.
has_permission = {"MCP Approval Request": "erpnext_mcp.data.approvals.has_permission"}
permission_query_conditions = {"MCP Approval Request": "erpnext_mcp.data.approvals.query_conditions"}
