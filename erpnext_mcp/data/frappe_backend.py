"""DataBackend on a real site, as the session user: frappe.get_list / frappe.get_doc + permission
checks, never get_all on documents and never ignore_permissions. Frappe's exceptions become the
app's ToolErrors here, with Frappe's own message and without SQL or tracebacks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import frappe
from frappe.utils import get_url

from erpnext_mcp import __version__
from erpnext_mcp.data.backend import LAYOUT_FIELDTYPES, STANDARD_FIELDS, DocTypeInfo, FieldInfo
from erpnext_mcp.data.gate import not_found
from erpnext_mcp.exceptions import (
	Conflict,
	InvalidArguments,
	NotFound,
	PermissionDenied,
	ToolError,
	Unavailable,
	ValidationFailed,
)

ERPNEXT_PTYPES = (
	"read",
	"write",
	"create",
	"delete",
	"submit",
	"cancel",
	"amend",
	"report",
	"export",
	"print",
	"email",
	"share",
)
IDEMPOTENCY_TTL = 24 * 3600
SAVEPOINT = "erpnext_mcp_tool_call"
DRAFT_SAVEPOINT = "erpnext_mcp_draft"
# DocTypeInfo per (site, DocType, parent, roles, permission epoch, schema version): see describe().
_DESCRIBED: dict[tuple, DocTypeInfo] = {}
_TAG_RE = re.compile(r"<[^>]+>")


def clean_message(exc: BaseException) -> str:
	"""Frappe's message for a person: what it showed the user (its message log) when there is one,
	else the exception text; tags stripped. Database errors never come here."""
	text = ""
	for entry in reversed(getattr(frappe.local, "message_log", None) or []):
		if isinstance(entry, str):
			try:
				entry = json.loads(entry)
			except ValueError:
				entry = {"message": entry}
		if isinstance(entry, dict) and entry.get("message"):
			text = str(entry["message"])
			break
	text = text or str(exc) or ""
	text = _TAG_RE.sub("", text)
	return " ".join(text.split())[:1000] or type(exc).__name__


@contextlib.contextmanager
def translated_errors(doctype: str, name: str | None = None) -> Iterator[None]:
	"""Frappe exceptions → ToolErrors that say what happened in ERPNext's own words."""
	what = f"{doctype} {name}" if name else doctype
	try:
		yield
	except ToolError:
		raise
	except frappe.DoesNotExistError as e:
		# The document addressed by name is loaded by _load (NotFound); a DoesNotExistError from here
		# on comes from inside ERPNext's validation: a linked record that is missing.
		raise ValidationFailed(f"ERPNext refused {what}: {missing_record_message(e)}")
	except frappe.PermissionError as e:
		raise PermissionDenied(
			f"ERPNext does not allow this on {what}: {clean_message(e) or 'not permitted'}",
			layer="ERPNext permissions",
		)
	except frappe.TimestampMismatchError:
		raise Conflict(f"{what} was changed by someone else meanwhile; read it again and retry.")
	except frappe.QueryDeadlockError:
		raise Unavailable("The database was busy (deadlock); nothing was saved. Retry the call.")
	except frappe.QueryTimeoutError:
		raise Unavailable("The database was busy (lock wait timeout); nothing was saved. Retry the call.")
	except frappe.DuplicateEntryError:
		raise ValidationFailed(f"{what}: a document with this name already exists.")
	except frappe.ValidationError as e:
		raise ValidationFailed(f"ERPNext refused {what}: {clean_message(e)}")
	finally:
		# Frappe queues msgprints for the HTTP response; ours is built by the MCP layer instead.
		if getattr(frappe.local, "message_log", None):
			frappe.local.message_log = []


def missing_record_message(exc: BaseException) -> str:
	"""ERPNext's "Item NOPE-1 not found" as "Item NOPE-1 does not exist" (what the agent must fix)."""
	text = clean_message(exc)
	if text.endswith(" not found"):
		text = text[: -len(" not found")] + " does not exist"
	return text


def _load(doctype: str, name: str, *, for_update: bool = False):
	"""The document addressed by name; the gate's not-found refusal if there is none."""
	try:
		return frappe.get_doc(doctype, name, for_update=for_update)
	except frappe.DoesNotExistError:
		frappe.local.message_log = []
		raise not_found(doctype, name)


def missing_mandatory(doc, tables: set[str] | frozenset[str] = frozenset()) -> list[str]:
	"""Every mandatory field the document leaves empty, and those of the rows of `tables` (the child
	tables the agent sent), as "fieldname (Label)" / "items[2].qty (Quantity)": what the agent must
	add, all in one message. Rows ERPNext added itself are not the agent's to fix."""
	missing: list[str] = []

	def scan(d, prefix: str) -> None:
		for df in frappe.get_meta(d.doctype).fields:
			if not df.reqd or df.fieldtype in LAYOUT_FIELDTYPES:
				continue
			value = d.get(df.fieldname)
			if value is None or value == [] or (isinstance(value, str) and not value.strip()):
				missing.append(f"{prefix}{df.fieldname} ({df.label or df.fieldname})")

	scan(doc, "")
	for table in frappe.get_meta(doc.doctype).get_table_fields():
		if table.fieldname not in tables:
			continue
		for i, row in enumerate(doc.get(table.fieldname) or []):
			scan(row, f"{table.fieldname}[{i}].")
	return missing


def _insert(doc, tables: set[str]) -> None:
	"""doc.insert(), with a missing mandatory field always reported as such: Frappe's MandatoryError
	names one field per message, and some ERPNext releases crash on a missing field before Frappe's
	own check runs (e.g. Customer's autoname without customer_name). The check runs on the document
	as it stands when the insert stops, after ERPNext filled what it fills itself (currency, rates,
	UOMs...), so it never asks an agent for a value ERPNext would have set."""
	try:
		doc.insert()
	except (frappe.MandatoryError, AttributeError, TypeError, KeyError, IndexError, ValueError):
		# MandatoryError, or a crash in ERPNext's code (not a refusal) of which a missing mandatory
		# field is the usual cause: name what is missing; anything else goes on as it was.
		missing = missing_mandatory(doc, tables)
		if not missing:
			raise
		frappe.local.message_log = []
		raise ValidationFailed(_mandatory_message(doc.doctype, missing))


def _set_values(doc, values: dict[str, Any]) -> None:
	"""A new document's values as given: a child table given is replaced by the rows given."""
	for fieldname, value in values.items():
		if isinstance(value, list):
			doc.set(fieldname, [])
			for row in value:
				doc.append(fieldname, {k: v for k, v in row.items() if k != "name"})
		else:
			doc.set(fieldname, value)


def _mandatory_message(doctype: str, missing: list[str]) -> str:
	return (
		f"ERPNext refused {doctype}: mandatory field(s) missing: {', '.join(missing)}. "
		"Add them to values (describe_doctype lists each DocType's mandatory fields)."
	)


# Aggregate functions as Frappe's list query takes them: v16's query engine wants {"SUM": field},
# v15's DatabaseQuery a "sum(`tabX`.`field`)" text.
_NEW_QUERY_ENGINE = int(frappe.__version__.split(".")[0]) >= 16


def _column_ref(doctype: str, fieldname: str) -> str:
	return fieldname if _NEW_QUERY_ENGINE else f"`tab{doctype}`.`{fieldname}`"


def _aggregate_column(doctype: str, function: str, fieldname: str | None, alias: str) -> Any:
	if _NEW_QUERY_ENGINE:
		return {function.upper(): fieldname or "*", "as": alias}
	target = f"`tab{doctype}`.`{fieldname}`" if fieldname else "*"
	return f"{function}({target}) as {alias}"


def _json_safe(value: Any) -> Any:
	# Frappe's own JSON rules (dates, decimals, ...); no indent, so the C encoder does the work.
	return frappe.parse_json(frappe.as_json(value, indent=None, separators=(",", ":")))


class FrappeBackend:
	def __init__(self):
		self.user = frappe.session.user
		self._meta_cache: dict[tuple[str, str | None], DocTypeInfo] = {}
		self._epoch: str | None = None
		self._role_perms: dict[str, dict[str, bool]] = {}
		self._locked: dict[tuple[str, str], Any] = {}  # documents the gate loaded for update
		self._savepoint = False  # taken before this call's first write

	# ---------------------------------------------------------------- identity
	def caller(self) -> dict[str, Any]:
		return {
			"user": self.user,
			"full_name": frappe.utils.get_fullname(self.user),
			"roles": sorted(frappe.get_roles(self.user)),
		}

	def site_info(self) -> dict[str, Any]:
		versions = {
			app: getattr(frappe.get_module(app), "__version__", None) for app in frappe.get_installed_apps()
		}
		return {
			"site": frappe.local.site,
			"url": get_url(),
			"frappe_version": versions.get("frappe"),
			"erpnext_version": versions.get("erpnext"),
			"app_version": __version__,
		}

	# ---------------------------------------------------------------- meta
	def readable_doctypes(self) -> list[dict[str, Any]]:
		names = set(frappe.get_user().get_can_read())
		if not names:
			return []
		# Metadata only (module, flags) for DocTypes the user may already read: not document data.
		rows = frappe.get_all(
			"DocType",
			filters={"name": ["in", sorted(names)], "istable": 0},
			fields=["name", "module", "is_submittable", "issingle"],
		)
		return [
			{
				"name": r.name,
				"module": r.module,
				"is_submittable": bool(r.is_submittable),
				"is_single": bool(r.issingle),
			}
			for r in rows
		]

	def describe(self, doctype: str, parenttype: str | None = None) -> DocTypeInfo:
		key = (doctype, parenttype)
		if key in self._meta_cache:
			return self._meta_cache[key]
		if not isinstance(doctype, str) or not doctype:
			raise NotFound(
				f'DocType "{doctype}" does not exist. Call list_doctypes to see the DocTypes you may use.'
			)
		roles = tuple(sorted(frappe.get_roles(self.user)))
		if self._epoch is None:
			from erpnext_mcp.data.cache import permission_epoch

			self._epoch = permission_epoch()
		# Built once per process for each (DocType, roles, permissions, schema) and reused: the
		# permission epoch changes with DocPerms, roles and users. The schema's token is Frappe's
		# metadata_version, renewed whenever a DocType's cached meta is cleared (every schema,
		# customization and permission change does, and a patch's direct edit is followed by one):
		# so v15 need not unpickle the meta from Redis on every request. Without it, `modified`.
		from erpnext_mcp.data import request

		prelude = request.current(self.user)
		version = prelude.metadata_version if prelude is not None else None
		meta = None
		if version is None:
			meta = self._meta(doctype)
			schema: Any = str(meta.modified)
		else:
			schema = ("metadata_version", version)
		base_key = (
			frappe.local.site,
			doctype,
			parenttype,
			roles,
			self._epoch,
			schema,
			self.user == "Administrator",
		)

		def load_meta():
			return meta if meta is not None else self._meta(doctype)

		info = self._info(base_key, load_meta, doctype, parenttype, False, False)
		if info.share_can_widen:
			# Documents shared with the user open level 0 as Frappe's get_permitted_fieldnames does;
			# asked only when the roles leave level 0 closed (otherwise a share changes nothing).
			shared = bool(frappe.share.get_shared(doctype, self.user, ["read"], limit=1))
			shared_write = shared and bool(frappe.share.get_shared(doctype, self.user, ["write"], limit=1))
			if shared:
				info = self._info(base_key, load_meta, doctype, parenttype, shared, shared_write)
		self._meta_cache[key] = info
		if not info.children_ready:
			for f in info.fields:
				if f.is_table and f.options:
					info.children[f.fieldname] = self.describe(f.options, parenttype=doctype)
			info.children_ready = True
		return info

	@staticmethod
	def _meta(doctype: str):
		try:
			return frappe.get_meta(doctype)
		except frappe.DoesNotExistError:
			raise NotFound(
				f'DocType "{doctype}" does not exist. Call list_doctypes to see the DocTypes you may use.'
			)
		finally:
			frappe.local.message_log = []

	def _info(self, base_key: tuple, load_meta, doctype, parenttype, shared: bool, shared_write: bool):
		key = (*base_key, shared, shared_write)
		info = _DESCRIBED.get(key)
		if info is None:
			info = self._build_info(
				load_meta(), doctype, parenttype, shared=shared, shared_write=shared_write
			)
			if len(_DESCRIBED) > 2000:
				_DESCRIBED.clear()
			_DESCRIBED[key] = info
		return info

	def _build_info(
		self, meta, doctype: str, parenttype: str | None, *, shared: bool = False, shared_write: bool = False
	) -> DocTypeInfo:
		read_levels = set(meta.get_permlevel_access("read", parenttype=parenttype, user=self.user))
		role_read_levels = set(read_levels)
		if shared:
			read_levels.add(0)
		if self.user == "Administrator":
			read_levels = {df.permlevel for df in meta.fields} | {0}
		fields = [
			FieldInfo(
				fieldname=df.fieldname,
				label=df.label or df.fieldname,
				fieldtype=df.fieldtype,
				options=df.options or None,
				reqd=bool(df.reqd),
				read_only=bool(df.read_only),
				permlevel=df.permlevel or 0,
				default=df.default,
				description=df.description or None,
				in_list_view=bool(df.in_list_view),
				set_only_once=bool(df.set_only_once),
				hidden=bool(df.hidden),
			)
			for df in meta.fields
			if df.fieldtype not in LAYOUT_FIELDTYPES and df.permlevel in read_levels
		]
		info = DocTypeInfo(
			name=doctype,
			module=meta.module or "",
			is_submittable=bool(meta.is_submittable),
			is_single=bool(meta.issingle),
			is_table=bool(meta.istable),
			title_field=meta.title_field or None,
			search_fields=[f.strip() for f in (meta.search_fields or "").split(",") if f.strip()],
			fields=fields,
			all_fieldnames=frozenset(
				df.fieldname for df in meta.fields if df.fieldtype not in LAYOUT_FIELDTYPES
			),
			name_set_by_user=(meta.autoname or "").lower() == "prompt",
		)
		write_levels = set(meta.get_permlevel_access("write", parenttype=parenttype, user=self.user))
		info.share_can_widen = (
			not parenttype
			and self.user != "Administrator"
			and (0 not in role_read_levels or 0 not in write_levels)
		)
		if shared_write:
			write_levels.add(0)  # a document shared for writing opens level 0 as in Desk
		if self.user == "Administrator":
			write_levels = read_levels
		info.writable_fieldnames = frozenset(f.fieldname for f in fields if f.permlevel in write_levels)
		return info

	def erpnext_permissions(self, doctype: str) -> dict[str, bool]:
		"""ERPNext's DocType-level answer from the role permissions Frappe evaluates for has_permission:
		one evaluation per DocType (tools/list asks this for every DocType of the profile). Data access
		itself still goes through frappe.has_permission / get_list / get_doc on every call."""
		self.describe(doctype)
		if doctype not in self._role_perms:
			from frappe.permissions import get_role_permissions

			perms = get_role_permissions(frappe.get_meta(doctype), user=self.user)
			owner = perms.get("if_owner") or {}
			self._role_perms[doctype] = {
				ptype: bool(perms.get(ptype) or owner.get(ptype)) for ptype in ERPNEXT_PTYPES
			}
		return dict(self._role_perms[doctype])

	def require_permission(self, doctype: str, ptype: str) -> None:
		self.describe(doctype)
		self._require(doctype, ptype)

	def _require(self, doctype: str, ptype: str) -> None:
		if not frappe.has_permission(doctype, ptype, user=self.user):
			if ptype in ("read", "write") and frappe.share.get_shared(doctype, self.user, [ptype], limit=1):
				return  # documents shared with the user: Frappe decides per document, as in Desk
			roles = ", ".join(r for r in frappe.get_roles(self.user) if r not in ("All", "Guest")) or "none"
			raise PermissionDenied(
				f"Your ERPNext roles ({roles}) do not allow {ptype} on {doctype}.",
				layer="ERPNext role permissions",
				rule=f"{doctype}: {ptype}",
			)

	# ---------------------------------------------------------------- reads
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
		self._require(doctype, "read")
		kwargs: dict[str, Any] = {
			"fields": fields,
			"filters": filters,
			"limit_start": start,
			"limit_page_length": page_length,
		}
		if or_filters:
			kwargs["or_filters"] = or_filters
		if order_by:
			kwargs["order_by"] = order_by
		with translated_errors(doctype):
			rows = frappe.get_list(doctype, **kwargs)
		return _json_safe(rows)

	def _doc_as_dict(self, doc) -> dict[str, Any]:
		doc.apply_fieldlevel_read_permissions()
		info = self.describe(doc.doctype)
		return _json_safe(self._strip(info, doc.as_dict(no_default_fields=False)))

	def _strip(self, info: DocTypeInfo, data: dict[str, Any]) -> dict[str, Any]:
		"""Keep only standard fields and fields whose permlevel the caller may read."""
		keep = set(STANDARD_FIELDS) | set(info.fieldnames)
		out = {}
		for key, value in data.items():
			if key not in keep:
				continue
			child = info.children.get(key)
			if child is not None:
				out[key] = [self._strip(child, row) for row in (value or [])]
			else:
				out[key] = value
		return out

	def _readable(self, doctype: str, name: str, *, for_update: bool = False):
		"""The document if the caller may read it in ERPNext; else the same refusal as for a document
		that does not exist (no oracle for names one may not see)."""
		self.describe(doctype)
		self._require(doctype, "read")
		doc = _load(doctype, name, for_update=for_update)
		if not doc.has_permission("read"):
			raise not_found(doctype, name)
		return doc

	def get_document(self, doctype: str, name: str) -> dict[str, Any]:
		with translated_errors(doctype, name):
			return self._doc_as_dict(self._readable(doctype, name))

	def load_for_update(self, doctype: str, name: str) -> dict[str, Any]:
		with translated_errors(doctype, name):
			# Row lock: a concurrent write waits here, so the gate's checks hold until our write.
			doc = self._readable(doctype, name, for_update=True)
			self._locked[(doctype, name)] = doc
			# A copy cut to the readable levels: the locked document itself stays whole for the write.
			return _json_safe(self._strip(self.describe(doctype), doc.as_dict(no_default_fields=False)))

	def check_document_permission(self, doctype: str, name: str, ptype: str) -> None:
		doc = self._locked.get((doctype, name))
		with translated_errors(doctype, name):
			if doc is None:
				doc = _load(doctype, name)
			if not doc.has_permission(ptype):
				verb = "change" if ptype == "write" else ptype
				raise PermissionDenied(
					f"ERPNext does not let you {verb} {doctype} {name} (User Permissions, ownership or sharing).",
					layer="ERPNext document permissions",
				)

	def in_scope(self, doctype: str, name: str, filters: list[list]) -> bool:
		with translated_errors(doctype, name):
			rows = frappe.get_list(
				doctype, fields=["name"], filters=[["name", "=", name], *filters], limit_page_length=1
			)
		return bool(rows)

	def new_document_defaults(self, doctype: str) -> dict[str, Any]:
		info = self.describe(doctype)
		with translated_errors(doctype):
			doc = frappe.new_doc(doctype)
		readable = set(info.fieldnames)
		return {
			k: v
			for k, v in _json_safe(doc.as_dict()).items()
			if k in readable and v not in (None, "", []) and not isinstance(v, list)
		}

	# ---------------------------------------------------------------- writes
	def _check_child_rows(self, doc, values: dict[str, Any]) -> None:
		"""A child row that names a row must name one of this document's own rows."""
		info = self.describe(doc.doctype)
		for fieldname in info.children:
			rows = values.get(fieldname)
			if not isinstance(rows, list):
				continue
			own = {row.name for row in doc.get(fieldname) or []}
			for i, row in enumerate(rows):
				row_name = row.get("name") if isinstance(row, dict) else None
				if row_name and row_name not in own:
					raise InvalidArguments(
						f"values.{fieldname}[{i}]: row {row_name!r} is not a row of {doc.doctype} {doc.name}.{fieldname}; "
						"omit name to add a new row."
					)

	def create_document(
		self,
		doctype: str,
		values: dict[str, Any],
		*,
		before_insert: Callable[[dict[str, Any]], None],
		idempotency_key: str | None = None,
	) -> dict[str, Any]:
		self._writing()
		self._require(doctype, "create")
		key = f"erpnext_mcp:idempotency:{self.user}:{doctype}:{idempotency_key}" if idempotency_key else None
		fingerprint = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
		if key:
			previous = frappe.cache.get_value(key)
			if previous:
				if previous.get("values") != fingerprint:
					raise InvalidArguments(
						"idempotency_key was already used for a create with different values; use a new key."
					)
				if frappe.db.exists(doctype, previous["name"]):
					return self.get_document(doctype, previous["name"])
			# Two concurrent retries with one key: only one may create. The lock is kept after a success
			# (until it expires) so a retry racing our commit cannot create a second document.
			lock = frappe.cache.make_key(key + ":lock")
			if not frappe.cache.set(lock, "1", nx=True, ex=60):
				raise Conflict("A create with this idempotency_key is in progress; retry in a moment.")
		try:
			with translated_errors(doctype):
				doc = frappe.new_doc(doctype)
				_set_values(doc, values)
				before_insert(_json_safe(doc.as_dict()))
				_insert(doc, {k for k, v in values.items() if isinstance(v, list)})
				result = self._doc_as_dict(doc)
		except BaseException:
			if key:
				frappe.cache.delete(lock)
			raise
		if key:
			frappe.cache.set_value(
				key, {"name": doc.name, "values": fingerprint}, expires_in_sec=IDEMPOTENCY_TTL
			)
		return result

	def update_document(
		self,
		doctype: str,
		name: str,
		values: dict[str, Any],
		*,
		before_save: Callable[[dict[str, Any], dict[str, Any]], None],
		expected_modified: str | None = None,
	) -> dict[str, Any]:
		self._writing()
		self._require(doctype, "write")
		with translated_errors(doctype, name):
			# Row lock (taken by the gate already): a concurrent update waits instead of overwriting.
			doc = self._locked.get((doctype, name)) or _load(doctype, name, for_update=True)
			if not doc.has_permission("write"):
				raise PermissionDenied(
					f"ERPNext does not let you change {doctype} {name} (User Permissions, ownership or sharing).",
					layer="ERPNext document permissions",
				)
			if expected_modified and str(doc.modified) != str(expected_modified):
				raise Conflict(
					f"{doctype} {name} was modified at {doc.modified}, after the version you read "
					f"({expected_modified}); read it again and retry."
				)
			if doc.docstatus != 0:
				raise ValidationFailed(
					f"{doctype} {name} is {'submitted' if doc.docstatus == 1 else 'cancelled'}; only drafts can be changed."
				)
			self._check_child_rows(doc, values)
			stored = _json_safe(doc.as_dict())
			for fieldname, value in values.items():
				if isinstance(value, list):
					own = {row.name: row for row in doc.get(fieldname) or []}
					new_rows = []
					for row in value:
						existing = own.get(row.get("name")) if row.get("name") else None
						if existing is not None:
							existing.update({k: v for k, v in row.items() if k != "name"})
							new_rows.append(existing)
						else:
							new_rows.append({k: v for k, v in row.items() if k != "name"})
					doc.set(fieldname, new_rows)
				else:
					doc.set(fieldname, value)
			before_save(stored, _json_safe(doc.as_dict()))
			doc.save()
			return self._doc_as_dict(doc)

	def delete_document(self, doctype: str, name: str) -> None:
		self._writing()
		self._require(doctype, "delete")
		with translated_errors(doctype, name):
			doc = self._locked.get((doctype, name)) or _load(doctype, name, for_update=True)
			frappe.delete_doc(doctype, doc.name)

	def change_docstatus(self, doctype: str, name: str, operation: str) -> dict[str, Any]:
		self._writing()
		self._require(doctype, operation)
		with translated_errors(doctype, name):
			doc = self._locked.get((doctype, name)) or _load(doctype, name, for_update=True)
			if not doc.has_permission(operation):
				raise PermissionDenied(
					f"ERPNext does not let you {operation} {doctype} {name}.",
					layer="ERPNext document permissions",
				)
			expected = 0 if operation == "submit" else 1
			if doc.docstatus != expected:
				state = {0: "a draft", 1: "submitted", 2: "cancelled"}[doc.docstatus]
				raise ValidationFailed(
					f"{doctype} {name} is {state}; {operation} needs {'a draft' if expected == 0 else 'a submitted document'}."
				)
			if operation == "submit":
				doc.submit()
			else:
				doc.cancel()
			return self._doc_as_dict(doc)

	# ---------------------------------------------------------------- totals, reports, links, conversions
	def aggregate_documents(
		self,
		doctype: str,
		*,
		aggregates: list[tuple[str, str | None, str]],
		group_by: list[str],
		filters: list[list],
		order_by: tuple[str, str] | None,
		limit: int,
	) -> list[dict[str, Any]]:
		"""frappe.get_list with aggregate columns, as the caller: the same permission query conditions,
		User Permissions and sharing as a list. (function, fieldname or None for count, alias)."""
		self._require(doctype, "read")
		fields: list[Any] = list(group_by)
		for function, fieldname, alias in aggregates:
			fields.append(_aggregate_column(doctype, function, fieldname, alias))
		kwargs: dict[str, Any] = {"fields": fields, "filters": filters, "limit_page_length": limit}
		if group_by:
			kwargs["group_by"] = ", ".join(_column_ref(doctype, f) for f in group_by)
		if order_by:
			key, direction = order_by
			ref = _column_ref(doctype, key) if key in group_by else key
			kwargs["order_by"] = f"{ref} {direction}"
		elif group_by:
			kwargs["order_by"] = f"{_column_ref(doctype, group_by[0])} asc"
		else:
			kwargs["order_by"] = None
		with translated_errors(doctype):
			rows = frappe.get_list(doctype, **kwargs)
		return _json_safe(rows)

	def count_documents(self, doctype: str, filters: list[list]) -> int:
		rows = self.aggregate_documents(
			doctype,
			aggregates=[("count", None, "count")],
			group_by=[],
			filters=filters,
			order_by=None,
			limit=1,
		)
		return int(rows[0]["count"]) if rows else 0

	def report_definition(self, report_name: str) -> dict[str, Any]:
		from erpnext_mcp.data import reports

		if not frappe.db.exists("Report", report_name):
			raise NotFound(f'There is no report "{report_name}" on this site.')
		with translated_errors("Report", report_name):
			return reports.report_definition(report_name)

	def run_report(self, report_name: str, filters: dict[str, Any]) -> dict[str, Any]:
		from erpnext_mcp.data import reports

		with translated_errors("Report", report_name):
			return _json_safe(reports.run(report_name, filters))

	def search_link(self, doctype: str, text: str, page_length: int) -> list[str]:
		"""Names Frappe's own link search (Desk's link field: the DocType's search fields and ERPNext's
		standard queries, e.g. customer_query) finds for `text`, best first, as the caller."""
		from frappe.desk.search import search_widget

		self._require(doctype, "read")
		with translated_errors(doctype):
			results = search_widget(doctype, text, page_length=page_length, as_dict=True)
		names = []
		for row in results or []:
			value = row.get("value") if isinstance(row, dict) else (row[0] if row else None)
			if value is None and isinstance(row, dict):
				value = row.get("name")
			if isinstance(value, str) and value not in names:
				names.append(value)
		return names

	def make_mapped_document(
		self,
		method: str,
		source_name: str,
		values: dict[str, Any] | None,
		*,
		save: bool,
		before_insert: Callable[[dict[str, Any]], None],
	) -> dict[str, Any]:
		"""ERPNext's own conversion (the method its Create button calls), as the caller: get_mapped_doc
		checks read on the source and create on the target (the tool has asked ERPNext for create already).
		Saved as a draft only when asked."""
		mapper = frappe.get_attr(method)
		if not save:
			frappe.db.savepoint(DRAFT_SAVEPOINT)  # a draft writes nothing, whatever a mapper does
		try:
			return self._map(mapper, source_name, values, save=save, before_insert=before_insert)
		finally:
			if not save:
				frappe.db.rollback(save_point=DRAFT_SAVEPOINT)

	def _map(self, mapper, source_name, values, *, save, before_insert) -> dict[str, Any]:
		with translated_errors("conversion"):
			doc = mapper(source_name)
			target = doc.doctype
			_set_values(doc, values or {})
			draft = _json_safe(doc.as_dict())
			before_insert(draft)
			if not save:
				return _json_safe(self._strip(self.describe(target), doc.as_dict(no_default_fields=False)))
			_insert(doc, {k for k, v in (values or {}).items() if isinstance(v, list)})
			return self._doc_as_dict(doc)

	# ---------------------------------------------------------------- approval requests
	def create_approval(self, **request: Any) -> Any:
		from erpnext_mcp.data import approvals

		return approvals.create(requester=self.user, **request)

	def get_approval(self, name: str) -> Any:
		from erpnext_mcp.data import approvals

		return approvals.get(name)

	def now(self) -> Any:
		return frappe.utils.now_datetime()

	def claim_approval(self, name: str) -> bool:
		from erpnext_mcp.data import approvals

		return approvals.claim(name)

	# ---------------------------------------------------------------- transaction and errors
	def begin(self) -> None:
		# A savepoint, not a transaction: a failed call undoes only its own writes, and whatever wrapped
		# the request (a test's transaction, the audit record) stays intact. Taken before the call's
		# first write (_writing), so a read-only call costs no SAVEPOINT statement.
		self._savepoint = False

	def _writing(self) -> None:
		if not self._savepoint:
			frappe.db.savepoint(SAVEPOINT)
			self._savepoint = True

	def rollback(self) -> None:
		if self._savepoint:
			frappe.db.rollback(save_point=SAVEPOINT)

	def fresh_snapshot(self) -> None:
		"""End this request's transaction, which has written nothing, so the next read sees every commit
		made so far (REPEATABLE READ keeps the first read's snapshot). A plain ROLLBACK: nothing is
		committed inside the request, and Frappe's commit/rollback callbacks stay registered."""
		if frappe.db.transaction_writes:
			raise RuntimeError("fresh_snapshot after a write")
		frappe.db.sql("rollback")
		self._savepoint = False

	def log_error(self, title: str) -> str | None:
		try:
			log = frappe.log_error(title=title)
			return log.name if log else None
		except Exception:
			return None
