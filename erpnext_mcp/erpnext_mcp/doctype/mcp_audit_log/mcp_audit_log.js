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
			if (frm.doc.user !== "Guest") {
				frm.add_custom_button(__("User"), () => frappe.set_route("Form", "User", frm.doc.user), __("Open"));
			}
		}
		if (frm.doc.error_log) {
			frm.add_custom_button(
				__("Error Log"),
				() => frappe.set_route("Form", "Error Log", frm.doc.error_log),
				__("Open")
			);
		}
		// Every document the call named, each a link (a list call can name many).
		const names = (frm.doc.document_names || "").split("\n").filter((n) => n && !n.startsWith("... "));
		if (frm.doc.document_type && names.length) {
			const links = names
				.slice(0, 20)
				.map((n) => {
					const href = `/app/${frappe.router.slug(frm.doc.document_type)}/${encodeURIComponent(n)}`;
					return `<a href="${href}">${frappe.utils.escape_html(n)}</a>`;
				})
				.join(", ");
			frm.set_intro(`${__("Documents")}: ${links}${names.length > 20 ? " …" : ""}`, "blue");
		} else {
			frm.set_intro();
		}
	},
});
