"""The data-access interface the protocol layer codes against (pure; Frappe implements it in frappe_backend).

Every method acts as the calling user: implementations must apply ERPNext's role permissions, User
Permissions, sharing and permlevels themselves, and never widen them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Fields every document has; readable wherever the document is.
STANDARD_FIELDS: tuple[str, ...] = (
	"name",
	"owner",
	"creation",
	"modified",
	"modified_by",
	"docstatus",
	"idx",
)
TABLE_FIELDTYPES = frozenset({"Table", "Table MultiSelect"})
# Field types that hold no data (layout only); never listed, read or written.
LAYOUT_FIELDTYPES = frozenset(
	{"Section Break", "Column Break", "Tab Break", "HTML", "Button", "Heading", "Fold", "Image"}
)


@dataclass(frozen=True)
class FieldInfo:
	fieldname: str
	label: str
	fieldtype: str
	options: str | None = None
	reqd: bool = False
	read_only: bool = False
	permlevel: int = 0
	default: Any = None
	description: str | None = None
	in_list_view: bool = False
	set_only_once: bool = False  # may be set on create, never changed afterwards
	hidden: bool = False  # not shown in Desk's form (internal or computed)

	@property
	def is_table(self) -> bool:
		return self.fieldtype in TABLE_FIELDTYPES

	def as_dict(self) -> dict[str, Any]:
		out: dict[str, Any] = {
			"fieldname": self.fieldname,
			"label": self.label,
			"fieldtype": self.fieldtype,
			"required": self.reqd,
			"read_only": self.read_only,
		}
		if self.options:
			if self.fieldtype == "Link":
				out["link_doctype"] = self.options
			elif self.is_table:
				out["child_doctype"] = self.options
			elif self.fieldtype == "Select":
				out["options"] = [o for o in self.options.split("\n") if o]
			else:
				out["options"] = self.options
		if self.default not in (None, ""):
			out["default"] = self.default
		if self.description:
			out["description"] = self.description
		return out


@dataclass
class DocTypeInfo:
	"""A DocType as the caller sees it: only fields whose permlevel the caller may read."""

	name: str
	module: str = ""
	is_submittable: bool = False
	is_single: bool = False
	is_table: bool = False
	title_field: str | None = None
	search_fields: list[str] = field(default_factory=list)
	fields: list[FieldInfo] = field(default_factory=list)
	children: dict[str, DocTypeInfo] = field(default_factory=dict)
	# Every data field of the DocType, readable or not: to tell "unknown field" from "not yours".
	all_fieldnames: frozenset[str] = frozenset()
	children_ready: bool = False
	# Naming by prompt: the creator chooses the name, so create may set "name".
	name_set_by_user: bool = False
	# Fields whose permlevel the caller may write; None: every readable field.
	writable_fieldnames: frozenset[str] | None = None
	# Whether a document shared with the caller could open more (level 0 not open by roles alone):
	# only then does describe() ask DocShare.
	share_can_widen: bool = False

	def can_write(self, fieldname: str) -> bool:
		if self.field(fieldname) is None:
			return False
		return self.writable_fieldnames is None or fieldname in self.writable_fieldnames

	def field(self, fieldname: str) -> FieldInfo | None:
		for f in self.fields:
			if f.fieldname == fieldname:
				return f
		return None

	@property
	def fieldnames(self) -> list[str]:
		return [f.fieldname for f in self.fields]

	def column_fieldnames(self) -> list[str]:
		"""Fields stored as columns of the DocType's own table (what a list query can select)."""
		return list(STANDARD_FIELDS) + [f.fieldname for f in self.fields if not f.is_table]

	def knows(self, fieldname: str) -> bool:
		return fieldname in STANDARD_FIELDS or fieldname in self.all_fieldnames


class DataBackend(Protocol):
	def caller(self) -> dict[str, Any]:
		"""{"user", "full_name", "roles"} of the authenticated caller."""

	def site_info(self) -> dict[str, Any]:
		"""{"site", "url", "frappe_version", "erpnext_version", "app_version"}."""

	def readable_doctypes(self) -> list[dict[str, Any]]:
		"""Non-child DocTypes the caller may read: [{"name", "module", "is_submittable", "is_single"}]."""

	def describe(self, doctype: str) -> DocTypeInfo:
		"""Meta as the caller sees it. Raises NotFound for an unknown DocType."""

	def erpnext_permissions(self, doctype: str) -> dict[str, bool]:
		"""ERPNext's own DocType-level answer per operation for the caller."""

	def list_documents(
		self,
		doctype: str,
		*,
		fields: list[str],
		filters: list[list],
		or_filters: list[list] | None,
		order_by: str | None,
		start: int,
		page_length: int,
	) -> list[dict[str, Any]]:
		"""Rows the caller may read (frappe.get_list as the caller)."""

	def get_document(self, doctype: str, name: str) -> dict[str, Any]:
		"""The whole document with child rows, permlevel-restricted fields removed. NotFound / PermissionDenied."""

	def require_permission(self, doctype: str, ptype: str) -> None:
		"""ERPNext's DocType-level answer for `ptype` (read, write, create, delete, submit, cancel).
		Raises PermissionDenied naming the caller's roles."""

	def load_for_update(self, doctype: str, name: str) -> dict[str, Any]:
		"""get_document with the row locked until the call ends (writes): same answers, same NotFound."""

	def check_document_permission(self, doctype: str, name: str, ptype: str) -> None:
		"""ERPNext's document-level answer (User Permissions, ownership, sharing) for `ptype`."""

	def in_scope(self, doctype: str, name: str, filters: list[list]) -> bool:
		"""Does the database list the document under these filters, as the caller (frappe.get_list)?"""

	def new_document_defaults(self, doctype: str) -> dict[str, Any]:
		"""The values a new document starts with for the caller (static and user defaults, as Desk's
		New form has them); only fields the caller may read."""

	def create_approval(self, **request: Any) -> Any:
		"""A new Pending MCP Approval Request for the caller (policy.approvals.ApprovalView), written in
		this call's transaction, its approvers notified. Keys: tool, operation, doctype, document_name,
		arguments, summary, profile, rule, approver_role, expiry_minutes."""

	def get_approval(self, name: str) -> Any:
		"""The stored request as an ApprovalView, or None; whoever asks (the caller checks requester)."""

	def now(self) -> Any:
		"""The site's current time, naive, in the timezone the approval's expires_at is in."""

	def claim_approval(self, name: str) -> bool:
		"""Approved → Executed atomically in this call's transaction; False if it was not Approved (or
		expired). rollback() undoes it with the call's writes."""

	def begin(self) -> None:
		"""Mark the start of one tool call's writes."""

	def rollback(self) -> None:
		"""Undo everything this call wrote since begin()."""

	def log_error(self, title: str) -> str | None:
		"""Record the current exception where administrators look (Error Log); returns its reference."""
