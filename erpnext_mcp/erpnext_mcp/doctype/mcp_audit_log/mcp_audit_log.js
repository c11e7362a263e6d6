// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.ui.form.on("MCP Audit Log", {
	refresh(frm) {
		frm.disable_save();
		if (frm.doc.document_type && frm.doc.document_names && !frm.doc.document_names.includes("\n")) {
			frm.add_custom_button(__("Open Document"), () =>
				frappe.set_route("Form", frm.doc.document_type, frm.doc.document_names)
			);
		}
		if (frm.doc.user) {
			frm.add_custom_button(__("Calls by this User"), () =>
				frappe.set_route("List", "MCP Audit Log", { user: frm.doc.user })
			);
		}
	},
});
