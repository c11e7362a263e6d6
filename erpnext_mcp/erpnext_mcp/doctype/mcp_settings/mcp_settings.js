// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.ui.form.on("MCP Settings", {
	refresh(frm) {
		frm.set_intro(
			frm.doc.enabled
				? __("The MCP endpoint is on. Clients connect to the Endpoint URL with an API key or OAuth token.")
				: __("The MCP endpoint is off: clients get 503 until you enable it."),
			frm.doc.enabled ? "green" : "orange"
		);
	},
});
