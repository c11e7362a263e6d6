// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.listview_settings["MCP Permission Profile"] = {
	add_fields: ["enabled", "priority"],
	get_indicator(doc) {
		return doc.enabled ? [__("Enabled"), "green", "enabled,=,1"] : [__("Disabled"), "gray", "enabled,=,0"];
	},
	onload(listview) {
		listview.page.add_inner_button(__("Import config.json"), () => {
			const dialog = new frappe.ui.Dialog({
				title: __("Import a seed config.json as a profile"),
				fields: [
					{ fieldname: "profile_name", fieldtype: "Data", label: __("Profile Name"), reqd: 1 },
					{ fieldname: "roles", fieldtype: "Small Text", label: __("Roles (one per line)") },
					{ fieldname: "users", fieldtype: "Small Text", label: __("Users (one per line)") },
					{
						fieldname: "config",
						fieldtype: "Code",
						options: "JSON",
						label: __("config.json"),
						reqd: 1,
						description: __("The whole file or just its permissions block. Anything that cannot be mapped is reported and left out, never widened."),
					},
				],
				primary_action_label: __("Import"),
				primary_action(values) {
					frappe.call({
						method: "erpnext_mcp.api.profiles.import_seed_config",
						args: values,
						freeze: true,
						freeze_message: __("Importing..."),
						callback(r) {
							dialog.hide();
							const report = r.message;
							const unmapped = report.unmapped.length
								? `<p>${__("Not mapped:")}</p><ul>${report.unmapped
										.map((m) => `<li>${frappe.utils.escape_html(m)}</li>`)
										.join("")}</ul>`
								: `<p>${__("Everything was mapped.")}</p>`;
							frappe.msgprint({
								title: __("Imported {0}", [report.profile]),
								message: `<p>${__("{0} rules, {1} conditions.", [report.rules, report.conditions])}</p>${unmapped}`,
								indicator: report.unmapped.length ? "orange" : "green",
							});
							listview.refresh();
						},
					});
				},
			});
			dialog.show();
		});
	},
};
