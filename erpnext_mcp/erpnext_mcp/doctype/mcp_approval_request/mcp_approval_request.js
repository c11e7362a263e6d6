// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

// Approve / Reject: the only way a request changes (erpnext_mcp.api.approvals checks the approver role,
// self-approval and the status on the server; the buttons only ask).
frappe.ui.form.on("MCP Approval Request", {
	refresh(frm) {
		frm.disable_save();
		const intro = {
			Pending: __("{0}'s agent waits for your decision. Approved, it runs exactly this call once, as {0}.", [frm.doc.requester]),
			Approved: __("Approved: the agent may now run exactly this call once, before {0}.", [frappe.datetime.str_to_user(frm.doc.expires_at)]),
			Executed: __("Approved and executed."),
			Rejected: __("Rejected: the agent was told why."),
			Expired: __("Expired: nobody decided (or the agent did not run it) in time. The agent must ask again."),
		}[frm.doc.status];
		if (intro) frm.set_intro(`<b>${frappe.utils.escape_html(frm.doc.summary || "")}</b><br>${intro}`, frm.doc.status === "Pending" ? "orange" : "blue");
		if (frm.doc.status !== "Pending") return;
		frm.add_custom_button(__("Approve"), () => decide(frm, true)).addClass("btn-primary");
		frm.add_custom_button(__("Reject"), () => {
			frappe.prompt(
				{ fieldname: "note", fieldtype: "Small Text", label: __("Reason (the agent is told)") },
				(values) => decide(frm, false, values.note),
				__("Reject this call"),
				__("Reject")
			);
		});
	},
});

function decide(frm, approve, note) {
	frappe.call({
		method: approve ? "erpnext_mcp.api.approvals.approve" : "erpnext_mcp.api.approvals.reject",
		args: approve ? { name: frm.doc.name } : { name: frm.doc.name, note: note || "" },
		freeze: true,
		callback: () => frm.reload_doc(),
	});
}
