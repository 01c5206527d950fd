"""The chat client: one shared ``httpx.AsyncClient`` with the guards a batch run needs.

What happens to a failed attempt:

* 429, 408, 409, 425 and 5xx, timeouts and transport errors are transient: retried
  with exponential backoff and full jitter, or after exactly ``Retry-After`` (seconds,
  HTTP date, or OpenAI's ``retry-after-ms``) when the endpoint says how long to wait;
* 401, 403 and 404 mean the configuration is wrong (key, URL, model): the run stops
  (:class:`FatalEndpointError`);
* any other 4xx is a problem of this one request: no retry
  (:class:`PermanentRequestError`), the batch carries on;
* consecutive failures other than 429 open the circuit breaker: the endpoint is down
  and every later call raises :class:`CircuitOpenError`.

The API key is sent in the ``Authorization`` header only; it is a ``SecretStr``
everywhere else and never appears in errors, logs or results.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from llmwatch.llm.breaker import CircuitBreaker
from llmwatch.llm.budget import Budget
from llmwatch.llm.errors import (
    FatalEndpointError,
    LLMError,
    PermanentRequestError,
    RetriesExhaustedError,
)
from llmwatch.llm.ratelimit import TokenBucket
from llmwatch.llm.retry import FATAL_STATUS, RETRYABLE_STATUS, backoff_delay, parse_retry_after
from llmwatch.llm.transport import ShardedTransport
from llmwatch.redact import redact, register
from llmwatch.settings import EndpointLimits


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible endpoint and model.

    ``base_url`` follows the OpenAI SDK convention: it includes the version prefix
    (``http://host:8000/v1``) and ``/chat/completions`` is appended to it.
    ``params`` are sent with every call (temperature, max_tokens, response_format ...).
    ``protocol`` "completions" speaks the legacy ``/completions`` API instead: a base
    model without a chat template (e.g. a llama.cpp server) answers only there; the
    messages' contents are then joined into one prompt.
    """

    base_url: str
    model: str
    api_key: SecretStr | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    protocol: str = "chat"

    @property
    def chat_url(self) -> str:
        path = "/completions" if self.protocol == "completions" else "/chat/completions"
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class Limits:
    concurrency: int = 8
    # Call starts per second across the client; None means no rate limit.
    requests_per_second: float | None = None
    # Retries after the first attempt of a call (so at most max_retries + 1 attempts).
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    # A Retry-After longer than this is cut to it: a run must not sleep for an hour.
    max_retry_after_s: float = 120.0
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    # Consecutive failed attempts (429 excluded) that open the circuit breaker.
    breaker_threshold: int = 10

    @classmethod
    def from_settings(cls, cfg: EndpointLimits) -> Limits:
        return cls(
            concurrency=cfg.concurrency,
            requests_per_second=cfg.requests_per_second,
            max_retries=cfg.max_retries,
            backoff_base_s=cfg.backoff_base_s,
            backoff_max_s=cfg.backoff_max_s,
            max_retry_after_s=cfg.max_retry_after_s,
            timeout_s=cfg.timeout_s,
            connect_timeout_s=cfg.connect_timeout_s,
            breaker_threshold=cfg.breaker_failures,
        )

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    # False when the endpoint sent no usage block (then the token counts are 0, not known).
    reported: bool = False


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the endpoint's top alternatives."""

    token: str
    logprob: float
    top: Mapping[str, float]


@dataclass(frozen=True)
class ChatResult:
    text: str | None
    finish_reason: str | None
    system_fingerprint: str | None
    model: str | None
    usage: Usage
    # Latency of the successful attempt, and wall time of the whole call with retries.
    latency_ms: float
    elapsed_ms: float
    attempts: int
    cost_usd: float | None
    # Document ids a RAG endpoint says it retrieved, in rank order (a non-standard
    # ``retrieved_ids`` response field); None when the endpoint does not say.
    retrieved_ids: tuple[str, ...] | None = None
    # Per generated token, when the request asked for ``logprobs`` and the endpoint sent
    # them (both protocols' shapes parsed); None when it sent none.
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass
class ClientStats:
    """Counters of everything that happened, for run summaries and tests."""

    calls: int = 0
    succeeded: int = 0
    attempts: int = 0
    retries: int = 0
    http_429: int = 0
    http_5xx: int = 0
    http_other_retryable: int = 0
    timeouts: int = 0
    transport_errors: int = 0
    bad_responses: int = 0
    permanent_errors: int = 0
    fatal_errors: int = 0
    exhausted: int = 0
    retry_after_waits: int = 0
    budget_refusals: int = 0
    breaker_refusals: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class _TransientError(Exception):
    def __init__(self, message: str, retry_after: float | None = None, counts: bool = True):
        super().__init__(message)
        self.retry_after = retry_after
        # Whether the breaker counts it: a 429 says "slow down", not "I am down".
        self.counts_for_breaker = counts


Sleep = Callable[[float], Awaitable[None]]


class ChatClient:
    """Async chat completions with concurrency bound, rate limit, retries, breaker, budget.

    Use as ``async with ChatClient(endpoint, limits) as client:``; it creates and closes
    its own ``httpx.AsyncClient`` unless one is passed in (then the caller closes it).
    Create it inside the event loop that will use it.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        limits: Limits | None = None,
        budget: Budget | None = None,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.endpoint = endpoint
        register(endpoint.api_key)
        if "?" in endpoint.base_url:  # some gateways take the key as a query parameter
            register(endpoint.base_url.split("?", 1)[1])
        self.limits = limits or Limits()
        self.budget = budget or Budget()
        self.stats = ClientStats()
        self.breaker = CircuitBreaker(self.limits.breaker_threshold)
        self._http = http
        self._owns_http = http is None
        self._semaphore = asyncio.Semaphore(self.limits.concurrency)
        rps = self.limits.requests_per_second
        self._bucket = TokenBucket(rps) if rps else None
        self._rng = rng or random.Random()
        self._sleep = sleep

    async def __aenter__(self) -> ChatClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.limits.timeout_s, connect=self.limits.connect_timeout_s),
                transport=ShardedTransport(self.limits.concurrency),
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.endpoint.api_key is not None:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key.get_secret_value()}"
        return headers

    async def chat(self, messages: Sequence[Mapping[str, Any]], **params: Any) -> ChatResult:
        """One logical call; raises an :class:`LLMError` subclass when it cannot succeed."""
        if self._http is None:
            raise RuntimeError("use `async with ChatClient(...)` before calling chat()")
        body: dict[str, Any] = {**self.endpoint.params, **params}
        body["model"] = self.endpoint.model
        if self.endpoint.protocol == "completions":
            body["prompt"] = "\n\n".join(str(m.get("content") or "") for m in messages)
        else:
            body["messages"] = list(messages)
        payload = orjson.dumps(body)

        try:
            self.breaker.check()
        except LLMError:
            self.stats.breaker_refusals += 1
            raise
        estimate = self.budget.estimate(len(payload), int(body.get("max_tokens") or 1024))
        try:
            self.budget.reserve(estimate)
        except LLMError:
            self.stats.budget_refusals += 1
            raise
        self.stats.calls += 1
        started = time.perf_counter()
        try:
            result = await self._call_with_retries(payload, started)
        except BaseException:
            self.budget.settle(estimate, None)
            raise
        actual = (
            self.budget.actual_cost(result.usage.input_tokens, result.usage.output_tokens)
            if result.usage.reported
            else None
        )
        self.budget.settle(estimate, actual)
        self.stats.succeeded += 1
        return dataclasses.replace(result, cost_usd=actual)

    async def _call_with_retries(self, payload: bytes, started: float) -> ChatResult:
        attempt = 0
        while True:
            self.breaker.check()
            attempt += 1
            self.stats.attempts += 1
            try:
                async with self._semaphore:
                    if self._bucket is not None:
                        await self._bucket.acquire()
                    result = await self._attempt(payload, attempt, started)
            except _TransientError as exc:
                if exc.counts_for_breaker:
                    self.breaker.record_failure(str(exc))
                if attempt > self.limits.max_retries:
                    self.stats.exhausted += 1
                    raise RetriesExhaustedError(attempt, str(exc)) from None
                self.stats.retries += 1
                if exc.retry_after is not None:
                    self.stats.retry_after_waits += 1
                    delay = min(exc.retry_after, self.limits.max_retry_after_s)
                else:
                    delay = backoff_delay(
                        attempt - 1,
                        self.limits.backoff_base_s,
                        self.limits.backoff_max_s,
                        self._rng,
                    )
                await self._sleep(delay)
                continue
            except PermanentRequestError as exc:
                self.stats.permanent_errors += 1
                self.breaker.record_failure(str(exc))
                raise
            except FatalEndpointError:
                self.stats.fatal_errors += 1
                raise
            self.breaker.record_success()
            return result

    async def _attempt(self, payload: bytes, attempt: int, started: float) -> ChatResult:
        assert self._http is not None
        sent = time.perf_counter()
        try:
            response = await self._http.post(
                self.endpoint.chat_url, content=payload, headers=self._headers()
            )
        except httpx.TimeoutException as exc:
            self.stats.timeouts += 1
            raise _TransientError(f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            self.stats.transport_errors += 1
            raise _TransientError(
                redact(f"transport error ({type(exc).__name__}: {exc})")
            ) from None
        latency_ms = (time.perf_counter() - sent) * 1000.0
        status = response.status_code
        if status == 200:
            return self._parse(response, attempt, latency_ms, started)
        # Gateways echo requests in their errors, Authorization header included: the
        # body is redacted before it is cut short, kept in an error, logged or stored.
        text = redact(response.text)
        if status in RETRYABLE_STATUS:
            if status == 429:
                self.stats.http_429 += 1
            elif status >= 500:
                self.stats.http_5xx += 1
            else:
                self.stats.http_other_retryable += 1
            raise _TransientError(
                f"HTTP {status}: {text[:200]}",
                retry_after=_retry_after(response.headers),
                counts=status != 429,
            )
        if status >= 500:
            self.stats.http_5xx += 1
            raise _TransientError(f"HTTP {status}: {text[:200]}")
        if status in FATAL_STATUS:
            raise FatalEndpointError(status, text)
        raise PermanentRequestError(status, text)

    def _parse(
        self, response: httpx.Response, attempt: int, latency_ms: float, started: float
    ) -> ChatResult:
        try:
            data = orjson.loads(response.content)
            choice = data["choices"][0]
            if self.endpoint.protocol == "completions":
                text = choice.get("text")
            else:
                text = (choice.get("message") or {}).get("content")
            if text is not None and not isinstance(text, str):
                raise TypeError("message.content is not a string")
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
            self.stats.bad_responses += 1
            raise _TransientError(redact(f"malformed completion response: {exc}")) from None
        usage_block = data.get("usage") or {}
        details = usage_block.get("prompt_tokens_details") or {}
        usage = Usage(
            input_tokens=int(usage_block.get("prompt_tokens") or 0),
            output_tokens=int(usage_block.get("completion_tokens") or 0),
            cached_input_tokens=int(details.get("cached_tokens") or 0),
            reported=bool(usage_block),
        )
        return ChatResult(
            text=text,
            finish_reason=choice.get("finish_reason"),
            system_fingerprint=data.get("system_fingerprint"),
            model=data.get("model"),
            usage=usage,
            latency_ms=latency_ms,
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
            attempts=attempt,
            cost_usd=None,
            retrieved_ids=_retrieved_ids(data.get("retrieved_ids")),
            logprobs=_logprobs(choice.get("logprobs")),
        )


def _retrieved_ids(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _logprobs(block: object) -> tuple[TokenLogprob, ...] | None:
    """Token log-probabilities of either protocol, or None when there are none.

    Chat: ``{"content": [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}``;
    completions: ``{"tokens": [...], "token_logprobs": [...], "top_logprobs": [{t: lp}]}``.
    A malformed block is None, not a guess: the caller decides what missing means.
    """
    if not isinstance(block, dict):
        return None
    try:
        content = block.get("content")
        if isinstance(content, list):
            # Without top_logprobs the chosen token is the only alternative known.
            return tuple(
                TokenLogprob(
                    str(item["token"]),
                    float(item["logprob"]),
                    {str(t["token"]): float(t["logprob"]) for t in item.get("top_logprobs") or []}
                    or {str(item["token"]): float(item["logprob"])},
                )
                for item in content
            )
        tokens, values = block.get("tokens"), block.get("token_logprobs")
        if isinstance(tokens, list) and isinstance(values, list):
            tops = block.get("top_logprobs") or [None] * len(tokens)
            return tuple(
                TokenLogprob(
                    str(token),
                    float(value),
                    {str(t): float(lp) for t, lp in (top or {}).items()}
                    or {str(token): float(value)},
                )
                for token, value, top in zip(tokens, values, tops, strict=True)
                if value is not None
            )
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _retry_after(headers: httpx.Headers) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))
