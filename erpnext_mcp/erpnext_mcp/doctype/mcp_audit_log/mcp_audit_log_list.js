// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.listview_settings["MCP Audit Log"] = {
	add_fields: ["result", "request_count"],
	hide_name_column: true,
	get_indicator(doc) {
		const colour = { Allowed: "green", Denied: "red", Error: "orange", "Rate Limited": "purple" }[doc.result];
		const label = doc.request_count > 1 ? `${__(doc.result)} ×${doc.request_count}` : __(doc.result);
		return [label, colour || "gray", `result,=,${doc.result}`];
	},
	onload(listview) {
		listview.page.add_inner_button(__("MCP Audit Summary"), () =>
			frappe.set_route("query-report", "MCP Audit Summary")
		);
	},
};
