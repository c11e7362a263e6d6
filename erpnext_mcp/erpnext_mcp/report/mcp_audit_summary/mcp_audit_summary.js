// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.query_reports["MCP Audit Summary"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_days(frappe.datetime.get_today(), -29),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{ fieldname: "user", label: __("User"), fieldtype: "Link", options: "User" },
		{ fieldname: "document_type", label: __("DocType"), fieldtype: "Link", options: "DocType" },
		{
			fieldname: "result",
			label: __("Result"),
			fieldtype: "Select",
			options: ["", "Allowed", "Denied", "Error", "Rate Limited", "Approval Requested", "Approved", "Rejected"],
		},
	],
	onload(report) {
		report.page.add_inner_button(__("Open MCP Audit Log"), () => {
			const f = report.get_values() || {};
			const route = {};
			for (const key of ["user", "document_type", "result"]) if (f[key]) route[key] = f[key];
			frappe.set_route("List", "MCP Audit Log", route);
		});
	},
};
