"""What one MCP request needs from Redis before it is served, read in ONE pipeline: the permission
epoch, the caller's profiles (with the rate limits they set) and this request's rate-limit counts.

Before, these were separate round trips (the epoch, the profiles under that epoch, one profile
document per profile for its limits, the counters). Now the profiles entry is kept per user with
the epoch it was built under inside it, so it can be read in the same pipeline as the epoch and is
used only when both agree; the counters are counted in the same pipeline, and limits.py decides
from them. The epoch read here is the request's epoch (data/cache.py reads it from here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import frappe

from erpnext_mcp import limits
from erpnext_mcp.data import cache_key as keys

_LOCAL = "erpnext_mcp_prelude"
PROFILES_TTL = 600
METADATA_VERSION_KEY = "metadata_version"  # frappe.reset_metadata_version()


@dataclass
class Prelude:
	user: str
	epoch: str
	profiles: list[Any] | None = None  # policy Profiles; None: not cached under this epoch
	profile_limits: dict[str, dict[str, int | None]] = field(default_factory=dict)
	policy: Any = None  # the resolved EffectivePolicy, its fingerprint kept on it (cache_key.py)
	counted: list[tuple[str, int, int]] | None = (
		None  # (key, seconds, count) per window, this request included
	)
	# Frappe's metadata_version as stored (renewed whenever a DocType's cached meta is cleared): the
	# schema token of data/frappe_backend.describe; None when Redis has none.
	metadata_version: bytes | None = None


def profiles_key(user: str) -> str:
	return f"erpnext_mcp:profiles:{user}"


def current(user: str | None = None) -> Prelude | None:
	prelude = getattr(frappe.local, _LOCAL, None)
	if prelude is not None and (user is None or prelude.user == user):
		return prelude
	return None


def begin(user: str, *, count: bool, keep: bool = True) -> Prelude:
	"""One round trip: epoch (created if missing), the user's profiles entry and, when `count`, the
	INCR + EXPIRE of each rate-limit window (limits.window_keys). `keep`: it is this request's."""
	import pickle

	epoch_key = frappe.cache.make_key(keys.EPOCH_KEY)
	windows = limits.window_keys(user) if count else []
	pipe = frappe.cache.pipeline()
	pipe.set(epoch_key, secrets_token(), nx=True)
	pipe.get(epoch_key)
	pipe.get(frappe.cache.make_key(profiles_key(user)))
	pipe.get(frappe.cache.make_key(METADATA_VERSION_KEY))
	for key, seconds in windows:
		pipe.incr(key)
		pipe.expire(key, seconds + 5)
	out = pipe.execute()
	epoch = out[1].decode()
	prelude = Prelude(user=user, epoch=epoch, metadata_version=out[3])
	if out[2] is not None:
		try:
			stored_epoch, profiles, profile_limits, policy = pickle.loads(out[2])
		except Exception:
			stored_epoch = None
		if stored_epoch == epoch:
			prelude.profiles, prelude.profile_limits, prelude.policy = profiles, profile_limits, policy
	if windows:
		counts = out[4::2]
		prelude.counted = [(key, seconds, int(c)) for (key, seconds), c in zip(windows, counts, strict=True)]
	if keep:
		setattr(frappe.local, _LOCAL, prelude)
	return prelude


def store_profiles(user: str, epoch: str, profiles: list[Any], profile_limits: dict, policy: Any) -> None:
	import pickle

	try:
		frappe.cache.set(
			frappe.cache.make_key(profiles_key(user)),
			pickle.dumps((epoch, profiles, profile_limits, policy)),
			ex=PROFILES_TTL,
		)
	except Exception:
		frappe.logger("erpnext_mcp").warning("profiles not cached", exc_info=True)


def end() -> None:
	setattr(frappe.local, _LOCAL, None)


def secrets_token() -> str:
	import secrets

	return secrets.token_hex(8)
