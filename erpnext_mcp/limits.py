"""Rate limits per user: requests per minute and per hour, counted in Redis so they hold across every
gunicorn worker and host; the single authority for "may this user send another request now".

Windows are fixed (the current minute, the current hour), counted with INCR + EXPIRE on
`frappe.cache` under the site's key prefix, the way Frappe's own `frappe.rate_limiter` counts. Frappe's
`@rate_limit` decorator is not used because it keys by IP and form arguments, has one window, and
answers with an exception page without `Retry-After`; MCP clients need a JSON-RPC error and the header.

A refused request does not use up quota: its increments are taken back, so an agent that keeps
hammering through a minute's refusals does not also exhaust its hour.

Limits: MCP Settings holds the defaults (0 = unlimited); an MCP Permission Profile may set its own,
and when several profiles apply the highest of the limits they set wins (profiles that set none defer
to Settings). The arithmetic here is pure; frappe is imported where Redis and profiles are read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from erpnext_mcp.server.context import EndpointSettings
from erpnext_mcp.server.http import HttpResponse

MINUTE, HOUR = 60, 3600
RATE_LIMITED_CODE = -32029  # server-defined JSON-RPC error: "rate limited"
_KEY = "erpnext_mcp:rl:{user}:{seconds}:{window}"


@dataclass(frozen=True)
class Limit:
	label: str  # "per minute"
	seconds: int
	limit: int  # 0 = unlimited


@dataclass(frozen=True)
class Verdict:
	allowed: bool
	limit: Limit | None = None  # the limit that refused
	retry_after: int = 0  # seconds until that window ends


def _now() -> float:
	return time.time()


def effective_limit(default: int, profile_limits: Iterable[int | None]) -> int:
	"""The highest limit the applying profiles set (0 or empty = not set), else Settings' default."""
	own = [int(v) for v in profile_limits if v]
	return max(own) if own else max(int(default or 0), 0)


def limits_for(settings: EndpointSettings, profiles: Sequence[dict[str, int | None]] = ()) -> list[Limit]:
	return [
		Limit(
			"per minute",
			MINUTE,
			effective_limit(settings.rate_limit_per_minute, (p.get("per_minute") for p in profiles)),
		),
		Limit(
			"per hour",
			HOUR,
			effective_limit(settings.rate_limit_per_hour, (p.get("per_hour") for p in profiles)),
		),
	]


def window(now: float, seconds: int) -> tuple[int, int]:
	"""(index of the fixed window `now` falls in, whole seconds until it ends, at least 1)."""
	index = int(now // seconds)
	return index, max(1, int((index + 1) * seconds - now + 0.999))


def decide(limits: Sequence[Limit], counts: Sequence[int], now: float) -> Verdict:
	"""Counts include this request. The refusing window with the longest wait decides Retry-After."""
	refused = [
		(window(now, lim.seconds)[1], lim)
		for lim, count in zip(limits, counts, strict=True)
		if lim.limit and count > lim.limit
	]
	if not refused:
		return Verdict(True)
	retry_after, lim = max(refused, key=lambda r: r[0])
	return Verdict(False, lim, retry_after)


def message(verdict: Verdict) -> str:
	lim = verdict.limit
	assert lim is not None
	return (
		f"Rate limit reached: {lim.limit} requests {lim.label} for this user. "
		f"Retry after {verdict.retry_after} seconds."
	)


def too_many_requests(verdict: Verdict, request_id=None) -> HttpResponse:
	"""HTTP 429 with Retry-After and a JSON-RPC error naming the limit and when to retry."""
	lim = verdict.limit
	assert lim is not None
	body = {
		"jsonrpc": "2.0",
		"id": request_id,
		"error": {
			"code": RATE_LIMITED_CODE,
			"message": message(verdict),
			"data": {
				"limit": lim.label,
				"limit_value": lim.limit,
				"window_seconds": lim.seconds,
				"retry_after_seconds": verdict.retry_after,
			},
		},
	}
	return HttpResponse(
		429,
		{"Content-Type": "application/json", "Retry-After": str(verdict.retry_after)},
		json.dumps(body).encode(),
	)


# ---------------------------------------------------------------- Frappe: profiles and Redis


def profile_limits_of(profile_names: Sequence[str]) -> list[dict[str, int | None]]:
	import frappe

	out = []
	for name in profile_names:
		try:
			doc = frappe.get_cached_doc("MCP Permission Profile", name)
		except frappe.DoesNotExistError:
			continue
		out.append(
			{"per_minute": doc.get("rate_limit_per_minute"), "per_hour": doc.get("rate_limit_per_hour")}
		)
	return out


def window_keys(user: str) -> list[tuple[str, int]]:
	"""(Redis key, window seconds) of the current minute and hour for `user` (counted by data/request.py
	in the request's one pipeline, or by check() itself)."""
	import frappe

	now = _now()
	return [
		(frappe.cache.make_key(_KEY.format(user=user, seconds=s, window=window(now, s)[0])), s)
		for s in (MINUTE, HOUR)
	]


def check(
	user: str,
	settings: EndpointSettings,
	profile_names: Sequence[str] = (),
	*,
	profile_limits: dict[str, dict[str, int | None]] | None = None,
	counted: Sequence[tuple[str, int, int]] | None = None,
) -> Verdict:
	"""Count this request for `user` and say whether it may be served. Redis down: allowed (and logged).

	`profile_limits` (profile name → its limits) and `counted` ((key, seconds, count) per window, this
	request included) come from the request's pipeline (data/request.py); without them they are read
	and counted here."""
	import frappe

	if profile_limits is None:
		own = profile_limits_of(profile_names)
	else:
		own = [profile_limits[name] for name in profile_names if name in profile_limits]
	limits = [lim for lim in limits_for(settings, own) if lim.limit]
	if not limits:
		return Verdict(True)
	now = _now()
	try:
		if counted is None:
			keys = dict(window_keys(user))
			seconds_to_key = {s: k for k, s in keys.items()}
			pipe = frappe.cache.pipeline()
			for lim in limits:
				pipe.incr(seconds_to_key[lim.seconds])
				pipe.expire(seconds_to_key[lim.seconds], lim.seconds + 5)
			counts = pipe.execute()[::2]
			taken = [seconds_to_key[lim.seconds] for lim in limits]
		else:
			by_seconds = {seconds: (key, count) for key, seconds, count in counted}
			counts = [by_seconds[lim.seconds][1] for lim in limits]
			taken = [key for key, _seconds, _count in counted]
		verdict = decide(limits, counts, now)
		if not verdict.allowed:
			pipe = frappe.cache.pipeline()
			for key in taken:
				pipe.decr(key)
			pipe.execute()
		return verdict
	except Exception:
		frappe.logger("erpnext_mcp").warning("rate limit not checked (Redis unavailable)", exc_info=True)
		return Verdict(True)


def reset(user: str) -> None:
	"""Forget `user`'s counters for the current windows (tests, and an administrator's escape hatch)."""
	import frappe

	now = _now()
	frappe.cache.delete(
		*[
			frappe.cache.make_key(_KEY.format(user=user, seconds=s, window=window(now, s)[0]))
			for s in (MINUTE, HOUR)
		]
	)
