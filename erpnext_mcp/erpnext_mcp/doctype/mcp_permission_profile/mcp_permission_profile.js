// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

const MCP_LAYOUT_TYPES = [
	"Section Break", "Column Break", "Tab Break", "HTML", "Button", "Heading", "Fold", "Image",
];

function mcp_fields_of(doctype) {
	return new Promise((resolve) => {
		frappe.model.with_doctype(doctype, () => {
			const fields = frappe.get_meta(doctype).fields.filter(
				(df) => !MCP_LAYOUT_TYPES.includes(df.fieldtype)
			);
			resolve(fields);
		});
	});
}

function mcp_split(text) {
	return (text || "").split(/[\n,]/).map((f) => f.trim()).filter(Boolean);
}

function mcp_pick_fields(frm, cdt, cdn, target) {
	const row = locals[cdt][cdn];
	if (!row.document_type) {
		frappe.msgprint(__("Choose the DocType of this rule first."));
		return;
	}
	mcp_fields_of(row.document_type).then((fields) => {
		const chosen = new Set(mcp_split(row[target]));
		const dialog = new frappe.ui.Dialog({
			title: target === "allowed_fields"
				? __("Allowed fields of {0}", [row.document_type])
				: __("Restricted fields of {0}", [row.document_type]),
			fields: [
				{
					fieldname: "fields",
					fieldtype: "MultiCheck",
					columns: 2,
					options: fields.map((df) => ({
						label: `${__(df.label || df.fieldname)} (${df.fieldname})`,
						value: df.fieldname,
						checked: chosen.has(df.fieldname),
					})),
				},
			],
			primary_action_label: __("Use these fields"),
			primary_action(values) {
				frappe.model.set_value(cdt, cdn, target, (values.fields || []).join(", "));
				dialog.hide();
			},
		});
		dialog.show();
	});
}

function mcp_warnings(frm) {
	frm.dashboard.clear_comment();
	const risky = (frm.doc.rules || []).filter((r) => r.can_delete || r.can_cancel);
	if (risky.length) {
		frm.dashboard.add_comment(
			__("This profile lets agents delete or cancel: {0}. Those actions cannot be undone.", [
				risky.map((r) => r.document_type).join(", "),
			]),
			"orange",
			true
		);
	}
	const opened = (frm.doc.rules || []).filter((r) => r.allow_protected);
	if (opened.length) {
		frm.dashboard.add_comment(
			__("Protected DocTypes opened to agents: {0}. Users, permissions, scripts and logs are protected for a reason.", [
				opened.map((r) => r.document_type).join(", "),
			]),
			"red",
			true
		);
	}
}

function mcp_condition_options(frm, cdt, cdn) {
	const row = locals[cdt][cdn];
	if (!row || !row.document_type) return;
	mcp_fields_of(row.document_type).then((fields) => {
		const options = ["name", "owner", "creation", "modified", ...fields.map((df) => df.fieldname)];
		frm.fields_dict.conditions.grid.update_docfield_property("fieldname", "options", options);
	});
}

frappe.ui.form.on("MCP Permission Profile", {
	refresh(frm) {
		mcp_warnings(frm);
		frm.set_query("document_type", "rules", () => ({ filters: { istable: 0 } }));
	},
});

frappe.ui.form.on("MCP Profile Rule", {
	form_render(frm, cdt, cdn) {
		const grid_row = frm.fields_dict.rules.grid.grid_rows_by_docname[cdn];
		if (!grid_row || grid_row.mcp_buttons) return;
		grid_row.mcp_buttons = true;
		for (const target of ["allowed_fields", "restricted_fields"]) {
			const field = grid_row.grid_form.fields_dict[target];
			if (!field) continue;
			$(`<button class="btn btn-xs btn-default" style="margin-top: 4px">${__("Pick Fields")}</button>`)
				.appendTo(field.$wrapper)
				.on("click", () => mcp_pick_fields(frm, cdt, cdn, target));
		}
	},
	can_delete: mcp_warnings,
	can_cancel: mcp_warnings,
	allow_protected: mcp_warnings,
});

frappe.ui.form.on("MCP Profile Condition", {
	document_type: mcp_condition_options,
	form_render: mcp_condition_options,
	conditions_add: mcp_condition_options,
});
