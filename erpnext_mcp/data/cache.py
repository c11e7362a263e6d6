"""The read cache: get/list/search results of a DataBackend kept in Redis, never stale, never shared
between users or policies; the single authority for what is cached and when it stops being valid.

`CachedBackend(FrappeBackend(), ...)` wraps the backend of one request. Only `get_document` and
`list_documents` (which serves list and search) are cached: the tools still run in full on every
call (profile checks, field cutting, the audit record), only the database read is skipped. Meta
(`describe`) stays per request in FrappeBackend. Errors are never cached.

Keys (cache_key.py): user, roles, a fingerprint of the effective policy, DocType, operation,
normalized arguments and the site's permission epoch. The DocType's version token is sealed into the
value: a read fetches token and entry in one round trip and uses the entry only if they agree.

Invalidation: `on_write` runs for every document event of every DocType (hooks.py doc_events "*")
and gives the DocType a new random version token, once immediately (so later reads in the same
transaction miss) and again after the transaction commits (so nothing a concurrent reader cached
from the pre-commit state survives). Submit, cancel, update-after-submit and delete also renew the
DocTypes the document links to (ERPNext updates those through the database: billed amounts,
outstanding, status). A rename, and a write to anything permissions depend on (users, roles, User
Permissions, shares, DocPerms, DocType and field customizations, MCP profiles and Settings), renews
the permission epoch and so ends every entry. Tokens are random, not counters, so a token Redis
evicts can never come back with a value an old entry was stored under.

Freshness across transactions: MariaDB runs REPEATABLE READ, so a request's snapshot may predate a
commit whose token renewal it has already seen. Before its first database read on a miss, a request
that has written nothing yet therefore ends its (read-only) transaction with a ROLLBACK (nothing is
committed inside a request), so the data it caches is at
least as new as the token it files it under; a request that has written does not store. (Under the
test runner, one thread and no other writer, nothing is committed and entries are stored.)

Bounds: entries live `cache_ttl_seconds`; a Redis sorted set indexes them by expiry and the oldest
are dropped beyond `cache_max_entries`; a result larger than MAX_ENTRY_BYTES is not cached. Writes
that bypass the document model entirely (raw SQL or frappe.db.set_value outside any document event
of that DocType or a linking document's submit/cancel) are not seen; the TTL bounds those.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import frappe

from erpnext_mcp.data import cache_key as keys
from erpnext_mcp.data.backend import DataBackend, DocTypeInfo

MAX_ENTRY_BYTES = 256 * 1024
# Writes to these change who may read what: every cached entry ends.
PERMISSION_DOCTYPES = frozenset(
	{
		"User",
		"Role",
		"Role Profile",
		"Module Profile",
		"User Group",
		"User Permission",
		"DocShare",
		"DocType",
		"Custom DocPerm",
		"Custom Field",
		"Property Setter",
		"System Settings",
		"MCP Settings",
		"MCP Permission Profile",
	}
)
# Events after which ERPNext updates linked documents through the database (not their own events).
CASCADE_EVENTS = frozenset({"on_submit", "on_cancel", "on_update_after_submit", "on_trash"})
# A rename rewrites links in every DocType that points at the document.
EVERYTHING_EVENTS = frozenset({"after_rename"})
_PENDING = "erpnext_mcp_cache_bumps"


def _logger():
	return frappe.logger("erpnext_mcp")


def _token() -> str:
	return secrets.token_hex(8)


class CachedBackend:
	"""A DataBackend whose reads are served from Redis when an equal read was cached and still valid."""

	def __init__(
		self,
		inner: DataBackend,
		*,
		user: str,
		policy,
		ttl: int,
		max_entries: int,
		max_bytes: int = MAX_ENTRY_BYTES,
	):
		self.inner = inner
		self.user = user
		self.policy = policy
		self.ttl = max(int(ttl), 1)
		self.max_entries = max(int(max_entries), 1)
		self.max_bytes = max_bytes
		self.hits = 0
		self.misses = 0
		self._fingerprint: str | None = None
		self._roles: list[str] | None = None
		self._dirty: set[str] = set()  # DocTypes this request wrote: read through from now on
		self._fresh = False

	# ---------------------------------------------------------------- passed through
	def __getattr__(self, name: str) -> Any:
		# Everything but the two cached reads and the writes (identity, meta, permissions, the
		# transaction, error logging) is the inner backend's, uncached.
		if name == "inner":
			raise AttributeError(name)
		return getattr(self.inner, name)

	# ---------------------------------------------------------------- cached reads
	def get_document(self, doctype: str, name: str) -> dict[str, Any]:
		return self._cached(doctype, "get", {"name": name}, lambda: self.inner.get_document(doctype, name))

	def list_documents(self, doctype: str, **kwargs) -> list[dict[str, Any]]:
		return self._cached(doctype, "list", kwargs, lambda: self.inner.list_documents(doctype, **kwargs))

	# ---------------------------------------------------------------- writes: read through afterwards
	def create_document(self, doctype: str, *args, **kwargs):
		self._dirty.add(doctype)
		return self.inner.create_document(doctype, *args, **kwargs)

	def update_document(self, doctype: str, *args, **kwargs):
		self._dirty.add(doctype)
		return self.inner.update_document(doctype, *args, **kwargs)

	def delete_document(self, doctype: str, *args, **kwargs):
		self._dirty.add(doctype)
		return self.inner.delete_document(doctype, *args, **kwargs)

	def change_docstatus(self, doctype: str, *args, **kwargs):
		self._dirty.add(doctype)
		return self.inner.change_docstatus(doctype, *args, **kwargs)

	# ---------------------------------------------------------------- machinery
	@property
	def served_from_cache(self) -> bool:
		return self.hits > 0

	def _key(self, doctype: str, operation: str, args: dict[str, Any], epoch: str) -> str:
		if self._fingerprint is None:
			self._fingerprint = keys.policy_fingerprint(self.policy)
			self._roles = list(frappe.get_roles(self.user))
		return keys.entry_key(
			user=self.user,
			roles=self._roles or (),
			fingerprint=self._fingerprint,
			doctype=doctype,
			operation=operation,
			args=args,
			epoch=epoch,
		)

	def _cached(self, doctype: str, operation: str, args: dict[str, Any], load: Callable[[], Any]) -> Any:
		if not isinstance(doctype, str) or doctype in self._dirty:
			return load()
		try:
			# One round trip: the DocType's version token (created if missing) and the entry.
			epoch = permission_epoch()
			key = frappe.cache.make_key(self._key(doctype, operation, args, epoch))
			version_key = frappe.cache.make_key(keys.version_key(doctype))
			pipe = frappe.cache.pipeline()
			pipe.set(version_key, _token(), nx=True)
			pipe.get(version_key)
			pipe.get(key)
			_, version, raw = pipe.execute()
			version = version.decode()
			data = keys.open_entry(version, raw)
		except Exception:
			_logger().warning("read cache unavailable; reading from the database", exc_info=True)
			return load()
		if data is not None:
			self.hits += 1
			return json.loads(data)
		self.misses += 1
		store = self._fresh_snapshot()
		result = load()
		if store:
			self._store(key, version, result)
		return result

	def _fresh_snapshot(self) -> bool:
		"""True when this request's next database read is at least as new as the tokens it just read."""
		if self._fresh:
			return True
		if frappe.flags.in_test:
			# One thread and no other writer; and a test's transaction holds its fixtures: never end it.
			self._fresh = True
		elif not frappe.db.transaction_writes:
			# Nothing written yet in this request: ending its read-only transaction (a ROLLBACK, never a
			# commit) loses nothing, and the next read starts a snapshot after the token read. (Reads
			# come before a call's writes and its savepoint, so the count is this request's.)
			self.inner.fresh_snapshot()
			self._fresh = True
		return self._fresh

	def _store(self, key: bytes, version: str, result: Any) -> None:
		try:
			data = json.dumps(result, separators=(",", ":"), default=str).encode()
			if len(data) > self.max_bytes:
				return
			data = keys.seal_entry(version, data)
			now = time.time()
			index = frappe.cache.make_key(keys.INDEX_KEY)
			pipe = frappe.cache.pipeline()
			pipe.setex(key, self.ttl, data)
			pipe.zadd(index, {key: now + self.ttl})
			pipe.zremrangebyscore(index, "-inf", now)
			pipe.zcard(index)
			count = pipe.execute()[-1]
			if count > self.max_entries:
				oldest = frappe.cache.zpopmin(index, count - self.max_entries)
				if oldest:
					frappe.cache.delete(*[member for member, _score in oldest])
		except Exception:
			_logger().warning("read cache: entry not stored", exc_info=True)


def tokens(doctype: str) -> tuple[str, str]:
	"""(the DocType's version token, the permission epoch), created if Redis has none. In an MCP
	request the epoch is the one its pipeline read (data/request.py): one key less per read."""
	from erpnext_mcp.data import request

	prelude = request.current()
	version_key = frappe.cache.make_key(keys.version_key(doctype))
	epoch_key = frappe.cache.make_key(keys.EPOCH_KEY)
	pipe = frappe.cache.pipeline()
	pipe.set(version_key, _token(), nx=True)
	if prelude is None:
		pipe.set(epoch_key, _token(), nx=True)
		pipe.mget(version_key, epoch_key)
		version, epoch = pipe.execute()[-1]
		return version.decode(), epoch.decode()
	pipe.get(version_key)
	version = pipe.execute()[-1]
	return version.decode(), prelude.epoch


def permission_epoch() -> str:
	"""The site's permission epoch: renewed by every write that can change what anyone may do."""
	from erpnext_mcp.data import request

	prelude = request.current()
	if prelude is not None:
		return prelude.epoch
	epoch_key = frappe.cache.make_key(keys.EPOCH_KEY)
	pipe = frappe.cache.pipeline()
	pipe.set(epoch_key, _token(), nx=True)
	pipe.get(epoch_key)
	return pipe.execute()[-1].decode()


def entry_count() -> int:
	"""Entries the index holds (expired ones included until the next store prunes them)."""
	return int(frappe.cache.zcard(frappe.cache.make_key(keys.INDEX_KEY)))


# ---------------------------------------------------------------- invalidation (doc_events "*")


def bump(doctypes: Iterable[str], everything: bool = False) -> None:
	"""New version tokens for `doctypes` (and a new permission epoch if `everything`): one round trip."""
	from erpnext_mcp.data import request

	pipe = frappe.cache.pipeline()
	for doctype in set(doctypes):
		pipe.set(frappe.cache.make_key(keys.version_key(doctype)), _token())
	if everything:
		epoch = _token()
		pipe.set(frappe.cache.make_key(keys.EPOCH_KEY), epoch)
	pipe.execute()
	prelude = request.current()
	if everything and prelude is not None:
		# the rest of this request reads the new epoch (and rebuilds its profiles under it)
		prelude.epoch, prelude.profiles, prelude.policy = epoch, None, None


def after_migrate() -> None:
	"""A migration may change schemas and permissions without doc events (a patch's direct edits):
	every cached read and process-local description starts again under a new epoch."""
	bump((), everything=True)


def linked_doctypes(doc) -> set[str]:
	"""DocTypes the document (and its child rows) links to: Link targets and Dynamic Link values."""
	out: set[str] = set()

	def collect(meta, rows):
		out.update(df.options for df in meta.get_link_fields() if df.options)
		dynamic = meta.get_dynamic_link_fields()
		for row in rows:
			for df in dynamic:
				value = row.get(df.options)
				if isinstance(value, str) and value:
					out.add(value)

	meta = frappe.get_meta(doc.doctype)
	collect(meta, [doc])
	for df in meta.get_table_fields():
		collect(frappe.get_meta(df.options), doc.get(df.fieldname) or [])
	return out


def on_write(doc, method: str | None = None, *args, **kwargs) -> None:
	"""doc_events hook for every DocType: renews tokens now and again after the commit. Never raises."""
	try:
		doctypes = {doc.doctype}
		if method in CASCADE_EVENTS:
			doctypes |= linked_doctypes(doc)
		everything = method in EVERYTHING_EVENTS or doc.doctype in PERMISSION_DOCTYPES
		bump(doctypes, everything)
		_after_commit(doctypes, everything)
	except Exception:
		_logger().warning("read cache: could not invalidate %s", getattr(doc, "doctype", "?"), exc_info=True)


def _after_commit(doctypes: set[str], everything: bool) -> None:
	pending = getattr(frappe.local, _PENDING, None)
	if pending is None:
		pending = {"doctypes": set(), "everything": False}
		setattr(frappe.local, _PENDING, pending)
		frappe.db.after_commit.add(_flush_pending)
		frappe.db.after_rollback.add(_drop_pending)
	pending["doctypes"] |= doctypes
	pending["everything"] = pending["everything"] or everything


def _flush_pending() -> None:
	pending = getattr(frappe.local, _PENDING, None)
	setattr(frappe.local, _PENDING, None)
	if pending:
		try:
			bump(pending["doctypes"], pending["everything"])
		except Exception:
			_logger().warning("read cache: could not invalidate after commit", exc_info=True)


def _drop_pending() -> None:
	setattr(frappe.local, _PENDING, None)


# ---------------------------------------------------------------- tools/list results

TOOLS_LIST_TTL = 600


def tools_list_cache(user: str, policy, settings):
	"""The serialized tools/list result of this user under this policy: building it for a profile with
	many DocTypes costs hundreds of ms (meta, permissions, schemas, the SDK's serialization), reading
	it back one Redis GET. The permission epoch changes with profiles, Settings, roles, DocPerms and
	schema edits, so a changed list is never served."""
	from erpnext_mcp import __version__
	from erpnext_mcp.server.http import ListCache

	def key() -> str:
		material = json.dumps(
			[
				user,
				sorted(frappe.get_roles(user)),
				keys.policy_fingerprint(policy() if callable(policy) else policy),
				permission_epoch(),
				[
					settings.per_doctype_tools,
					settings.max_per_doctype_tools,
					settings.max_tools,
					settings.max_page_length,
					settings.default_page_length,
				],
				__version__,
			],
			default=str,
		)
		return "erpnext_mcp:tools_list:" + hashlib.sha256(material.encode()).hexdigest()

	def get(k: str) -> str | None:
		try:
			value = frappe.cache.get(frappe.cache.make_key(k))
		except Exception:
			return None
		return value.decode() if value is not None else None

	def put(k: str, text: str) -> None:
		try:
			frappe.cache.set(frappe.cache.make_key(k), text.encode(), ex=TOOLS_LIST_TTL)
		except Exception:
			_logger().warning("tools/list result not cached", exc_info=True)

	return ListCache(key=key, get=get, put=put)
