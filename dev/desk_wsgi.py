"""WSGI entry point for Desk in the browser tests (dev/tier2 → tests_browser/) and for ./dev/demo's site,
never for production.

`frappe.app:application` under gunicorn serves neither /assets nor /files (nginx does that in
production) and picks the site from the Host header. This wraps it so a browser on 127.0.0.1 gets
Desk: /assets from BENCH/sites/assets, /files from the site's public files, and every request pinned
to ERPNEXT_MCP_SITE. Start it with gunicorn's --chdir BENCH/sites (see dev/lib.sh start_desk_gunicorn).
"""

import os

import frappe.app
from werkzeug.middleware.shared_data import SharedDataMiddleware

SITE = os.environ.get("ERPNEXT_MCP_SITE", "mcp.localhost")
SITES = os.path.abspath(os.environ.get("ERPNEXT_MCP_SITES_PATH", "."))

_app = SharedDataMiddleware(
	frappe.app.application,
	{
		"/assets": os.path.join(SITES, "assets"),
		"/files": os.path.join(SITES, SITE, "public", "files"),
	},
)


def application(environ, start_response):
	environ["HTTP_X_FRAPPE_SITE_NAME"] = SITE
	return _app(environ, start_response)
