"""Approvals on the protocol side: a call the gate stopped with ApprovalRequired becomes an approval
request and a "waiting" answer; a call that names an approval runs only under exactly that approval.

server/app.py's run_tool is the only caller, so every tool (generic, per-DocType, conversions, any
later one) gets the same treatment. The answer takes two forms:

- handshake revisions (2024-11-05 ... 2025-11-25): a normal tool result (not an error) with
  status "waiting_for_approval", the approval URL and the approval_id; the agent calls the same tool
  again with the same arguments and approval_id, and get_approval_status says where it stands;
- 2026-07-28 (SDK 2.x): server/sdk.py turns the same answer into `resultType: "input_required"` with
  a URL-mode elicitation pointing at the approval page and a sealed `requestState` (the approval id).
"""

from __future__ import annotations

from typing import Any

from erpnext_mcp.exceptions import ApprovalRequired, InvalidArguments, NotFound, PermissionDenied
from erpnext_mcp.policy import approvals as rules
from erpnext_mcp.server.context import CallState

WAITING = "waiting_for_approval"
LAYER = "approval"


def request(
	state: CallState, tool: str, arguments: dict[str, Any], stop: ApprovalRequired
) -> rules.ApprovalView:
	"""The approval request for a call the gate stopped (after rollback: nothing else was written)."""
	name = stop.name or stop.document.get("name") if stop.operation != "create" else None
	summary = rules.describe_call(stop.operation, stop.doctype, name, stop.document)
	return state.backend.create_approval(
		tool=tool,
		operation=stop.operation,
		doctype=stop.doctype,
		document_name=name,
		arguments=arguments,
		summary=summary,
		profile=stop.decision.profile,
		rule=stop.decision.rule,
		approver_role=state.policy.approver_role(stop.doctype),
		expiry_minutes=state.settings.approval_expiry_minutes,
	)


def waiting(state: CallState, tool: str, view: rules.ApprovalView, *, new: bool) -> dict[str, Any]:
	"""The answer while a person has not decided: what waits, where to approve it, what to do next."""
	what = "This call needs a person's approval" if new else "This call still waits for approval"
	return {
		"status": WAITING,
		"approval_id": view.name,
		"approval_url": view.url,
		"summary": view.summary,
		"expires_at": view.expires_at.isoformat(sep=" ", timespec="seconds") if view.expires_at else None,
		"message": (
			f"{what} ({view.summary}); nothing was changed. Show the approval URL to your user. Once it is "
			f"approved, call {tool} again with exactly the same arguments plus approval_id "
			f'"{view.name}"; it then runs once. get_approval_status tells where the request stands.'
		),
	}


def open_for_execution(
	state: CallState, tool: str, arguments: dict[str, Any], approval_id: str
) -> rules.ApprovalView:
	"""The approval `approval_id` for exactly this call, or a refusal naming the problem. A Pending
	one is returned as it is (the caller answers "still waiting"); an Approved one is claimed
	(Approved → Executed in this call's transaction, undone if the call fails)."""
	view = state.backend.get_approval(approval_id)
	user = state.backend.caller()["user"]
	if view is None or view.requester != user:
		# Someone else's request does not exist for this caller, exactly like a missing one.
		raise NotFound(f"Approval request {approval_id} was not found, or it is not yours.")
	refusal = rules.execution_refusal(
		view,
		user=user,
		tool=tool,
		call_fingerprint=rules.fingerprint(tool, arguments),
		now=state.backend.now(),
	)
	if refusal:
		raise PermissionDenied(refusal, layer=LAYER, rule=f"approval {view.name}")
	if view.effective_status(state.backend.now()) == rules.PENDING:
		return view
	if not state.backend.claim_approval(view.name):
		raise PermissionDenied(
			f"Approval request {view.name} was already executed; an approval runs its call only once.",
			layer=LAYER,
			rule=f"approval {view.name}",
		)
	return view


def status(state: CallState, args: dict[str, Any]) -> dict[str, Any]:
	"""get_approval_status: where one of the caller's own requests stands, and what to do next."""
	approval_id = args["approval_id"]
	view = state.backend.get_approval(approval_id)
	if view is None or view.requester != state.backend.caller()["user"]:
		raise NotFound(f"Approval request {approval_id} was not found, or it is not yours.")
	state.audit["approval_request"] = view.name
	current = view.effective_status(state.backend.now())
	next_step = {
		rules.PENDING: "Wait: nobody has decided yet. Show the approval URL to your user.",
		rules.APPROVED: f"Call {view.tool} again with exactly the approved arguments plus approval_id; it runs once.",
		rules.EXECUTED: "Done: the approved call ran. It cannot run again under this approval.",
		rules.REJECTED: "Rejected: do not retry this call. Tell your user why.",
		rules.EXPIRED: f"Expired: call {view.tool} again without approval_id to ask for a new approval.",
	}[current]
	out: dict[str, Any] = {
		"approval_id": view.name,
		"status": current.lower(),
		"summary": view.summary,
		"tool": view.tool,
		"approval_url": view.url,
		"expires_at": view.expires_at.isoformat(sep=" ", timespec="seconds") if view.expires_at else None,
		"next": next_step,
	}
	if view.approver and current in (rules.APPROVED, rules.REJECTED, rules.EXECUTED):
		out["decided_by"] = view.approver
	if current == rules.REJECTED and view.note:
		out["reason"] = view.note
	return out


def approval_argument(tool: str, arguments: dict[str, Any]) -> str | None:
	"""The approval_id a retried write names, if any (the schema let it through)."""
	value = arguments.get(rules.APPROVAL_ARGUMENT)
	if value is None:
		return None
	if not isinstance(value, str) or not value.strip():
		raise InvalidArguments("approval_id must be the approval_id a waiting call returned.")
	return value.strip()
