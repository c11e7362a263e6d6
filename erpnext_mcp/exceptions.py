"""The errors every layer raises and the protocol layer turns into MCP tool errors (pure Python)."""


class ToolError(Exception):
	"""A refusal or failure the client should read: becomes a tool result with `isError: true`.

	`kind` is a stable machine-readable word; `message` is written for a person and never carries
	SQL, tracebacks or file paths.
	"""

	kind = "error"
	retryable = False

	def __init__(self, message: str, *, layer: str | None = None, rule: str | None = None):
		super().__init__(message)
		self.message = message
		self.layer = layer
		self.rule = rule

	def as_dict(self) -> dict:
		out = {"error": self.kind, "message": self.message, "retryable": self.retryable}
		if self.layer:
			out["decided_by"] = self.layer
		if self.rule:
			out["rule"] = self.rule
		return out


class InvalidArguments(ToolError):
	kind = "invalid_arguments"


class NotFound(ToolError):
	kind = "not_found"


class PermissionDenied(ToolError):
	"""Refused by a permission layer: `layer` says which (ERPNext role, permlevel, profile rule...)."""

	kind = "permission_denied"


class ValidationFailed(ToolError):
	"""ERPNext refused the data (mandatory fields, links, stock...): its own message is passed on."""

	kind = "validation_failed"


class Conflict(ToolError):
	kind = "conflict"
	retryable = True


class Unavailable(ToolError):
	kind = "temporarily_unavailable"
	retryable = True


class ApprovalRequired(ToolError):
	"""The call is allowed, but only once a person approves it (policy's approval_needed). Never sent as
	an error: the protocol layer turns it into an approval request and a "waiting" result."""

	kind = "approval_required"

	def __init__(self, decision, *, operation: str, doctype: str, name: str | None, document: dict | None):
		super().__init__(decision.reason, layer=decision.layer, rule=decision.rule)
		self.decision = decision
		self.operation = operation
		self.doctype = doctype
		self.name = name
		self.document = document or {}
