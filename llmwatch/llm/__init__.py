"""A general async client for OpenAI-compatible ``/v1/chat/completions`` endpoints.

One :class:`ChatClient` wraps ONE shared ``httpx.AsyncClient`` and adds what a batch of
calls against a paid, rate-limited, sometimes failing endpoint needs: a concurrency
bound, a request-rate limit, retries with backoff that honour ``Retry-After``, a circuit
breaker that stops a run when the endpoint is down, and a per-run budget.
"""

from llmwatch.llm.budget import Budget, Pricing
from llmwatch.llm.client import ChatClient, ChatResult, ClientStats, Endpoint, Limits, Usage
from llmwatch.llm.errors import (
    BudgetExceededError,
    CircuitOpenError,
    FatalEndpointError,
    LLMError,
    PermanentRequestError,
    RetriesExhaustedError,
)

__all__ = [
    "Budget",
    "BudgetExceededError",
    "ChatClient",
    "ChatResult",
    "CircuitOpenError",
    "ClientStats",
    "Endpoint",
    "FatalEndpointError",
    "LLMError",
    "Limits",
    "PermanentRequestError",
    "Pricing",
    "RetriesExhaustedError",
    "Usage",
]
