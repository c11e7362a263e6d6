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
after_request = ["erpnext_mcp.api.mcp.after_request"]
