// Copyright (c) 2026, erpnext_mcp contributors
// For license information, please see license.txt

// The profile editor: field pickers filled from the rule's DocType, conditions edited with Frappe's own
// filter widgets, warnings while editing, and "Test this Profile" (the explain_access engine, run for a
// chosen user on the server). Everything lives under erpnext_mcp.profile so the script can be loaded
// more than once.
frappe.provide("erpnext_mcp.profile");

Object.assign(erpnext_mcp.profile, {
	LAYOUT_TYPES: [
		"Section Break",
		"Column Break",
		"Tab Break",
		"HTML",
		"Button",
		"Heading",
		"Fold",
		"Image",
	],
	// The engine's own: data/backend.py STANDARD_FIELDS (name is always returned, never picked).
	STANDARD_FIELDS: [
		["owner", "Created By", "Link"],
		["creation", "Created On", "Datetime"],
		["modified", "Last Updated On", "Datetime"],
		["modified_by", "Last Updated By", "Link"],
		["docstatus", "Document Status", "Int"],
	],
	NUMBER_TYPES: ["Int", "Float", "Currency", "Percent", "Check", "Rating", "Duration"],
	DATE_TYPES: ["Date", "Datetime"],
	// Frappe filter conditions the engine understands (policy CONDITION_OPERATORS), and how they map.
	FILTER_CONDITIONS: ["=", "!=", "in", "not in", "<", "<=", ">", ">=", "Between", "is"],
	OPERATIONS: ["read", "create", "update", "delete", "submit", "cancel"],

	fields_of(doctype) {
		return new Promise((resolve) => {
			frappe.model.with_doctype(doctype, () => resolve(frappe.get_meta(doctype).fields));
		});
	},

	split(text) {
		return (text || "")
			.split(/[\n,]/)
			.map((f) => f.trim())
			.filter(Boolean);
	},

	bold(text) {
		return `<b>${frappe.utils.escape_html(__(text || ""))}</b>`;
	},

	lines(text) {
		return (text || "")
			.split("\n")
			.map((v) => v.trim())
			.filter((v) => v !== "");
	},

	is_protected(frm, doctype) {
		const onload = frm.doc.__onload || {};
		const folded = (doctype || "").trim().toLowerCase();
		const prefix = (onload.protected_prefix || "MCP ").toLowerCase();
		return (
			!!folded &&
			((onload.protected_doctypes || []).some((d) => d.toLowerCase() === folded) ||
				folded.startsWith(prefix))
		);
	},

	rule_doctypes(frm) {
		return [...new Set((frm.doc.rules || []).map((r) => r.document_type).filter(Boolean))];
	},

	// ------------------------------------------------------------------ field picker

	pick_fields(frm, cdt, cdn, target) {
		const row = locals[cdt][cdn];
		if (!row.document_type) {
			frappe.msgprint(__("Choose the DocType of this rule first."));
			return;
		}
		const other = target === "allowed_fields" ? "restricted_fields" : "allowed_fields";
		erpnext_mcp.profile.fields_of(row.document_type).then((fields) => {
			const chosen = new Set(erpnext_mcp.profile.split(row[target]));
			const elsewhere = new Set(erpnext_mcp.profile.split(row[other]));
			const dialog = new frappe.ui.Dialog({
				title:
					target === "allowed_fields"
						? __("Fields agents may use on {0}", [__(row.document_type)])
						: __("Fields agents may never see on {0}", [__(row.document_type)]),
				size: "large",
				fields: [
					{
						fieldname: "help",
						fieldtype: "HTML",
						options: `<p class="text-muted small">${
							target === "allowed_fields"
								? __(
										"Tick the fields an agent may read and write. None ticked = every field the user may read in ERPNext. The document name is always returned."
								  )
								: __(
										"Ticked fields are never read, listed, searched, filtered or written by an agent, whatever else the rule says."
								  )
						}</p>`,
					},
					{ fieldname: "picker", fieldtype: "HTML" },
				],
				primary_action_label: __("Use these fields"),
				primary_action() {
					const picked = [];
					dialog.$wrapper.find("input.mcp-field-check:checked").each(function () {
						picked.push($(this).attr("data-fieldname"));
					});
					frappe.model.set_value(cdt, cdn, target, picked.join(", "));
					dialog.hide();
				},
			});
			erpnext_mcp.profile.render_picker(dialog, row.document_type, fields, chosen, elsewhere, other);
			dialog.show();
		});
	},

	render_picker(dialog, doctype, fields, chosen, elsewhere, other) {
		const esc = frappe.utils.escape_html;
		const groups = [];
		let group = { label: __("Details"), items: [] };
		groups.push(group);
		for (const df of fields) {
			if (["Section Break", "Tab Break"].includes(df.fieldtype)) {
				if (df.label) {
					group = { label: __(df.label), items: [] };
					groups.push(group);
				}
				continue;
			}
			if (erpnext_mcp.profile.LAYOUT_TYPES.includes(df.fieldtype)) continue;
			group.items.push({
				fieldname: df.fieldname,
				label: __(df.label || df.fieldname),
				type: frappe.model.table_fields.includes(df.fieldtype)
					? __("table of {0}", [__(df.options)])
					: __(df.fieldtype),
				table: frappe.model.table_fields.includes(df.fieldtype),
			});
		}
		groups.push({
			label: __("Standard fields"),
			items: erpnext_mcp.profile.STANDARD_FIELDS.filter(
				([f]) => f !== "docstatus" || frappe.get_meta(doctype).is_submittable
			).map(([fieldname, label, type]) => ({ fieldname, label: __(label), type: __(type) })),
		});
		const other_label = other === "allowed_fields" ? __("allowed") : __("restricted");
		const html = groups
			.filter((g) => g.items.length)
			.map(
				(g) => `<div class="mcp-picker-group">
					<div class="mcp-picker-heading">${esc(g.label)}</div>
					<div class="mcp-picker-items">${g.items
						.map((it) => {
							const blocked = elsewhere.has(it.fieldname);
							return `<label class="mcp-picker-item${blocked ? " text-muted" : ""}"
								data-search="${esc((it.label + " " + it.fieldname).toLowerCase())}"
								title="${esc(
									it.table
										? __(
												"Its rows travel with the document; add a rule for the child DocType to limit their columns."
										  )
										: ""
								)}">
								<input type="checkbox" class="mcp-field-check" data-fieldname="${esc(it.fieldname)}"
									${chosen.has(it.fieldname) ? "checked" : ""} ${blocked ? "disabled" : ""}>
								<span class="mcp-picker-label">${esc(it.label)}</span>
								<code>${esc(it.fieldname)}</code>
								<span class="mcp-picker-type">${esc(it.type)}${blocked ? " · " + esc(other_label) : ""}</span>
							</label>`;
						})
						.join("")}</div>
				</div>`
			)
			.join("");
		const $picker = dialog.fields_dict.picker.$wrapper;
		$picker.html(`
			<style>
				.mcp-picker-toolbar { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
				.mcp-picker-toolbar input { max-width: 280px; }
				.mcp-picker-list { max-height: 55vh; overflow-y: auto; }
				.mcp-picker-heading { font-weight: 600; margin: 10px 0 4px; color: var(--heading-color); }
				.mcp-picker-items { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 2px 16px; }
				.mcp-picker-item { display: flex; gap: 6px; align-items: baseline; margin: 0; padding: 2px 0; font-weight: normal; cursor: pointer; }
				.mcp-picker-item code { font-size: 11px; }
				.mcp-picker-type { color: var(--text-muted); font-size: 11px; margin-left: auto; white-space: nowrap; }
			</style>
			<div class="mcp-picker-toolbar">
				<input type="search" class="form-control input-sm mcp-picker-search" placeholder="${__("Search fields")}">
				<button class="btn btn-xs btn-default mcp-picker-none" type="button">${__("Clear")}</button>
				<span class="text-muted small mcp-picker-count"></span>
			</div>
			<div class="mcp-picker-list">${html}</div>`);
		const count = () =>
			$picker
				.find(".mcp-picker-count")
				.text(__("{0} selected", [$picker.find("input.mcp-field-check:checked").length]));
		$picker.on("change", "input.mcp-field-check", count);
		$picker.find(".mcp-picker-none").on("click", () => {
			$picker.find("input.mcp-field-check").prop("checked", false);
			count();
		});
		$picker.find(".mcp-picker-search").on("input", function () {
			const q = ($(this).val() || "").toLowerCase().trim();
			$picker.find(".mcp-picker-item").each(function () {
				$(this).toggle(!q || $(this).attr("data-search").includes(q));
			});
			$picker.find(".mcp-picker-group").each(function () {
				$(this).toggle($(this).find(".mcp-picker-item:visible").length > 0);
			});
		});
		count();
	},

	// ------------------------------------------------------------------ conditions with Frappe's filter UI

	filter_class() {
		if (erpnext_mcp.profile._Filter) return erpnext_mcp.profile._Filter;
		const P = erpnext_mcp.profile;
		// Frappe's filter row (field select, condition, value control of the field's type), narrowed to the
		// conditions the engine evaluates; comparisons only where the engine compares (numbers, dates).
		erpnext_mcp.profile._Filter = class extends frappe.ui.Filter {
			set_conditions() {
				super.set_conditions();
				this.conditions = this.conditions.filter((c) => P.FILTER_CONDITIONS.includes(c[0]));
				this.nested_set_conditions = [];
				const comparisons = ["<", "<=", ">", ">=", "Between"];
				for (const type of frappe.model.all_fieldtypes) {
					let invalid = (this.invalid_condition_map[type] || []).slice();
					if (!P.NUMBER_TYPES.includes(type) && !P.DATE_TYPES.includes(type)) {
						invalid.push(...comparisons);
					} else if (!P.DATE_TYPES.includes(type)) {
						invalid.push("Between"); // numbers: use >= and <= (two conditions)
					}
					if (type === "Datetime") invalid = invalid.filter((c) => !["in", "not in"].includes(c));
					this.invalid_condition_map[type] = [...new Set(invalid)];
				}
			}
			set_conditions_from_config() {}
			set_field(doctype, fieldname, fieldtype, condition) {
				if (!condition) {
					const df = (this.fieldselect.fields_by_name[doctype] || {})[fieldname];
					if (df) {
						const c = this.utils.get_default_condition(df);
						condition = P.FILTER_CONDITIONS.includes(c) ? c : "=";
					}
				}
				return super.set_field(doctype, fieldname, fieldtype, condition);
			}
		};
		return erpnext_mcp.profile._Filter;
	},

	to_filter(row) {
		// a condition row → [condition, value] for frappe.ui.Filter
		const op = row.operator || "=";
		if (op === "is set") return ["is", "set"];
		if (op === "is not set") return ["is", "not set"];
		if (op === "between") return ["Between", erpnext_mcp.profile.lines(row.value)];
		if (op === "in" || op === "not in") return [op, erpnext_mcp.profile.lines(row.value)];
		return [op, row.value || ""];
	},

	from_filter(condition, value) {
		// frappe.ui.Filter's condition and value → {operator, value} as the engine reads them
		// (data/profiles.py parse_condition_value: one value per line for lists)
		if (condition === "is") {
			return { operator: value === "not set" ? "is not set" : "is set", value: "" };
		}
		const list = Array.isArray(value) ? value : null;
		if (condition === "Between") {
			return { operator: "between", value: (list || [value]).filter((v) => v !== "").join("\n") };
		}
		if (condition === "in" || condition === "not in") {
			const values = list || String(value || "").split(",");
			return {
				operator: condition,
				value: values
					.map((v) => String(v).trim())
					.filter(Boolean)
					.join("\n"),
			};
		}
		return { operator: condition, value: value === null || value === undefined ? "" : String(value) };
	},

	condition_dialog(frm, cdn) {
		const P = erpnext_mcp.profile;
		const row = cdn ? locals["MCP Profile Condition"][cdn] : null;
		const doctypes = P.rule_doctypes(frm);
		if (!doctypes.length) {
			frappe.msgprint(__("Add a rule for a DocType first: conditions narrow a rule."));
			return;
		}
		let filter = null;
		const dialog = new frappe.ui.Dialog({
			title: row ? __("Edit Condition (row {0})", [row.idx]) : __("Add Condition"),
			size: "large",
			fields: [
				{
					fieldname: "document_type",
					fieldtype: "Select",
					label: __("DocType"),
					options: doctypes,
					default: (row && row.document_type) || doctypes[0],
					reqd: 1,
					onchange: () => make_filter(),
				},
				{ fieldtype: "Column Break" },
				{
					fieldname: "applies_to",
					fieldtype: "Select",
					label: __("Applies To"),
					options: [
						"Read",
						"Create",
						"Update",
						"Create and Update",
						"Read, Create and Update",
						"Delete",
						"Submit",
						"Cancel",
						"Submit and Cancel",
						"Approval on Create",
						"Approval on Update",
					],
					default: (row && row.applies_to) || "Create and Update",
					reqd: 1,
				},
				{ fieldtype: "Section Break", label: __("Condition") },
				{ fieldname: "filter_area", fieldtype: "HTML" },
				{
					fieldname: "help",
					fieldtype: "HTML",
					options: `<p class="text-muted small">${__(
						"Read: the read scope. Outside it a document does not exist for the agent, whatever the operation (list, get, update, delete, submit, cancel). Create: the new document must satisfy it. Update: the stored and the updated document must. Delete: the stored document must. Submit / Cancel: the stored document must; without conditions of their own they use the Update conditions. Approval on Create / Update: not a limit but a trigger: a create or update whose document meets every such condition waits for a person's approval. Comparisons work on numbers and dates; text compares without case or surrounding spaces."
					)}</p>`,
				},
			],
			primary_action_label: row ? __("Update Condition") : __("Add Condition"),
			primary_action(values) {
				if (!filter || !filter.field) {
					frappe.msgprint(__("Choose a field."));
					return;
				}
				const [, fieldname, condition, value] = filter.get_value();
				const out = P.from_filter(condition, value);
				if (!fieldname) {
					frappe.msgprint(__("Choose a field."));
					return;
				}
				if (!["is set", "is not set"].includes(out.operator) && out.value === "") {
					frappe.msgprint(__("Enter a value for the condition."));
					return;
				}
				if (out.operator === "between" && P.lines(out.value).length !== 2) {
					frappe.msgprint(__("Between needs two values: from and to."));
					return;
				}
				const data = {
					document_type: values.document_type,
					applies_to: values.applies_to,
					fieldname,
					operator: out.operator,
					value: out.value,
				};
				if (row) {
					for (const [key, v] of Object.entries(data)) {
						frappe.model.set_value(row.doctype, row.name, key, v);
					}
				} else {
					frm.add_child("conditions", data);
				}
				frm.refresh_field("conditions");
				frm.dirty();
				dialog.hide();
			},
		});

		const make_filter = () => {
			const doctype = dialog.get_value("document_type");
			const $area = dialog.fields_dict.filter_area.$wrapper;
			$area.html(
				`<style>.mcp-condition .remove-filter { display: none !important; }
				.mcp-condition .list_filter .col-sm-4, .mcp-condition .list_filter .col-sm-3 { flex: 1 1 0; max-width: none; }</style>
				<div class="mcp-condition"><div class="filter-edit-area"></div></div>`
			);
			P.fields_of(doctype).then((fields) => {
				const standard = P.STANDARD_FIELDS.map(([fieldname, label, fieldtype]) => ({
					fieldname,
					label,
					fieldtype,
					options: fieldtype === "Link" ? "User" : "",
					parent: doctype,
				}));
				const own = fields
					.filter(
						(df) =>
							!P.LAYOUT_TYPES.includes(df.fieldtype) &&
							!frappe.model.table_fields.includes(df.fieldtype)
					)
					.map((df) => Object.assign({}, df, { parent: doctype }));
				const same = row && row.document_type === doctype;
				const [condition, value] = same ? P.to_filter(row) : [null, ""];
				const Filter = P.filter_class();
				filter = new Filter({
					parent: $area.find(".mcp-condition"),
					parent_doctype: doctype,
					doctype: doctype,
					filter_fields: [
						{
							fieldname: "name",
							label: __("ID"),
							fieldtype: "Link",
							options: doctype,
							parent: doctype,
						},
						...own,
						...standard,
					],
					fieldname: same ? row.fieldname : null,
					condition: condition,
					value: value,
					on_change: () => {},
				});
			});
		};
		dialog.show();
		make_filter();
	},

	// ------------------------------------------------------------------ warnings

	warnings(frm) {
		const P = erpnext_mcp.profile;
		frm.dashboard.clear_comment();
		const rules = (frm.doc.rules || []).filter((r) => r.document_type);
		const opened = rules.filter((r) => r.allow_protected);
		if (opened.length) {
			frm.dashboard.add_comment(
				__(
					"Sensitive DocTypes opened to agents: {0}. Users, permissions, scripts, settings and logs are protected for a reason; open one only for an agent that must manage it.",
					[opened.map((r) => erpnext_mcp.profile.bold(r.document_type)).join(", ")]
				),
				"red",
				true
			);
		}
		const locked = rules.filter((r) => !r.allow_protected && P.is_protected(frm, r.document_type));
		if (locked.length) {
			frm.dashboard.add_comment(
				__(
					"{0}: protected DocTypes. Agents stay locked out of them until you tick 'Open a Protected DocType' on the row.",
					[locked.map((r) => erpnext_mcp.profile.bold(r.document_type)).join(", ")]
				),
				"orange",
				true
			);
		}
		const risky = rules.filter((r) => r.can_delete || r.can_cancel);
		if (risky.length) {
			frm.dashboard.add_comment(
				__("This profile lets agents delete or cancel: {0}. Those actions cannot be undone.", [
					risky
						.map(
							(r) =>
								`${erpnext_mcp.profile.bold(r.document_type)} (${[
									r.can_delete ? __("delete") : null,
									r.can_cancel ? __("cancel") : null,
								]
									.filter(Boolean)
									.join(", ")})`
						)
						.join(", "),
				]),
				"orange",
				true
			);
		}
		const open_fields = rules.filter(
			(r) => !P.split(r.allowed_fields).length && (r.can_read || r.can_create || r.can_update)
		);
		if (open_fields.length) {
			frm.dashboard.add_comment(
				__(
					"No Allowed Fields on {0}: agents may use every field the user can see in ERPNext. Use Pick Fields on the row to narrow it.",
					[open_fields.map((r) => erpnext_mcp.profile.bold(r.document_type)).join(", ")]
				),
				"blue",
				true
			);
		}
	},

	// ------------------------------------------------------------------ Test this Profile

	test_dialog(frm) {
		const P = erpnext_mcp.profile;
		const doctypes = P.rule_doctypes(frm);
		const first_user = (frm.doc.users || []).map((u) => u.user)[0];
		const dialog = new frappe.ui.Dialog({
			title: __("Test this Profile"),
			size: "large",
			fields: [
				{
					fieldname: "user",
					fieldtype: "Link",
					options: "User",
					label: __("User"),
					reqd: 1,
					default: first_user,
					get_query: () => ({ filters: { enabled: 1, user_type: "System User" } }),
				},
				{
					fieldname: "ref_doctype",
					fieldtype: "Link",
					options: "DocType",
					label: __("DocType"),
					reqd: 1,
					default: doctypes[0],
					get_query: () => ({ filters: { istable: 0 } }),
					onchange: () => load_fields(),
				},
				{
					fieldname: "operation",
					fieldtype: "Select",
					label: __("Operation"),
					options: P.OPERATIONS,
					default: "read",
					reqd: 1,
				},
				{ fieldtype: "Column Break" },
				{
					fieldname: "document_name",
					fieldtype: "Dynamic Link",
					label: __("Document (optional)"),
					get_options: () => dialog.get_value("ref_doctype"),
					description: __(
						"Checks the document as the user: their access to it and the value conditions."
					),
				},
				{
					fieldname: "field_name",
					fieldtype: "Autocomplete",
					label: __("Field (optional)"),
					options: [],
				},
				{
					fieldname: "only_this_profile",
					fieldtype: "Check",
					label: __("Only this profile"),
					description: __(
						"Off: every profile that applies to the user, as saved (what the user's agent gets). On: this profile's saved rules alone."
					),
				},
				{ fieldtype: "Section Break" },
				{ fieldname: "result", fieldtype: "HTML" },
			],
			primary_action_label: __("Test"),
			primary_action(values) {
				frappe.call({
					method: "erpnext_mcp.api.profiles.test_profile",
					args: {
						profile: frm.doc.name,
						user: values.user,
						doctype: values.ref_doctype,
						operation: values.operation,
						name: values.document_name || null,
						fieldname: values.field_name || null,
						only_this_profile: values.only_this_profile ? 1 : 0,
					},
					freeze: true,
					freeze_message: __("Asking the engine..."),
					callback(r) {
						if (r.message) P.render_result(dialog, r.message);
					},
				});
			},
		});
		const load_fields = () => {
			const doctype = dialog.get_value("ref_doctype");
			if (!doctype) return;
			P.fields_of(doctype).then((fields) => {
				const options = fields
					.filter((df) => !P.LAYOUT_TYPES.includes(df.fieldtype))
					.map((df) => ({
						label: `${__(df.label || df.fieldname)} (${df.fieldname})`,
						value: df.fieldname,
					}));
				dialog.fields_dict.field_name.set_data(options);
			});
		};
		if (frm.is_dirty()) {
			dialog.fields_dict.result.$wrapper.html(
				`<div class="alert alert-warning small">${__(
					"This form has unsaved changes. The test uses the profile as saved: save first to test them."
				)}</div>`
			);
		}
		dialog.show();
		load_fields();
	},

	render_result(dialog, r) {
		const esc = frappe.utils.escape_html;
		const pill = (ok) =>
			`<span class="indicator-pill ${ok ? "green" : "red"}">${
				ok ? __("Allowed") : __("Denied")
			}</span>`;
		const what = [
			r.operation,
			__(r.doctype),
			r.name ? esc(r.name) : null,
			r.fieldname ? `(${esc(r.fieldname)})` : null,
		]
			.filter(Boolean)
			.join(" ");
		const rows = r.layers
			.map(
				(layer) => `<tr class="mcp-layer" data-layer="${esc(layer.layer)}" data-allowed="${
					layer.allowed ? 1 : 0
				}">
					<td>${esc(__(layer.layer))}</td>
					<td>${pill(layer.allowed)}</td>
					<td>${esc(layer.detail || "")}${
					layer.profile
						? `<div class="text-muted small">${__("Profile")}: ${esc(layer.profile)}${
								layer.rule ? ` · ${__("Rule")}: ${esc(layer.rule)}` : ""
						  }</div>`
						: ""
				}</td>
				</tr>`
			)
			.join("");
		const decided = r.layers.find((l) => !l.allowed);
		const notes = (r.notes || []).map((n) => `<li>${esc(n)}</li>`).join("");
		dialog.fields_dict.result.$wrapper.html(`
			<div class="mcp-test-result" data-allowed="${r.allowed ? 1 : 0}">
				<h5 style="display:flex; gap:8px; align-items:center;">${pill(r.allowed)}
					<span>${esc(r.user)}: ${what}</span></h5>
				<p class="small">${
					decided
						? __("Decided by: {0}", [`<b>${esc(__(decided.layer))}</b>`])
						: __("Every layer allows it.")
				}</p>
				<table class="table table-bordered table-sm small">
					<thead><tr><th>${__("Layer")}</th><th>${__("Result")}</th><th>${__("Detail")}</th></tr></thead>
					<tbody>${rows}</tbody>
				</table>
				<p class="text-muted small">${__("Tested with")}: ${esc(r.mode)}. ${__("Profiles")}: ${
			esc((r.profiles || []).join(", ")) || __("none")
		}. ${
			r.applies
				? __("This profile applies {0}.", [esc(r.applies)])
				: __("This profile does not apply to this user.")
		}</p>
				${notes ? `<ul class="small text-warning">${notes}</ul>` : ""}
			</div>`);
	},
});

frappe.ui.form.on("MCP Permission Profile", {
	setup(frm) {
		frm.set_query("document_type", "rules", () => ({ filters: { istable: 0 } }));
		frm.set_query("document_type", "conditions", () => ({
			filters: { name: ["in", erpnext_mcp.profile.rule_doctypes(frm)] },
		}));
	},
	refresh(frm) {
		erpnext_mcp.profile.warnings(frm);
		const grid = frm.fields_dict.conditions.grid;
		grid.add_custom_button(__("Add Condition"), () => erpnext_mcp.profile.condition_dialog(frm));
		if (!frm.is_new()) {
			frm.add_custom_button(__("Test this Profile"), () => erpnext_mcp.profile.test_dialog(frm));
		}
	},
	rules_remove: (frm) => erpnext_mcp.profile.warnings(frm),
});

frappe.ui.form.on("MCP Profile Rule", {
	form_render(frm, cdt, cdn) {
		const grid_row = frm.fields_dict.rules.grid.grid_rows_by_docname[cdn];
		if (!grid_row || grid_row.mcp_buttons) return;
		grid_row.mcp_buttons = true;
		for (const target of ["allowed_fields", "restricted_fields"]) {
			const field = grid_row.grid_form.fields_dict[target];
			if (!field) continue;
			$(
				`<button class="btn btn-xs btn-default mcp-pick-fields" data-target="${target}" style="margin-top: 4px">${__(
					"Pick Fields"
				)}</button>`
			)
				.appendTo(field.$wrapper)
				.on("click", () => erpnext_mcp.profile.pick_fields(frm, cdt, cdn, target));
		}
	},
	document_type(frm, cdt, cdn) {
		const row = locals[cdt][cdn];
		erpnext_mcp.profile.warnings(frm);
		if (row.document_type && !row.allowed_fields) {
			frappe.show_alert(
				{
					message: __(
						"{0}: tick the operations, then open the row and use Pick Fields to choose the fields agents may use.",
						[__(row.document_type)]
					),
					indicator: "blue",
				},
				7
			);
		}
	},
	can_read: (frm) => erpnext_mcp.profile.warnings(frm),
	can_create: (frm) => erpnext_mcp.profile.warnings(frm),
	can_update: (frm) => erpnext_mcp.profile.warnings(frm),
	can_delete: (frm) => erpnext_mcp.profile.warnings(frm),
	can_cancel: (frm) => erpnext_mcp.profile.warnings(frm),
	allow_protected: (frm) => erpnext_mcp.profile.warnings(frm),
	allowed_fields: (frm) => erpnext_mcp.profile.warnings(frm),
});

frappe.ui.form.on("MCP Profile Condition", {
	form_render(frm, cdt, cdn) {
		const grid_row = frm.fields_dict.conditions.grid.grid_rows_by_docname[cdn];
		if (grid_row && !grid_row.mcp_filter_button) {
			grid_row.mcp_filter_button = true;
			$(
				`<button class="btn btn-xs btn-primary mcp-edit-condition" style="margin: 0 0 8px">${__(
					"Edit with Filter"
				)}</button>`
			)
				.prependTo(grid_row.grid_form.wrapper.find(".grid-form-body .form-area, .form-area").first())
				.on("click", () => erpnext_mcp.profile.condition_dialog(frm, cdn));
		}
		erpnext_mcp.profile.condition_options(frm, cdt, cdn);
	},
	document_type: (frm, cdt, cdn) => erpnext_mcp.profile.condition_options(frm, cdt, cdn),
	conditions_add(frm, cdt, cdn) {
		const doctypes = erpnext_mcp.profile.rule_doctypes(frm);
		if (doctypes.length === 1) frappe.model.set_value(cdt, cdn, "document_type", doctypes[0]);
	},
});

erpnext_mcp.profile.condition_options = function (frm, cdt, cdn) {
	const P = erpnext_mcp.profile;
	const row = locals[cdt][cdn];
	if (!row || !row.document_type) return;
	P.fields_of(row.document_type).then((fields) => {
		const options = [
			{ label: __("ID") + " (name)", value: "name" },
			...fields
				.filter(
					(df) =>
						!P.LAYOUT_TYPES.includes(df.fieldtype) &&
						!frappe.model.table_fields.includes(df.fieldtype)
				)
				.map((df) => ({
					label: `${__(df.label || df.fieldname)} (${df.fieldname})`,
					value: df.fieldname,
				})),
			...P.STANDARD_FIELDS.map(([f, label]) => ({ label: `${__(label)} (${f})`, value: f })),
		];
		const grid = frm.fields_dict.conditions.grid;
		grid.update_docfield_property("fieldname", "options", options);
		// The row's own controls (in the grid and in the row form) take the row's DocType's fields.
		const grid_row = grid.grid_rows_by_docname[cdn];
		for (const field of [
			grid_row && grid_row.on_grid_fields_dict && grid_row.on_grid_fields_dict.fieldname,
			grid_row &&
				grid_row.grid_form &&
				grid_row.grid_form.fields_dict &&
				grid_row.grid_form.fields_dict.fieldname,
		]) {
			if (field && field.set_data) field.set_data(options);
		}
	});
};
