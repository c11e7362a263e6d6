# Copyright (c) 2026, erpnext_mcp contributors
# For license information, please see license.txt
"""MCP calls per day for an auditor: calls, allowed, denied, errors, rate limited, calls that asked for
approval, approvals and rejections, users, duration, filtered by date, user, DocType and result; with
a chart of calls and denials per day. A decision in Desk (Approved / Rejected) is a record of its own,
not an MCP call, so it is counted in its column and not among the calls."""

import frappe
from frappe import _
from frappe.utils import add_days, add_to_date, date_diff, get_datetime, getdate, nowdate

MAX_DAYS = 366
RESULT_COLUMNS = (
	("Allowed", "allowed"),
	("Denied", "denied"),
	("Error", "errors"),
	("Rate Limited", "rate_limited"),
	("Approval Requested", "approvals_requested"),
	("Approved", "approved"),
	("Rejected", "rejected"),
)
DECISIONS = ("Approved", "Rejected")
SERIES = (("calls", "Calls"), ("denied", "Denied"), ("rate_limited", "Rate Limited"), ("errors", "Errors"))


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	frappe.has_permission("MCP Audit Log", "report", throw=True)
	to_date = getdate(filters.to_date or nowdate())
	from_date = getdate(filters.from_date or add_days(to_date, -29))
	if from_date > to_date:
		frappe.throw(_("From Date must be before To Date"))
	if date_diff(to_date, from_date) >= MAX_DAYS:
		from_date = add_days(to_date, -(MAX_DAYS - 1))
	rows = summarize(from_date, to_date, filters)
	return columns(), rows, None, chart(rows), report_summary(rows)


def summarize(from_date, to_date, filters) -> list[dict]:
	conditions = ["`timestamp` >= %(from)s", "`timestamp` < %(to)s"]
	values = {"from": get_datetime(from_date), "to": add_to_date(get_datetime(to_date), days=1)}
	for field in ("user", "document_type", "result"):
		if filters.get(field):
			conditions.append(f"`{field}` = %({field})s")
			values[field] = filters.get(field)
	result_sums = ",\n".join(
		f"sum(case when `result` = '{result}' then `request_count` else 0 end) as `{alias}`"
		for result, alias in RESULT_COLUMNS
	)
	rows = frappe.db.sql(
		f"""
		select date(`timestamp`) as `day`,
			sum(case when `result` in ('Approved', 'Rejected') then 0 else `request_count` end) as `calls`,
			{result_sums},
			count(distinct `user`) as `users`, avg(`duration_ms`) as `avg_duration_ms`
		from `tabMCP Audit Log`
		where {" and ".join(conditions)}
		group by date(`timestamp`)
		""",
		values,
		as_dict=True,
	)
	found = {getdate(r.day): r for r in rows}
	out = []
	for i in range(date_diff(to_date, from_date) + 1):
		date = add_days(from_date, i)
		r = found.get(date) or {}
		out.append(
			{
				"day": date,
				"calls": int(r.get("calls") or 0),
				"allowed": int(r.get("allowed") or 0),
				"denied": int(r.get("denied") or 0),
				"errors": int(r.get("errors") or 0),
				"rate_limited": int(r.get("rate_limited") or 0),
				"approvals_requested": int(r.get("approvals_requested") or 0),
				"approved": int(r.get("approved") or 0),
				"rejected": int(r.get("rejected") or 0),
				"users": int(r.get("users") or 0),
				"avg_duration_ms": round(float(r.get("avg_duration_ms") or 0), 1),
			}
		)
	return out


def columns() -> list[dict]:
	def col(fieldname, label, fieldtype="Int", width=110):
		return {"fieldname": fieldname, "label": label, "fieldtype": fieldtype, "width": width}

	return [
		col("day", _("Date"), "Date", 120),
		col("calls", _("Calls")),
		col("allowed", _("Allowed")),
		col("denied", _("Denied")),
		col("errors", _("Errors")),
		col("rate_limited", _("Rate Limited")),
		col("approvals_requested", _("Asked for Approval"), width=140),
		col("approved", _("Approved")),
		col("rejected", _("Rejected")),
		col("users", _("Users")),
		col("avg_duration_ms", _("Avg Duration (ms)"), "Float", 140),
	]


def chart(rows: list[dict]) -> dict:
	return {
		"data": {
			"labels": [frappe.format(r["day"], {"fieldtype": "Date"}) for r in rows],
			"datasets": [{"name": _(label), "values": [r[key] for r in rows]} for key, label in SERIES],
		},
		"type": "line",
		"colors": ["#5e64ff", "#ff5858", "#9b59b6", "#ffa00a"],
		"title": _("MCP Calls and Denials per Day"),
	}


def report_summary(rows: list[dict]) -> list[dict]:
	total = {
		key: sum(r[key] for r in rows)
		for key in ("calls", "denied", "rate_limited", "errors", "approved", "rejected")
	}
	return [
		{"value": total["calls"], "label": _("Calls"), "datatype": "Int", "indicator": "Blue"},
		{"value": total["denied"], "label": _("Denied"), "datatype": "Int", "indicator": "Red"},
		{
			"value": total["rate_limited"],
			"label": _("Rate Limited"),
			"datatype": "Int",
			"indicator": "Purple",
		},
		{"value": total["errors"], "label": _("Errors"), "datatype": "Int", "indicator": "Orange"},
		{"value": total["approved"], "label": _("Approved"), "datatype": "Int", "indicator": "Green"},
		{"value": total["rejected"], "label": _("Rejected"), "datatype": "Int", "indicator": "Red"},
	]
