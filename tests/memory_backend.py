"""Tier 1's stand-in for ERPNext behind the DataBackend interface: a small in-memory store with role
permissions and permlevels, so the real server code runs end to end without Frappe."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import itertools
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from erpnext_mcp.data.backend import STANDARD_FIELDS, DocTypeInfo, FieldInfo
from erpnext_mcp.exceptions import Conflict, InvalidArguments, NotFound, PermissionDenied, ValidationFailed
from erpnext_mcp.policy import approvals as approval_rules

APPROVAL_VIEW_FIELDS = frozenset(f.name for f in dataclasses.fields(approval_rules.ApprovalView))

F = FieldInfo

META: dict[str, DocTypeInfo] = {
	"Customer": DocTypeInfo(
		name="Customer",
		module="Selling",
		title_field="customer_name",
		search_fields=["customer_group", "territory"],
		fields=[
			F("customer_name", "Customer Name", "Data", reqd=True, in_list_view=True),
			F(
				"customer_type",
				"Customer Type",
				"Select",
				options="Company\nIndividual\nPartnership",
				default="Company",
			),
			F("customer_group", "Customer Group", "Link", options="Customer Group", in_list_view=True),
			F("territory", "Territory", "Link", options="Territory", in_list_view=True),
			F("disabled", "Disabled", "Check", default=0),
			F("credit_limit", "Credit Limit", "Currency", permlevel=1),
			F("tax_id", "Tax ID", "Data"),
		],
	),
	"Sales Invoice": DocTypeInfo(
		name="Sales Invoice",
		module="Accounts",
		is_submittable=True,
		title_field="customer",
		search_fields=["customer"],
		fields=[
			F("customer", "Customer", "Link", options="Customer", reqd=True, in_list_view=True),
			F("posting_date", "Posting Date", "Date"),
			F("grand_total", "Grand Total", "Currency", read_only=True, in_list_view=True),
			F("items", "Items", "Table", options="Sales Invoice Item", reqd=True),
		],
	),
	"Sales Invoice Item": DocTypeInfo(
		name="Sales Invoice Item",
		module="Accounts",
		is_table=True,
		fields=[
			F("item_code", "Item", "Link", options="Item"),
			F("qty", "Quantity", "Float"),
			F("rate", "Rate", "Currency"),
			F("margin", "Margin", "Currency"),
		],
	),
	"Sales Order": DocTypeInfo(
		name="Sales Order",
		module="Selling",
		is_submittable=True,
		title_field="customer",
		fields=[
			F("customer", "Customer", "Link", options="Customer", reqd=True, in_list_view=True),
			F("grand_total", "Grand Total", "Currency", read_only=True),
			F("po_no", "Customer's Purchase Order", "Data"),
			F("items", "Items", "Table", options="Sales Invoice Item", reqd=True),
		],
	),
	"Supplier": DocTypeInfo(
		name="Supplier",
		module="Buying",
		title_field="supplier_name",
		fields=[F("supplier_name", "Supplier Name", "Data", reqd=True, in_list_view=True)],
	),
}
for _info in META.values():
	_info.all_fieldnames = frozenset(f.fieldname for f in _info.fields)

# role → DocType → permissions (ERPNext's DocPerm, reduced to what tier 1 needs)
ROLE_PERMS: dict[str, dict[str, set[str]]] = {
	"Sales User": {
		"Customer": {"read", "write", "create"},
		"Sales Invoice": {"read", "write", "create", "submit", "cancel"},
		"Sales Order": {"read", "write", "create", "submit", "cancel"},
	},
	"Sales Manager": {"Customer": {"read", "write", "create", "delete"}},
	"Purchase User": {"Supplier": {"read", "write", "create"}},
}
PERMLEVEL_ROLES = {("Customer", 1): {"Sales Manager"}}

USERS = {
	"sales@example.com": {"full_name": "Sam Sales", "roles": ["Sales User"]},
	"manager@example.com": {"full_name": "Mia Manager", "roles": ["Sales User", "Sales Manager"]},
	"buyer@example.com": {"full_name": "Bo Buyer", "roles": ["Purchase User"]},
	"approver@example.com": {"full_name": "Ada Approver", "roles": ["System Manager", "Sales User"]},
}


def seed_documents() -> dict[str, dict[str, dict[str, Any]]]:
	return {
		"Customer": {
			"CUST-EG-1": {
				"customer_name": "Nile Traders",
				"customer_type": "Company",
				"customer_group": "Commercial",
				"territory": "Egypt",
				"disabled": 0,
				"credit_limit": 50000,
				"tax_id": "EG-1",
			},
			"CUST-EG-2": {
				"customer_name": "Cairo Crafts",
				"customer_type": "Individual",
				"customer_group": "Individual",
				"territory": "Egypt",
				"disabled": 1,
				"credit_limit": 1000,
				"tax_id": "EG-2",
			},
			"CUST-IN-1": {
				"customer_name": "Delhi Foods",
				"customer_type": "Company",
				"customer_group": "Commercial",
				"territory": "India",
				"disabled": 0,
				"credit_limit": 70000,
				"tax_id": "IN-1",
			},
		},
		"Sales Invoice": {
			"SINV-0001": {
				"customer": "CUST-EG-1",
				"posting_date": "2026-11-01",
				"grand_total": 300.0,
				"docstatus": 0,
				"items": [
					{"name": "row-1", "item_code": "WIDGET", "qty": 2, "rate": 100.0, "margin": 30.0},
					{"name": "row-2", "item_code": "GADGET", "qty": 1, "rate": 100.0, "margin": 10.0},
				],
			},
		},
		"Sales Order": {
			"SO-0001": {
				"customer": "CUST-EG-1",
				"grand_total": 200.0,
				"docstatus": 1,
				"items": [{"name": "so-row-1", "item_code": "WIDGET", "qty": 2, "rate": 100.0}],
			},
			"SO-0002": {
				"customer": "CUST-IN-1",
				"grand_total": 500.0,
				"docstatus": 1,
				"items": [{"name": "so-row-2", "item_code": "GADGET", "qty": 5, "rate": 100.0}],
			},
		},
		"Supplier": {"SUP-1": {"supplier_name": "Parts Inc"}},
	}


# Tier 1's reports: name → (roles that may run it, filter definitions, rows). "Customer Credit" reads
# credit_limit, a field profiles restrict: only a profile that names the report may run it.
REPORTS: dict[str, dict[str, Any]] = {
	"Customer Credit": {
		"report_type": "Script Report",
		"roles": {"Sales User"},
		"filters": [
			{
				"fieldname": "territory",
				"label": "Territory",
				"fieldtype": "Link",
				"options": "Territory",
				"reqd": True,
				"default": None,
			},
			{
				"fieldname": "min_limit",
				"label": "Minimum",
				"fieldtype": "Currency",
				"options": None,
				"reqd": False,
				"default": None,
			},
		],
	},
	"Customer Ledger Builder": {"report_type": "Report Builder", "roles": {"Sales User"}, "filters": None},
}


class MemoryStore:
	"""Shared by all callers of one test server; writes are transactional per call."""

	def __init__(self):
		self.docs = seed_documents()
		for _doctype, docs in self.docs.items():
			for name, doc in docs.items():
				doc.setdefault("docstatus", 0)
				doc.update(
					{
						"name": name,
						"owner": "Administrator",
						"modified": "2026-11-01 10:00:00.000000",
						"creation": "2026-11-01 10:00:00.000000",
						"modified_by": "Administrator",
						"idx": 0,
					}
				)
		self.counter = itertools.count(100)
		self.idempotency: dict[tuple[str, str, str], str] = {}
		# MCP Approval Requests by name (fields as data/approvals.py stores them).
		self.approvals: dict[str, dict[str, Any]] = {}
		self.notified: list[tuple[str, str]] = []  # (role, approval name): the bell, in tier 1

	def decide(
		self, name: str, approver: str, approve: bool, *, note: str | None = None, allow_self: bool = False
	):
		"""What the Approve / Reject buttons do (data/approvals.decide), on the memory store."""
		row = self.approvals[name]
		refusal = approval_rules.decision_refusal(
			approval_view(row),
			approver=approver,
			approver_roles=set(USERS[approver]["roles"]),
			approver_role=row["approver_role"],
			allow_self_approval=allow_self,
			now=datetime.now(),
		)
		if refusal:
			raise PermissionError(refusal)
		row.update(
			status=approval_rules.APPROVED if approve else approval_rules.REJECTED,
			approver=approver,
			decided_at=datetime.now(),
			note=note,
		)


def approval_view(row: dict[str, Any]):
	return approval_rules.ApprovalView(**{k: v for k, v in row.items() if k in APPROVAL_VIEW_FIELDS})


class MemoryBackend:
	def __init__(self, store: MemoryStore, user: str):
		self.store = store
		self.user = user
		self.roles = set(USERS[user]["roles"])
		self._snapshot = copy.deepcopy(store.docs)
		self.errors: list[str] = []

	# ---- identity
	def caller(self):
		return {"user": self.user, "full_name": USERS[self.user]["full_name"], "roles": sorted(self.roles)}

	def site_info(self):
		return {
			"site": "tier1.localhost",
			"url": "http://tier1.localhost",
			"frappe_version": "memory",
			"erpnext_version": "memory",
			"app_version": "test",
		}

	# ---- permissions
	def _perms(self, doctype: str) -> set[str]:
		out: set[str] = set()
		for role in self.roles:
			out |= ROLE_PERMS.get(role, {}).get(doctype, set())
		return out

	def _permlevels(self, doctype: str) -> set[int]:
		levels = {0}
		for (dt, level), roles in PERMLEVEL_ROLES.items():
			if dt == doctype and roles & self.roles:
				levels.add(level)
		return levels

	def erpnext_permissions(self, doctype):
		if doctype not in META:
			raise NotFound(f"DocType {doctype} does not exist")
		perms = self._perms(META[doctype].name if not META[doctype].is_table else doctype)
		return {p: p in perms for p in ("read", "write", "create", "delete", "submit", "cancel")}

	def readable_doctypes(self):
		return [
			{"name": dt, "module": i.module, "is_submittable": i.is_submittable, "is_single": False}
			for dt, i in META.items()
			if not i.is_table and "read" in self._perms(dt)
		]

	def describe(self, doctype):
		if doctype not in META:
			raise NotFound(f'DocType "{doctype}" does not exist.')
		base = META[doctype]
		levels = self._permlevels(doctype)
		info = copy.copy(base)
		info.fields = [f for f in base.fields if f.permlevel in levels]
		info.children = {f.fieldname: self.describe(f.options) for f in info.fields if f.is_table}
		return info

	def require_permission(self, doctype, ptype):
		if doctype not in META:
			raise NotFound(f'DocType "{doctype}" does not exist.')
		self._require(doctype, ptype)

	def load_for_update(self, doctype, name):
		return self.get_document(doctype, name)

	def check_document_permission(self, doctype, name, ptype):
		self._require(doctype, ptype)

	def new_document_defaults(self, doctype):
		info = self.describe(doctype)
		return {f.fieldname: f.default for f in info.fields if f.default not in (None, "") and not f.is_table}

	def in_scope(self, doctype, name, filters):
		rows = self.list_documents(
			doctype,
			fields=["name"],
			filters=[["name", "=", name], *filters],
			or_filters=None,
			order_by=None,
			start=0,
			page_length=1,
		)
		return bool(rows)

	def _require(self, doctype, ptype):
		if ptype not in self._perms(doctype):
			raise PermissionDenied(
				f"Your ERPNext roles do not allow {ptype} on {doctype}.", layer="ERPNext role permissions"
			)

	def _strip(self, doctype, doc):
		info = self.describe(doctype)
		keep = set(info.fieldnames) | set(STANDARD_FIELDS)
		out = {}
		for k, v in doc.items():
			if k in keep:
				out[k] = [self._strip(info.children[k].name, r) for r in v] if k in info.children else v
		return out

	# ---- reads
	def list_documents(self, doctype, *, fields, filters, or_filters, order_by, start, page_length):
		self._require(doctype, "read")
		rows = [d for d in self.store.docs.get(doctype, {}).values() if all(_match(d, f) for f in filters)]
		if or_filters:
			rows = [d for d in rows if any(_match(d, f) for f in or_filters)]
		if order_by:
			for part in reversed(order_by.split(", ")):
				col, direction = part.rsplit(" ", 1)
				key = col.split(".")[-1].strip("`")
				rows.sort(key=lambda d: (d.get(key) is None, str(d.get(key))), reverse=direction == "desc")
		else:
			rows.sort(key=lambda d: d["modified"], reverse=True)
		return [{f: copy.deepcopy(d.get(f)) for f in fields} for d in rows[start : start + page_length]]

	def get_document(self, doctype, name):
		if doctype not in META:
			raise NotFound(f'DocType "{doctype}" does not exist.')
		doc = _lookup(self.store.docs.get(doctype, {}), name)
		if doc is None:
			raise NotFound(f"{doctype} {name} not found")
		self._require(doctype, "read")
		return self._strip(doctype, copy.deepcopy(doc))

	# ---- writes
	def create_document(self, doctype, values, *, before_insert, idempotency_key=None):
		self._require(doctype, "create")
		if idempotency_key and (doctype, self.user, idempotency_key) in self.store.idempotency:
			return self.get_document(doctype, self.store.idempotency[(doctype, self.user, idempotency_key)])
		info = META[doctype]
		doc = {f.fieldname: f.default for f in info.fields if not f.is_table}
		doc.update(copy.deepcopy(values))
		for f in info.fields:
			if f.reqd and not doc.get(f.fieldname):
				raise ValidationFailed(f"Mandatory field missing: {f.label}")
		before_insert(doc)
		name = f"{doctype[:4].upper()}-{next(self.store.counter)}"
		doc.update(
			{
				"name": name,
				"docstatus": 0,
				"owner": self.user,
				"modified": "2026-11-27 10:00:00.000000",
				"modified_by": self.user,
				"creation": "2026-11-27 10:00:00.000000",
				"idx": 0,
			}
		)
		self.store.docs.setdefault(doctype, {})[name] = doc
		if idempotency_key:
			self.store.idempotency[(doctype, self.user, idempotency_key)] = name
		return self._strip(doctype, copy.deepcopy(doc))

	def update_document(self, doctype, name, values, *, before_save, expected_modified=None):
		self._require(doctype, "write")
		stored = self.store.docs.get(doctype, {}).get(name)
		if stored is None:
			raise NotFound(f"{doctype} {name} not found")
		if expected_modified and expected_modified != stored["modified"]:
			raise Conflict(f"{doctype} {name} was changed by someone else since you read it; read it again.")
		if stored.get("docstatus"):
			raise ValidationFailed("Cannot edit a submitted or cancelled document")
		merged = copy.deepcopy(stored)
		merged.update(copy.deepcopy(values))
		before_save(copy.deepcopy(stored), copy.deepcopy(merged))
		merged["modified"] = "2026-11-27 11:00:00.000000"
		self.store.docs[doctype][name] = merged
		return self._strip(doctype, copy.deepcopy(merged))

	def delete_document(self, doctype, name):
		self._require(doctype, "delete")
		if name not in self.store.docs.get(doctype, {}):
			raise NotFound(f"{doctype} {name} not found")
		del self.store.docs[doctype][name]

	def change_docstatus(self, doctype, name, operation):
		self._require(doctype, operation)
		doc = self.store.docs.get(doctype, {}).get(name)
		if doc is None:
			raise NotFound(f"{doctype} {name} not found")
		want = {"submit": (0, 1), "cancel": (1, 2)}[operation]
		if doc["docstatus"] != want[0]:
			raise ValidationFailed(f"Cannot {operation} a document with docstatus {doc['docstatus']}")
		doc["docstatus"] = want[1]
		return self._strip(doctype, copy.deepcopy(doc))

	# ---- totals, reports, link search, conversions
	def aggregate_documents(self, doctype, *, aggregates, group_by, filters, order_by, limit):
		self._require(doctype, "read")
		rows = [d for d in self.store.docs.get(doctype, {}).values() if all(_match(d, f) for f in filters)]
		groups: dict[tuple, list[dict]] = {}
		for d in rows:
			groups.setdefault(tuple(d.get(g) for g in group_by), []).append(d)
		if not group_by:
			groups = {(): rows}
		out = []
		for key, members in groups.items():
			row = dict(zip(group_by, key, strict=True))
			for function, fieldname, alias in aggregates:
				values = [float(m[fieldname]) for m in members if fieldname and m.get(fieldname) is not None]
				row[alias] = {
					"count": lambda: len(members),
					"sum": lambda v=values: sum(v) if v else None,
					"avg": lambda v=values: sum(v) / len(v) if v else None,
					"min": lambda v=values: min(v) if v else None,
					"max": lambda v=values: max(v) if v else None,
				}[function]()
			out.append(row)
		if order_by:
			key, direction = order_by
			out.sort(key=lambda r: (r.get(key) is None, r.get(key)), reverse=direction == "desc")
		return out[:limit]

	def count_documents(self, doctype, filters):
		return self.aggregate_documents(
			doctype,
			aggregates=[("count", None, "count")],
			group_by=[],
			filters=filters,
			order_by=None,
			limit=1,
		)[0]["count"]

	def search_link(self, doctype, text, page_length):
		"""As ERPNext's link search: name, title and every search field, whatever a profile hides."""
		self._require(doctype, "read")
		info = META[doctype]
		fields = ["name", info.title_field, *info.search_fields]
		hits = [
			name
			for name, d in sorted(self.store.docs.get(doctype, {}).items())
			if any(text.casefold() in str(d.get(f) or "").casefold() for f in fields if f)
		]
		return hits[:page_length]

	def report_definition(self, report_name):
		report = REPORTS.get(report_name)
		if report is None:
			raise NotFound(f'There is no report "{report_name}" on this site.')
		if not report["roles"] & self.roles:
			raise PermissionDenied(
				f"ERPNext does not allow this on Report {report_name}: You don't have access to Report",
				layer="ERPNext permissions",
			)
		return {
			"name": report_name,
			"report_type": report["report_type"],
			"ref_doctype": "Customer",
			"filters": report["filters"],
			"add_total_row": False,
		}

	def run_report(self, report_name, filters):
		self.report_definition(report_name)
		rows = [
			{
				"customer": name,
				"customer_name": d["customer_name"],
				"credit_limit": d["credit_limit"],
				"rank": 0,
			}
			for name, d in sorted(self.store.docs["Customer"].items())
			if d["territory"] == filters["territory"] and d["credit_limit"] >= filters.get("min_limit", 0)
		]
		columns = [
			{"fieldname": "customer", "label": "Customer", "fieldtype": "Link", "options": "Customer"},
			{"fieldname": "customer_name", "label": "Customer Name", "fieldtype": "Data"},
			{"fieldname": "credit_limit", "label": "Credit Limit", "fieldtype": "Currency"},
			{"fieldname": "rank", "label": "Rank", "fieldtype": "Int"},
		]
		return {"columns": columns, "rows": rows, "message": None, "has_total_row": False}

	def make_mapped_document(self, method, source_name, values, *, save, before_insert):
		if not method.endswith("sales_order.make_sales_invoice"):
			raise ValidationFailed(f"tier 1 maps only Sales Order to Sales Invoice, not {method}")
		self._require("Sales Order", "read")
		self._require("Sales Invoice", "create")
		source = self.get_document("Sales Order", source_name)
		draft = {
			"customer": source["customer"],
			"posting_date": "2026-11-27",
			"grand_total": source["grand_total"],
			"items": [{k: v for k, v in r.items() if k != "name"} for r in source["items"]],
			**copy.deepcopy(values or {}),
		}
		if not save:
			before_insert(copy.deepcopy(draft))
			return self._strip("Sales Invoice", draft)
		return self.create_document("Sales Invoice", draft, before_insert=before_insert)

	# ---- approval requests
	def create_approval(self, **request):
		name = f"MCP-APR-{next(self.store.counter):05d}"
		arguments = request.pop("arguments")
		expiry = request.pop("expiry_minutes")
		row = {
			"name": name,
			"status": approval_rules.PENDING,
			"requester": self.user,
			"tool": request["tool"],
			"operation": request["operation"],
			"doctype": request["doctype"],
			"document_name": request["document_name"],
			"fingerprint": approval_rules.fingerprint(request["tool"], arguments),
			"expires_at": datetime.now() + timedelta(minutes=expiry),
			"summary": request["summary"],
			"url": f"http://tier1.localhost/app/mcp-approval-request/{name}",
			"arguments": approval_rules.call_arguments(arguments),
			"approver_role": request["approver_role"],
			"profile": request["profile"],
		}
		self.store.approvals[name] = row
		self.store.notified.append((row["approver_role"], name))
		return approval_view(row)

	def get_approval(self, name):
		row = self.store.approvals.get(name)
		return approval_view(row) if row else None

	def now(self):
		return datetime.now()

	def claim_approval(self, name):
		row = self.store.approvals.get(name)
		if row is None or approval_view(row).effective_status(datetime.now()) != approval_rules.APPROVED:
			return False
		row["status"] = approval_rules.EXECUTED
		return True

	def begin(self):
		self._snapshot = copy.deepcopy(self.store.docs)
		self._approvals_snapshot = copy.deepcopy(self.store.approvals)

	def rollback(self):
		self.store.docs.clear()
		self.store.docs.update(copy.deepcopy(self._snapshot))
		self.store.approvals.clear()
		self.store.approvals.update(copy.deepcopy(self._approvals_snapshot))

	def log_error(self, title):
		self.errors.append(title)
		return f"ERR-{len(self.errors)}"


def _num(v):
	try:
		return Decimal(str(v))
	except Exception:
		return None


def collate(value) -> str:
	"""Text as MariaDB's utf8mb4_unicode_ci compares it: case, accents and trailing spaces do not
	count (leading spaces do). Tier 1 filters with this so it cannot pass where the site would not."""
	text = unicodedata.normalize("NFKD", str(value))
	text = "".join(ch for ch in text if not unicodedata.combining(ch))
	return text.rstrip(" ").casefold()


def _lookup(docs: dict, name):
	"""A document by name as MariaDB finds it (the name column compares under the collation)."""
	if name in docs:
		return docs[name]
	for key, doc in docs.items():
		if collate(key) == collate(name):
			return doc
	return None


def _same(actual, value) -> bool:
	"""`=` as the site's SQL sees it: numbers as numbers, text under the collation, unset as ''."""
	actual = "" if actual is None else actual
	value = "" if value is None else value
	if isinstance(actual, (int, float, Decimal)):
		b = _num(value)
		return b is not None and _num(actual) == b
	return collate(actual) == collate(value)


def _match(doc: dict, flt: list) -> bool:
	field, op, value = flt
	actual = doc.get(field)
	if op == "=":
		return _same(actual, value)
	if op == "!=":
		return not _same(actual, value)
	if op in ("in", "not in"):
		hit = any(_same(actual, v) for v in value)
		return hit if op == "in" else not hit
	if op == "is":
		present = actual not in (None, "")
		return present if value == "set" else not present
	if op in ("like", "not like"):
		pattern = str(value).replace("\\%", "\0").replace("%", "*").replace("\0", "%").replace("\\_", "_")
		hit = fnmatch.fnmatch(str(actual or "").lower(), pattern.lower())
		return hit if op == "like" else not hit
	if op == "between":
		a, lo, hi = _num(actual), _num(value[0]), _num(value[1])
		if None in (a, lo, hi):
			return str(value[0]) <= str(actual) <= str(value[1])
		return lo <= a <= hi
	a, b = _num(actual), _num(value)
	if a is None or b is None:
		a, b = str(actual), str(value)
	return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
