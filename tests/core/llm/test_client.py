from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import SecretStr

from llmwatch.llm import (
    Budget,
    BudgetExceededError,
    ChatClient,
    ChatResult,
    CircuitOpenError,
    Endpoint,
    FatalEndpointError,
    Limits,
    PermanentRequestError,
    Pricing,
    RetriesExhaustedError,
)
from llmwatch.llm.retry import backoff_delay, parse_retry_after
from tests.core.llm.fault_server import Action, FaultServer

KEY = "sk-test-very-secret-0123456789"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer().start()
    yield srv
    srv.stop()


class RecordingSleep:
    """Records the delays asked for, and waits only a tick (keeps tests fast)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def endpoint(server: FaultServer, **params: object) -> Endpoint:
    return Endpoint(server.base_url, "judge-model", SecretStr(KEY), params=params)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def one_call(client: ChatClient):  # type: ignore[no-untyped-def]
    async with client:
        return await client.chat(MESSAGES)


def test_success_carries_text_usage_fingerprint_and_cost(server: FaultServer) -> None:
    server.then(Action(content="the answer"))
    budget = Budget(pricing=Pricing(input_mtok=1.0, output_mtok=2.0))
    client = ChatClient(endpoint(server, temperature=0), budget=budget)
    result = run(one_call(client))
    assert result.text == "the answer"
    assert result.finish_reason == "stop"
    assert result.system_fingerprint == "fp_fault"
    assert result.model == "fault-model-v1"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (100, 20)
    assert result.attempts == 1
    assert result.latency_ms > 0
    assert result.cost_usd == pytest.approx((100 * 1.0 + 20 * 2.0) / 1e6)
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "judge-model"
    assert sent["body"]["temperature"] == 0
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(client.endpoint)


def test_429_waits_exactly_retry_after_seconds(server: FaultServer) -> None:
    server.then(Action(429, {"Retry-After": "7"}))
    sleep = RecordingSleep()
    client = ChatClient(endpoint(server), sleep=sleep)
    result = run(one_call(client))
    assert result.attempts == 2
    assert sleep.delays == [7.0]
    assert client.stats.http_429 == 1
    assert client.stats.retry_after_waits == 1


def test_429_with_http_date_retry_after(server: FaultServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.then(Action(429, {"Retry-After": when}))
    sleep = RecordingSleep()
    client = ChatClient(endpoint(server), sleep=sleep)
    run(one_call(client))
    assert 27 <= sleep.delays[0] <= 30


def test_retry_after_is_capped(server: FaultServer) -> None:
    server.then(Action(429, {"Retry-After": "86400"}))
    sleep = RecordingSleep()
    client = ChatClient(endpoint(server), Limits(max_retry_after_s=5), sleep=sleep)
    run(one_call(client))
    assert sleep.delays == [5.0]


def test_503_retried_with_jittered_exponential_backoff(server: FaultServer) -> None:
    server.then(Action(503), Action(502), Action(500))
    sleep = RecordingSleep()
    limits = Limits(backoff_base_s=1.0, backoff_max_s=3.0)
    client = ChatClient(endpoint(server), limits, rng=random.Random(1), sleep=sleep)
    result = run(one_call(client))
    assert result.attempts == 4
    assert client.stats.http_5xx == 3
    assert client.stats.retries == 3
    # ceilings 1, 2, min(3, 4): full jitter stays under each.
    assert [d <= c for d, c in zip(sleep.delays, [1.0, 2.0, 3.0], strict=True)] == [True] * 3
    assert len(set(sleep.delays)) == 3


def test_timeout_is_retried(server: FaultServer) -> None:
    server.then(Action(delay_s=1.0))
    client = ChatClient(endpoint(server), Limits(timeout_s=0.2), sleep=RecordingSleep())
    result = run(one_call(client))
    assert result.attempts == 2
    assert client.stats.timeouts == 1


def test_malformed_success_body_is_retried(server: FaultServer) -> None:
    server.then(Action(body=b"<html>gateway</html>"))
    client = ChatClient(endpoint(server), sleep=RecordingSleep())
    result = run(one_call(client))
    assert result.attempts == 2
    assert client.stats.bad_responses == 1


def test_validation_error_is_not_retried(server: FaultServer) -> None:
    server.then(Action(400, body=b'{"error": "context too long"}'))
    client = ChatClient(endpoint(server), sleep=RecordingSleep())
    with pytest.raises(PermanentRequestError) as info:
        run(one_call(client))
    assert info.value.status == 400
    assert "context too long" in info.value.body
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403, 404])
def test_auth_errors_stop_without_retry_and_without_leaking_the_key(
    server: FaultServer, status: int
) -> None:
    server.then(Action(status))
    client = ChatClient(endpoint(server), sleep=RecordingSleep())
    with pytest.raises(FatalEndpointError) as info:
        run(one_call(client))
    assert len(server.requests) == 1
    assert KEY not in str(info.value)
    assert client.stats.fatal_errors == 1


def test_retries_exhausted(server: FaultServer) -> None:
    server.default = Action(503)
    client = ChatClient(endpoint(server), Limits(max_retries=2), sleep=RecordingSleep())
    with pytest.raises(RetriesExhaustedError) as info:
        run(one_call(client))
    assert info.value.attempts == 3
    assert client.stats.exhausted == 1


def test_circuit_breaker_opens_and_stops_later_calls(server: FaultServer) -> None:
    server.default = Action(503)
    limits = Limits(max_retries=10, breaker_threshold=3)
    client = ChatClient(endpoint(server), limits, sleep=RecordingSleep())

    async def go() -> None:
        async with client:
            with pytest.raises(CircuitOpenError):
                await client.chat(MESSAGES)
            with pytest.raises(CircuitOpenError):
                await client.chat(MESSAGES)

    run(go())
    assert len(server.requests) == 3
    assert client.stats.breaker_refusals == 1


def test_429_does_not_open_the_breaker(server: FaultServer) -> None:
    server.then(*[Action(429, {"Retry-After": "0"}) for _ in range(5)])
    limits = Limits(max_retries=6, breaker_threshold=2)
    client = ChatClient(endpoint(server), limits, sleep=RecordingSleep())
    assert run(one_call(client)).attempts == 6


def test_connection_refused_is_a_transport_error() -> None:
    srv = FaultServer()  # bound but never serving: then closed, so the port refuses
    url = srv.base_url
    srv.httpd.server_close()
    client = ChatClient(Endpoint(url, "m"), Limits(max_retries=1), sleep=RecordingSleep())
    with pytest.raises(RetriesExhaustedError):
        run(one_call(client))
    assert client.stats.transport_errors == 2


def test_call_budget(server: FaultServer) -> None:
    client = ChatClient(endpoint(server), budget=Budget(max_calls=2))

    async def go() -> None:
        async with client:
            await client.chat(MESSAGES)
            await client.chat(MESSAGES)
            with pytest.raises(BudgetExceededError):
                await client.chat(MESSAGES)

    run(go())
    assert len(server.requests) == 2
    assert client.stats.budget_refusals == 1


def test_cost_budget_reserves_before_and_settles_after(server: FaultServer) -> None:
    # Each call costs (100 * 10 + 20 * 10) / 1e6 = 0.0012 USD; the reservation for a short
    # prompt and max_tokens=20 is about 0.0005, so after two calls (0.0024) a third
    # reservation would pass 0.0025 and is refused before anything is sent.
    budget = Budget(max_cost_usd=0.0025, pricing=Pricing(10.0, 10.0))
    client = ChatClient(endpoint(server, max_tokens=20), budget=budget)

    async def go() -> int:
        done = 0
        async with client:
            for _ in range(5):
                try:
                    await client.chat(MESSAGES)
                except BudgetExceededError:
                    break
                done += 1
        return done

    assert run(go()) == 2
    assert budget.spent_usd == pytest.approx(0.0024)
    assert budget.reserved_usd == 0


def test_cost_budget_needs_pricing() -> None:
    with pytest.raises(ValueError, match="pricing"):
        Budget(max_cost_usd=1.0)


def test_concurrency_bound(server: FaultServer) -> None:
    server.default = Action(delay_s=0.05)
    client = ChatClient(endpoint(server), Limits(concurrency=4))

    async def go() -> None:
        async with client:
            await asyncio.gather(*(client.chat(MESSAGES) for _ in range(24)))

    run(go())
    assert server.max_in_flight == 4
    assert client.stats.succeeded == 24


def test_rate_limit_spaces_call_starts(server: FaultServer) -> None:
    client = ChatClient(endpoint(server), Limits(concurrency=8, requests_per_second=20))

    async def go() -> float:
        async with client:
            started = time.perf_counter()
            await asyncio.gather(*(client.chat(MESSAGES) for _ in range(11)))
            return time.perf_counter() - started

    # A burst of 20 tokens, so drain the bucket first to see the rate.
    client._bucket.capacity = 1  # type: ignore[union-attr]
    client._bucket._tokens = 1  # type: ignore[union-attr]
    assert run(go()) >= 10 / 20 * 0.9


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:10 GMT", now=now) == 0.0


def test_backoff_ceiling_grows_then_caps() -> None:
    rng = random.Random(0)
    samples = [max(backoff_delay(a, 0.5, 4.0, rng) for _ in range(300)) for a in range(6)]
    assert samples[0] <= 0.5
    assert 0.9 < samples[1] <= 1.0
    assert all(3.5 < s <= 4.0 for s in samples[3:])


def test_many_connections_are_spread_over_small_pools(server: FaultServer) -> None:
    server.default = Action(delay_s=0.5)
    client = ChatClient(endpoint(server), Limits(concurrency=20))

    async def go() -> int:
        async with client:
            transport = client._http._transport  # type: ignore[union-attr]
            await asyncio.gather(*(client.chat(MESSAGES) for _ in range(40)))
            return transport.shards

    assert run(go()) == 3
    # All 20 calls run at once although no single pool holds more than 7 connections.
    assert server.max_in_flight == 20
    assert client.stats.succeeded == 40


def test_completions_protocol_sends_a_prompt_and_reads_the_choice_text(
    server: FaultServer,
) -> None:
    body = {
        "id": "cmpl-2",
        "object": "text_completion",
        "model": "base-model",
        "choices": [{"index": 0, "text": " Paris.", "finish_reason": "length"}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8},
    }
    server.then(Action(body=json.dumps(body).encode()))
    base = Endpoint(server.base_url, "base-model", None, {"max_tokens": 8}, protocol="completions")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]

    async def call() -> ChatResult:
        async with ChatClient(base) as client:
            return await client.chat(messages)

    result = run(call())
    assert result.text == " Paris."
    assert result.finish_reason == "length"
    assert result.system_fingerprint is None
    sent = server.requests[0]
    assert sent["path"] == "/v1/completions"
    assert sent["body"]["prompt"] == "Be brief.\n\nHi"
    assert "messages" not in sent["body"]


def test_logprobs_of_both_protocols_are_parsed_and_absent_ones_are_none(
    server: FaultServer,
) -> None:
    completions = {
        "model": "m",
        "choices": [
            {
                "text": " Paris.",
                "finish_reason": "length",
                "logprobs": {
                    "tokens": [" Paris", "."],
                    "token_logprobs": [-0.5, -0.1],
                    "top_logprobs": [{" Paris": -0.5, " Lyon": -1.5}, {".": -0.1}],
                },
            }
        ],
    }
    chat_without_top = {
        "model": "m",
        "choices": [
            {
                "message": {"role": "assistant", "content": " Paris"},
                "finish_reason": "length",
                "logprobs": {"content": [{"token": " Paris", "logprob": -0.25}]},
            }
        ],
    }
    server.then(Action(body=json.dumps(completions).encode()))
    server.then(Action(body=json.dumps(chat_without_top).encode()))
    server.then(Action(content="no logprobs asked"))
    text = Endpoint(server.base_url, "m", protocol="completions")
    first = run(one_call(ChatClient(text)))
    assert first.logprobs is not None
    assert [(t.token, t.logprob) for t in first.logprobs] == [(" Paris", -0.5), (".", -0.1)]
    assert dict(first.logprobs[0].top) == {" Paris": -0.5, " Lyon": -1.5}
    second = run(one_call(ChatClient(Endpoint(server.base_url, "m"))))
    assert second.logprobs is not None
    # No top_logprobs sent: the chosen token is the one alternative known.
    assert dict(second.logprobs[0].top) == {" Paris": -0.25}
    third = run(one_call(ChatClient(Endpoint(server.base_url, "m"))))
    assert third.logprobs is None
