"""MCP Audit Log: the one writer. Every request that reaches the MCP endpoint leaves exactly one
record (or, in an unauthenticated or rate-limited flood, counts towards one summary record).

Where a record goes, by who answered the request:
- `api/mcp.respond()` answered (allowed, denied, failed, rate limited, 401 for Guest, ...): the record
  is inserted once at the end of the exchange (one INSERT, no document machinery), inside the
  request's transaction, so it commits with the request (POST); a failed INSERT undoes only itself
  (MariaDB rolls back the statement, not the transaction). Tool failures roll back only to their own
  savepoint, before the record exists. `frappe.db.after_commit` marks the record committed; after
  Frappe has committed or rolled back, `after_request` writes it again (and commits) when that mark
  is missing: the request's transaction was rolled back or its commit failed. No SELECT asks. Safe
  methods (GET), whose transaction Frappe always rolls back, are written only there.
  An exchange that wrote nothing (ping, tools/list, a read, a refusal: no INSERT, UPDATE or DELETE
  in the request's transaction) has nothing to commit its record with: its record is written in
  Frappe's `after_response` (once the answer is sent, before Frappe closes the request), in a
  transaction of its own. Its client does not wait for that commit; a write's record still commits
  with the write, or not at all.
- Frappe answered before the endpoint ran (bad credentials → 401, unparsable JSON, ...):
  `after_request` builds the record from the request and response and writes and commits it itself.
- A write that fails is never silently lost: the record is queued in Redis (and logged, with an
  Error Log at most every few minutes), and the scheduled `flush` writes the queue to the database.
  If Redis is down too, the record itself goes to the app's log file (it holds no values).

Flood bound: records of unauthenticated requests (per IP) and of rate-limit refusals (per user) are
written one by one only up to FLOOD_PER_SUBJECT a minute, and FLOOD_TOTAL a minute site-wide; the rest
are counted in Redis and `flush` writes one summary record per source, result and minute, whose
`request_count` says how many requests it stands for.

Records carry names, never values (audit_record.py builds them). Nothing here raises into a request.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import frappe
from frappe.utils import convert_utc_to_system_timezone, now_datetime

from erpnext_mcp import audit_record as records
from erpnext_mcp.audit_facts import RequestFacts, request_facts

DOCTYPE = "MCP Audit Log"
PENDING_KEY = "erpnext_mcp:audit:pending"  # Redis list of records the database did not take
PENDING_MAX = 20000
FLOOD_PER_SUBJECT = 20  # records a minute per IP (unauthenticated) or per user (rate limited)
FLOOD_TOTAL = 200  # such records a minute for the whole site
_FLOOD_KEY = "erpnext_mcp:audit:flood:{window}:{subject}"
_SUPPRESSED_KEY = "erpnext_mcp:audit:suppressed:{window}"
_SUPPRESSED_WINDOWS = "erpnext_mcp:audit:suppressed_windows"
_ERROR_LOGGED_KEY = "erpnext_mcp:audit:error_logged"
_LOCAL = "erpnext_mcp_audit"
_STARTED = "erpnext_mcp_started"


def _now() -> float:
	return time.time()


def _logger():
	return frappe.logger("erpnext_mcp")


def enabled() -> bool:
	try:
		value = frappe.get_cached_doc("MCP Settings").get("audit_enabled")
	except Exception:
		return True
	return value is None or bool(int(value))


# ---------------------------------------------------------------- one exchange


def exchange_started() -> None:
	"""`api/mcp.respond()` began: if it never records (it raised), after_request says the endpoint failed."""
	setattr(frappe.local, _LOCAL, [])


def record_exchange(record: dict[str, Any], *, audit_enabled: bool = True, defer: bool = False) -> str | None:
	"""The record of the exchange `api/mcp.respond()` just answered; returns its name when inserted."""
	entry: dict[str, Any] = {"record": record, "name": None, "state": "off"}
	setattr(frappe.local, _LOCAL, [entry])
	try:
		if not audit_enabled:
			return None
		# UTC now, in the site's time zone when written (_system_time): reading the time zone would
		# load System Settings before the answer, which Frappe otherwise does after it.
		record.setdefault("timestamp", datetime.now(timezone.utc))
		if not _admit(record):
			entry["state"] = "summarized"
		elif defer:
			entry["state"] = "deferred"
		elif (after_response := _after_response_queue()) is not None:
			entry["state"] = "after_response"
			after_response.add(lambda: _write_after_response(entry))
		else:
			entry["name"] = _insert(record, commit=False)
			entry["state"] = "inserted" if entry["name"] else "queued"
			if entry["name"]:
				# Runs only once Frappe's COMMIT succeeded; a rollback drops it (and keeps the mark unset).
				frappe.db.after_commit.add(_mark_committed)
	except Exception:
		_logger().error("MCP audit: record_exchange failed", exc_info=True)
	return entry["name"]


def _after_response_queue():
	"""Frappe's `after_response` callbacks of this request when it wrote nothing so far; else None.
	Outside an HTTP request (tests, stdio, the console) there is none: the record goes in the caller's
	transaction."""
	request = getattr(frappe.local, "request", None)
	queue = getattr(request, "after_response", None)
	if queue is None or not callable(getattr(queue, "add", None)):
		return None
	if getattr(frappe.db, "transaction_writes", 1):
		return None
	return queue


def _write_after_response(entry: dict[str, Any]) -> None:
	"""After the answer was sent: write the record and commit. Never raises: a callback that raised
	would keep Frappe from running the ones after it (its own cleanup among them)."""
	try:
		entry["name"] = _insert(entry["record"], commit=True)
	except Exception:
		_logger().error("MCP audit: writing a record after the response failed", exc_info=True)


def before_request() -> None:
	"""Stamps the start of a request to the endpoint (for the duration of requests Frappe refuses)."""
	from erpnext_mcp.api.mcp import ENDPOINT_PATH

	request = getattr(frappe.local, "request", None)
	if request is not None and request.path == ENDPOINT_PATH:
		setattr(frappe.local, _STARTED, time.monotonic())


def after_request(request, response) -> None:
	"""After Frappe's commit or rollback: make sure this request's record is in the database."""
	try:
		entries = getattr(frappe.local, _LOCAL, None)
		if not entries:
			if enabled():
				record = record_for_site_answer(request, response, endpoint_failed=entries == [])
				if _admit(record):
					_insert(record, commit=True)
			return
		for entry in entries:
			state = entry["state"]
			if state == "deferred" or (state == "inserted" and not entry.get("committed")):
				_insert(entry["record"], commit=True)
	except Exception:
		_logger().error("MCP audit: after_request failed", exc_info=True)
	finally:
		setattr(frappe.local, _LOCAL, None)


def _mark_committed() -> None:
	"""after_commit: the records this request inserted are in the database."""
	for entry in getattr(frappe.local, _LOCAL, None) or ():
		if entry["state"] == "inserted":
			entry["committed"] = True


def remote_ip(request) -> str:
	"""The client's address as Frappe sees it (X-Forwarded-For's first hop behind a proxy)."""
	ip = getattr(frappe.local, "request_ip", None)
	if ip:
		return ip
	forwarded = request.headers.get("X-Forwarded-For") if request is not None else None
	if forwarded:
		return forwarded.split(",", 1)[0].strip()
	return (getattr(request, "remote_addr", None) or "") if request is not None else ""


def record_for_site_answer(request, response, *, endpoint_failed: bool = False) -> dict[str, Any]:
	"""The record of a request Frappe answered itself: before the endpoint ran (credentials, body, site
	limits), or after the endpoint failed with an exception (its transaction was rolled back)."""
	headers = {k.lower(): v for k, v in request.headers.items()}
	body = request.get_data(cache=True) or b""
	facts = request_facts(headers, body)
	status = response.status_code
	user = getattr(getattr(frappe.local, "session", None), "user", None) or "Guest"
	if endpoint_failed:
		reason = f"internal error: the MCP endpoint failed (HTTP {status}); see the Error Log"
	elif status == 401 or (status == 403 and user == "Guest"):
		user = "Guest"
		reason = (
			"invalid credentials: the site refused the API key/secret or token before the MCP endpoint ran"
			if headers.get("authorization")
			else "authentication required: refused by the site before the MCP endpoint ran"
		)
	elif facts.parse_error:
		reason = "parse error: the request body is not valid JSON (refused by the site)"
	elif status == 429:
		reason = "the site's own rate limit (site_config rate_limit) refused the request"
	elif status < 400:
		reason = f"answered by the site before the MCP endpoint ran ({request.method})"
	else:
		reason = f"HTTP {status} from the site before the MCP endpoint ran"
	started = getattr(frappe.local, _STARTED, None)
	out = records.build(
		facts=facts,
		http_method=request.method,
		status=status,
		user=user,
		remote_ip=remote_ip(request),
		duration_ms=(time.monotonic() - started) * 1000 if started else None,
		reason=reason,
	)
	out["timestamp"] = now_datetime()
	return out


def record_state(state, *, transport: str = "stdio", duration_ms: float | None = None) -> str | None:
	"""The record of one message served outside HTTP (`bench erpnext-mcp stdio`): the same fields, the
	transport in place of the HTTP method. Written in the caller's transaction, which commits it."""
	try:
		row = records.build(
			facts=RequestFacts(mcp_method=state.audit.get("method")),
			http_method=transport,
			status=None,
			user=frappe.session.user,
			remote_ip=None,
			duration_ms=duration_ms,
			profiles=state.policy.profile_names,
			audit=state.audit,
			protocol_version=state.protocol_version,
		)
		return record_exchange(row, audit_enabled=state.settings.audit_enabled)
	except Exception:
		_logger().error("MCP audit: record_state failed", exc_info=True)
		return None


def record_approval_decision(doc) -> str | None:
	"""The decision on an approval request (who, when, approved or rejected) as its own record, linked
	to the request like the call that asked and the call that runs it. In the deciding request's
	transaction; names only (the reason an approver typed stays on the request)."""
	try:
		approved = doc.status == "Approved"
		request = getattr(frappe.local, "request", None)
		row = records.build(
			facts=RequestFacts(mcp_method="approval/approve" if approved else "approval/reject"),
			http_method="DESK",
			status=None,
			user=frappe.session.user,
			remote_ip=remote_ip(request) if request is not None else None,
			duration_ms=None,
			profiles=[doc.profile] if doc.profile else (),
			audit={
				"tool": doc.tool,
				"operation": doc.operation,
				"doctype": doc.document_type,
				"names": [doc.document_name] if doc.document_name else [],
				"approval_request": doc.name,
			},
			result=records.APPROVED if approved else records.REJECTED,
			reason=f"approval request {doc.name} {'approved' if approved else 'rejected'} by {frappe.session.user}",
		)
		row["timestamp"] = now_datetime()
		if not enabled():
			return None
		return _insert(row, commit=False)
	except Exception:
		_logger().error("MCP audit: record_approval_decision failed", exc_info=True)
		return None


# ---------------------------------------------------------------- writing


def _insert(record: dict[str, Any], *, commit: bool) -> str | None:
	"""Insert one record with one INSERT; on any failure queue it in Redis. Never raises.

	Not `doc.insert()` nor `get_doc().db_insert()`: the record is built by us (record.build: every key a
	column of MCP Audit Log) and needs no validation, hooks, versioning, meta or cache invalidation."""
	try:
		now = now_datetime()
		user = getattr(getattr(frappe.local, "session", None), "user", None) or "Guest"
		row = {
			"name": frappe.generate_hash(length=10),
			"owner": user,
			"creation": now,
			"modified": now,
			"modified_by": user,
			"docstatus": 0,
			"idx": 0,
			**{k: v for k, v in record.items() if k in COLUMNS},
		}
		row["timestamp"] = _system_time(row.get("timestamp")) or now
		for fieldname in NUMBERS:
			if row.get(fieldname) is None:
				row[fieldname] = 0  # as Frappe stores an empty Int, Float or Check
		_write_row(row)
		if commit:
			frappe.db.commit()
		return row["name"]
	except Exception:
		_queue(record)
		return None


def _write_row(row: dict[str, Any]) -> None:
	columns = ", ".join(f"`{k}`" for k in row)
	values = ", ".join(["%s"] * len(row))
	frappe.db.sql(f"insert into `tab{DOCTYPE}` ({columns}) values ({values})", tuple(row.values()))


NUMBERS = ("request_count", "http_status", "duration_ms", "served_from_cache")
# The record's fields (record.build and summary_record): the only keys written, as column names.
COLUMNS = frozenset(
	{
		"timestamp",
		"user",
		"profiles",
		"result",
		"reason",
		"request_count",
		"error_log",
		"mcp_method",
		"tool",
		"operation",
		"document_type",
		"document_names",
		"fields_named",
		"fields_returned",
		"client_name",
		"client_version",
		"protocol_version",
		"user_agent",
		"remote_ip",
		"http_method",
		"http_status",
		"duration_ms",
		"served_from_cache",
		"approval_request",
	}
)


def _system_time(value: Any) -> Any:
	"""A timestamp as the database keeps it: naive, in the site's time zone (as `creation`)."""
	if isinstance(value, datetime) and value.tzinfo is not None:
		return convert_utc_to_system_timezone(value).replace(tzinfo=None)
	return value


def _queue(record: dict[str, Any]) -> None:
	record = {**record, "timestamp": _system_time(record.get("timestamp"))}
	text = json.dumps(record, default=str)
	try:
		frappe.cache.rpush(PENDING_KEY, text)
		frappe.cache.ltrim(PENDING_KEY, -PENDING_MAX, -1)
		_logger().error("MCP audit record not written to the database; queued in Redis", exc_info=True)
		if frappe.cache.set(frappe.cache.make_key(_ERROR_LOGGED_KEY), 1, nx=True, ex=300):
			frappe.log_error(
				title="MCP Audit Log: records queued in Redis",
				message="An MCP audit record could not be written to the database. It is queued in Redis "
				"and the scheduled job erpnext_mcp.audit.flush writes it later. See the app log "
				"(logs/erpnext_mcp.log) for the cause.",
			)
	except Exception:
		_logger().error("MCP audit record LOST to database and Redis: %s", text, exc_info=True)


# ---------------------------------------------------------------- flood bound


def _flood_subject(record: dict[str, Any]) -> str | None:
	if (record.get("user") or "Guest") == "Guest":
		return f"ip|{record.get('remote_ip') or '?'}"
	if record.get("result") == records.RATE_LIMITED:
		return f"user|{record['user']}"
	return None


def _admit(record: dict[str, Any]) -> bool:
	"""True: write this record. False: it was counted towards its minute's summary record instead."""
	subject = _flood_subject(record)
	if subject is None:
		return True
	window = int(_now() // 60)
	kind = subject.split("|", 1)[0]
	try:
		own = frappe.cache.make_key(_FLOOD_KEY.format(window=window, subject=subject))
		total = frappe.cache.make_key(_FLOOD_KEY.format(window=window, subject=f"{kind}|*"))
		pipe = frappe.cache.pipeline()
		pipe.incr(own)
		pipe.expire(own, 180)
		pipe.incr(total)
		pipe.expire(total, 180)
		n_own, _, n_total, _ = pipe.execute()
		if n_own <= FLOOD_PER_SUBJECT and n_total <= FLOOD_TOTAL:
			return True
		# Over the site-wide bound every source shares one summary, so the counters stay bounded too.
		source = subject if n_total <= FLOOD_TOTAL else f"{kind}|*"
		suppressed = frappe.cache.make_key(_SUPPRESSED_KEY.format(window=window))
		pipe = frappe.cache.pipeline()
		pipe.hincrby(suppressed, f"{source}|{record.get('result') or records.ERROR}", 1)
		pipe.expire(suppressed, 7 * 24 * 3600)
		pipe.sadd(frappe.cache.make_key(_SUPPRESSED_WINDOWS), window)
		pipe.execute()
		return False
	except Exception:
		_logger().warning("MCP audit flood bound unavailable (Redis); writing the record", exc_info=True)
		return True


def _window_start(window: int) -> datetime:
	return convert_utc_to_system_timezone(datetime.fromtimestamp(window * 60, tz=timezone.utc)).replace(
		tzinfo=None
	)


def summary_record(window: int, field: str, count: int) -> dict[str, Any]:
	kind, source, result = [*field.split("|", 2), "", ""][:3]
	start = _window_start(window)
	who = ("unauthenticated requests" if kind == "ip" else "requests") + (
		f" from IP {source}" if kind == "ip" and source != "*" else ""
	)
	if kind == "user" and source != "*":
		who += f" by {source}"
	if source == "*":
		who += " from many sources"
	bound = f"{FLOOD_PER_SUBJECT} records a minute per {'IP' if kind == 'ip' else 'user'}, {FLOOD_TOTAL} site-wide"
	return {
		"timestamp": start,
		"user": source if kind == "user" and source != "*" else "Guest",
		"remote_ip": source if kind == "ip" else None,
		"result": result if result in records.RESULTS else records.ERROR,
		"reason": (
			f"{count} more {who} in the minute from {start:%Y-%m-%d %H:%M} ({(result or 'error').lower()}) "
			f"were not recorded one by one (flood bound: {bound})"
		),
		"request_count": count,
		"duration_ms": 0,
	}


# ---------------------------------------------------------------- scheduled job


def flush() -> int:
	"""Scheduler (every tick): queued records, then the finished minutes' flood summaries."""
	return flush_queued() + flush_summaries()


def flush_queued(limit: int = 5000) -> int:
	"""Write the records the database did not take when they were made; stops if it still refuses."""
	written = 0
	for _ in range(limit):
		raw = frappe.cache.lpop(PENDING_KEY)
		if raw is None:
			break
		try:
			record = json.loads(raw)
		except ValueError:
			_logger().error("MCP audit: unreadable queued record dropped: %r", raw)
			continue
		if not _insert(record, commit=True):
			break  # the database still refuses; _insert queued it again
		written += 1
	return written


def flush_summaries(*, only_window: int | None = None) -> int:
	"""One summary record per source, result and finished minute of a flood; each minute once."""
	written = 0
	current = int(_now() // 60)
	windows_key = frappe.cache.make_key(_SUPPRESSED_WINDOWS)
	for raw_window in frappe.cache.smembers(_SUPPRESSED_WINDOWS):
		window = int(raw_window)
		if window >= current or (only_window is not None and window != only_window):
			continue
		key = frappe.cache.make_key(_SUPPRESSED_KEY.format(window=window))
		pipe = frappe.cache.pipeline(transaction=True)
		pipe.hgetall(key)
		pipe.delete(key)
		pipe.srem(windows_key, raw_window)
		counts = pipe.execute()[0]
		for field, count in sorted(counts.items()):
			if _insert(summary_record(window, field.decode(), int(count)), commit=True):
				written += 1
	return written
