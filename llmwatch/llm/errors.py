"""What can go wrong with a call, sorted by what the caller should do about it."""

from __future__ import annotations

from llmwatch.redact import redact


class LLMError(Exception):
    """Base class of every error the chat client raises."""


class PermanentRequestError(LLMError):
    """The endpoint refused THIS request (400, 413, 422 ...): retrying cannot help.

    Other requests may still succeed, so a batch records this one and carries on.
    """

    def __init__(self, status: int, body: str) -> None:
        body = redact(body)  # an endpoint may echo the request, key included
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class FatalEndpointError(LLMError):
    """The endpoint refuses every request (401, 403, 404): wrong key, URL or model.

    A batch stops at once: every further call would fail the same way.
    """

    def __init__(self, status: int, body: str) -> None:
        body = redact(body)  # a 401 often echoes the Authorization header
        super().__init__(
            f"HTTP {status} from the endpoint (check URL, model and API key): {body[:300]}"
        )
        self.status = status
        self.body = body


class RetriesExhaustedError(LLMError):
    """A transient error (429, 5xx, timeout, transport) persisted through every retry."""

    def __init__(self, attempts: int, last_error: str) -> None:
        last_error = redact(last_error)
        super().__init__(f"gave up after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


class CircuitOpenError(LLMError):
    """Too many consecutive failures: the endpoint is treated as down and the run stops."""


class BudgetExceededError(LLMError):
    """The run's budget (number of calls or estimated cost) does not allow another call."""
