"""The single authority on approval requests as data (pure, no framework import): the fingerprint that
binds an approval to one exact call, the call in plain words, and who may decide and execute what.

A request moves Pending → Approved → Executed, or Pending → Rejected / Expired; nothing else. The
data layer (data/approvals.py) stores it; the protocol layer (server/app.py) asks here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING, APPROVED, REJECTED, EXPIRED, EXECUTED = "Pending", "Approved", "Rejected", "Expired", "Executed"
STATUSES = (PENDING, APPROVED, REJECTED, EXPIRED, EXECUTED)
DEFAULT_EXPIRY_MINUTES = 30
# The argument that names an approval on a retried call; never part of what was approved.
APPROVAL_ARGUMENT = "approval_id"
# The amount and the party an approver wants to see first, in this order of preference.
_AMOUNT_FIELDS = ("grand_total", "rounded_total", "total", "paid_amount", "amount")
_PARTY_FIELDS = ("customer", "supplier", "party_name", "party", "employee")
_VERBS = {
	"create": "create",
	"update": "update",
	"delete": "delete",
	"submit": "submit",
	"cancel": "cancel",
}


def call_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
	"""The arguments as approved: everything the agent sent except the approval_id itself."""
	return {k: v for k, v in arguments.items() if k != APPROVAL_ARGUMENT}


def fingerprint(tool: str, arguments: Mapping[str, Any]) -> str:
	"""SHA-256 of the tool and its arguments in canonical JSON: any difference, even in key order of a
	nested value or a number written 10 vs 10.0, gives another fingerprint."""
	canonical = json.dumps(
		{"tool": tool, "arguments": call_arguments(arguments)},
		sort_keys=True,
		separators=(",", ":"),
		ensure_ascii=False,
		default=str,
	)
	return hashlib.sha256(canonical.encode()).hexdigest()


def _amount(value: Any) -> str | None:
	try:
		number = float(value)
	except (TypeError, ValueError):
		return None
	return f"{number:,.2f}"


def describe_call(operation: str, doctype: str, name: str | None, doc: Mapping[str, Any] | None) -> str:
	"""The call in plain words for the approver: "cancel Sales Invoice ACC-SINV-2026-00012, grand
	total 12,400.00 USD" (a new document has no name yet: "create Sales Order for customer X, ...")."""
	doc = doc or {}
	words = [_VERBS.get(operation, operation), doctype]
	if name:
		words.append(str(name))
	text = " ".join(words)
	for field in _PARTY_FIELDS:
		if doc.get(field) and isinstance(doc.get(field), str):
			text += f" for {field.replace('_', ' ')} {doc[field]}"
			break
	for field in _AMOUNT_FIELDS:
		amount = _amount(doc.get(field)) if doc.get(field) not in (None, "") else None
		if amount is not None and float(doc.get(field)) != 0:
			currency = doc.get("currency") or doc.get("paid_from_account_currency") or ""
			text += f", {field.replace('_', ' ')} {amount}{' ' + currency if currency else ''}"
			break
	return text


@dataclass(frozen=True)
class ApprovalView:
	"""What the protocol layer needs to know of one stored request."""

	name: str
	status: str
	requester: str
	tool: str
	operation: str
	doctype: str
	document_name: str | None
	fingerprint: str
	expires_at: datetime | None
	summary: str = ""
	approver: str | None = None
	decided_at: datetime | None = None
	note: str | None = None
	url: str | None = None

	def effective_status(self, now: datetime) -> str:
		"""Pending or Approved past its expiry is Expired, whether or not the scheduler has run yet."""
		if self.status in (PENDING, APPROVED) and self.expires_at is not None and now >= self.expires_at:
			return EXPIRED
		return self.status


def execution_refusal(
	view: ApprovalView, *, user: str, tool: str, call_fingerprint: str, now: datetime
) -> str | None:
	"""Why this call may not run under this approval (None: it may, exactly once). The wording names the
	problem and never the approved values."""
	if view.requester != user:
		return f"Approval request {view.name} was not made by you; only its requester can run it."
	if view.tool != tool:
		return (
			f"Approval request {view.name} approves a call of {view.tool}, not {tool}; call {view.tool} with "
			"exactly the arguments that were approved."
		)
	status = view.effective_status(now)
	if status == EXECUTED:
		return f"Approval request {view.name} was already executed; an approval runs its call only once."
	if status == REJECTED:
		why = f": {view.note}" if view.note else ""
		return f"Approval request {view.name} was rejected by {view.approver or 'an approver'}{why}."
	if status == EXPIRED:
		return (
			f"Approval request {view.name} expired at {view.expires_at:%Y-%m-%d %H:%M} before it was "
			"executed; call the tool again without approval_id to ask for a new approval."
		)
	if view.fingerprint != call_fingerprint:
		return (
			f"The arguments differ from the ones approved in {view.name}: an approval binds the exact call. "
			"Send exactly the approved arguments, or call without approval_id to ask for a new approval."
		)
	return None


def decision_refusal(
	view: ApprovalView,
	*,
	approver: str,
	approver_roles: set[str] | frozenset[str],
	approver_role: str,
	allow_self_approval: bool,
	now: datetime,
) -> str | None:
	"""Why this person may not approve or reject this request now (None: they may)."""
	if approver_role not in approver_roles:
		return f"Only a user with the role {approver_role} can decide approval request {view.name}."
	if view.requester == approver and not allow_self_approval:
		return (
			f"You made approval request {view.name} (through your agent), so you cannot decide it yourself. "
			"Another approver must, or an administrator can allow self-approval in MCP Settings."
		)
	status = view.effective_status(now)
	if status == EXPIRED:
		return f"Approval request {view.name} has expired; the agent must ask again."
	if status != PENDING:
		return f"Approval request {view.name} is already {status.lower()}."
	return None


__all__ = [
	"APPROVAL_ARGUMENT",
	"APPROVED",
	"DEFAULT_EXPIRY_MINUTES",
	"EXECUTED",
	"EXPIRED",
	"PENDING",
	"REJECTED",
	"STATUSES",
	"ApprovalView",
	"call_arguments",
	"decision_refusal",
	"describe_call",
	"execution_refusal",
	"fingerprint",
]
