"""Helpers for the audit, rate-limit and cache tests: a client whose requests carry a marker, the
records a marker left, a clock the tests move, and commits that stay inside the test transaction."""

from __future__ import annotations

import contextlib
import random
from typing import Any
from unittest import mock

import frappe

from erpnext_mcp.tests.utils import InProcessClient


def new_marker(prefix: str = "mcp-test") -> str:
	return f"{prefix}-{frappe.generate_hash(length=12)}"


class MarkedClient(InProcessClient):
	"""An in-process client whose every request carries `User-Agent: <marker>/1.0`, so the tests find
	exactly the audit records their own requests left."""

	def __init__(self, user: str, marker: str | None = None, version: str = "2025-06-18"):
		super().__init__(user, version)
		self.marker = marker or new_marker()

	def post(self, body: Any, *, headers: dict[str, str] | None = None, method: str = "POST"):
		merged = {"user-agent": f"{self.marker}/1.0", **(headers or {})}
		return super().post(body, headers=merged, method=method)


def records(marker: str) -> list[frappe._dict]:
	return frappe.get_all(
		"MCP Audit Log",
		filters={"user_agent": ["like", f"{marker}/%"]},
		fields=["*"],
		order_by="creation asc",
	)


class Clock:
	"""A fixed, movable time for modules that read `_now()` (limits, audit): unique windows per test."""

	def __init__(self, start: float | None = None):
		# Far from real time and from other tests: windows (minute and hour) no one else counts in.
		base = start if start is not None else 5e9 + random.randrange(10**6) * 3600
		self.now = float(base)

	def __call__(self) -> float:
		return self.now

	def advance(self, seconds: float) -> None:
		self.now += seconds


@contextlib.contextmanager
def frozen(clock: Clock, *modules):
	with contextlib.ExitStack() as stack:
		for module in modules:
			stack.enter_context(mock.patch.object(module, "_now", clock))
		yield clock


@contextlib.contextmanager
def no_commit():
	"""Code under test may commit (after_request, flush); in a test that would end the test's
	transaction, so a commit is recorded instead of performed."""
	with mock.patch.object(frappe.db, "commit") as commit:
		yield commit


def forbid_commits(test) -> None:
	"""Make any commit during `test` fail (and so not happen): the test's transaction holds its
	fixtures and is rolled back at the end. `no_commit()` inside the test records commits instead."""
	guard = mock.patch.object(frappe.db, "commit", side_effect=AssertionError("a test must not commit"))
	guard.start()
	test.addCleanup(guard.stop)
