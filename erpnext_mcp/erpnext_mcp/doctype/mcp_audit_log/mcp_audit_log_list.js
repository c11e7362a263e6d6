// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

frappe.listview_settings["MCP Audit Log"] = {
	add_fields: ["result", "request_count", "error_log", "document_type", "document_names"],
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
		// What an auditor filters by first: when (a date range on the timestamp), then who and what
		// (User, Result, DocType, Tool, Operation, IP are the DocType's standard filters).
		if (!listview.page.fields_dict.timestamp) {
			listview.page.add_field(
				{
					fieldtype: "DateRange",
					fieldname: "timestamp",
					label: __("Time"),
					condition: "Between",
					// Frappe v16 reads a standard filter's operator from match_type (v15: condition).
					match_type: "Between",
					onchange: () => listview.filter_area.debounced_refresh_list_view(),
				},
				listview.filter_area.standard_filters_wrapper
			);
		}
		for (const [label, filters] of [
			[__("Today"), [["timestamp", "Timespan", "today"]]],
			[__("Denied"), [["result", "=", "Denied"]]],
			[__("Errors"), [["result", "=", "Error"]]],
		]) {
			listview.page.add_inner_button(
				label,
				() => listview.filter_area.add(filters.map((f) => ["MCP Audit Log", ...f])),
				__("Show")
			);
		}
	},
	// One click from a record to what it names: the Error Log of a failure, the document it touched.
	button: {
		show: (doc) =>
			!!doc.error_log ||
			(!!doc.document_type && !!doc.document_names && !doc.document_names.includes("\n")),
		get_label: (doc) => (doc.error_log ? __("Error Log") : __("Open")),
		get_description: (doc) =>
			doc.error_log
				? __("Open Error Log {0}", [doc.error_log])
				: __("Open {0} {1}", [doc.document_type, doc.document_names]),
		action: (doc) =>
			doc.error_log
				? frappe.set_route("Form", "Error Log", doc.error_log)
				: frappe.set_route("Form", doc.document_type, doc.document_names),
	},
};
