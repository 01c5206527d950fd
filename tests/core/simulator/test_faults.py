"""Every fault happens when asked, and random faults are deterministic by seed."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import httpx
import openai
import pytest

from llmwatch.simulator import FaultProfile, SimulatorServer
from tests.core.simulator.conftest import GPT4O, HAIKU, MINI, chat_body


def test_next_n_calls_get_429_with_retry_after_then_recover(
    sim: SimulatorServer, http: httpx.Client
):
    sim.inject(MINI, "rate_limit", count=2, retry_after=1)
    for _ in range(2):
        response = http.post("/chat/completions", json=chat_body())
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert http.post("/chat/completions", json=chat_body()).status_code == 200


def test_queued_fault_only_hits_its_model(sim: SimulatorServer, http: httpx.Client):
    sim.inject(MINI, "server_error")
    assert http.post("/chat/completions", json=chat_body(GPT4O)).status_code == 200
    assert http.post("/chat/completions", json=chat_body(MINI)).status_code == 500


def test_official_client_sees_rate_limit_and_server_errors(
    sim: SimulatorServer, oai: openai.OpenAI
):
    messages = [{"role": "user", "content": "hello"}]
    sim.inject("*", "rate_limit", retry_after=2)
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model=MINI, messages=messages)
    assert limited.value.response.headers["retry-after"] == "2"
    sim.inject(HAIKU, "unavailable")
    with pytest.raises(openai.InternalServerError) as unavailable:
        oai.chat.completions.create(model=HAIKU, messages=messages)
    assert unavailable.value.status_code == 503
    sim.inject(HAIKU, "server_error")
    with pytest.raises(openai.InternalServerError) as failed:
        oai.chat.completions.create(model=HAIKU, messages=messages)
    assert failed.value.status_code == 500


def test_official_client_retries_on_429_and_succeeds(sim: SimulatorServer):
    sim.inject(MINI, "rate_limit", count=1, retry_after=0.1)
    with openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=2) as client:
        completion = client.chat.completions.create(
            model=MINI, messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content
    assert [c.status for c in sim.history(MINI)] == [429, 200]


def test_timeout_hangs_longer_than_the_client_waits(sim: SimulatorServer):
    sim.inject(MINI, "timeout", delay_s=3.0)
    with httpx.Client(base_url=sim.base_url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/chat/completions", json=chat_body())
        # The hang does not block other callers.
        assert client.post("/chat/completions", json=chat_body()).status_code == 200


def test_slow_answer_arrives_late_but_complete(sim: SimulatorServer, http: httpx.Client):
    sim.inject(MINI, "slow", delay_s=0.4)
    response = http.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.4
    assert response.json()["choices"][0]["message"]["content"]


def test_truncated_body_is_a_200_whose_json_does_not_parse(
    sim: SimulatorServer, http: httpx.Client, oai: openai.OpenAI
):
    sim.inject(MINI, "truncated")
    response = http.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    sim.inject(MINI, "truncated")
    with pytest.raises((json.JSONDecodeError, openai.APIResponseValidationError)):
        oai.chat.completions.create(model=MINI, messages=[{"role": "user", "content": "x"}])


def test_truncated_stream_ends_without_done(sim: SimulatorServer, http: httpx.Client):
    sim.inject(MINI, "truncated")
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response,
    ):
        lines.extend(response.iter_lines())
    assert "data: [DONE]" not in lines


def _statuses(seed: int, calls: int) -> list[int]:
    profile = FaultProfile(rate_limit=0.2, server_error=0.1, unavailable=0.1, retry_after_s=0)
    with (
        SimulatorServer(seed=seed, latency_scale=0.0, faults={MINI: profile}) as sim,
        httpx.Client(base_url=sim.base_url, timeout=10) as client,
    ):
        return [
            client.post("/chat/completions", json=chat_body()).status_code for _ in range(calls)
        ]


def test_random_faults_follow_the_profile_and_repeat_with_the_seed():
    first = _statuses(seed=7, calls=120)
    assert first == _statuses(seed=7, calls=120)
    assert first != _statuses(seed=8, calls=120)
    failed = sum(status != 200 for status in first) / len(first)
    assert 0.25 < failed < 0.55  # 40% configured
    assert {429, 500, 503} <= set(first)


def test_scenario_error_burst_fails_a_share_of_calls_only_inside_its_window(
    sim: SimulatorServer, http: httpx.Client
):
    def failure_rate() -> float:
        statuses = [
            http.post("/chat/completions", json=chat_body(HAIKU)).status_code for _ in range(80)
        ]
        assert set(statuses) <= {200, 500, 503}
        return sum(s != 200 for s in statuses) / len(statuses)

    assert failure_rate() == 0.0
    sim.set_clock(datetime(2025, 6, 4, 21, tzinfo=UTC))  # demo: extraction/haiku burst
    assert 0.12 < failure_rate() < 0.5


def test_control_routes_drive_a_server_from_another_process(sim: SimulatorServer):
    from llmwatch.simulator import SimulatorControl

    with SimulatorControl(sim.base_url) as control, httpx.Client(base_url=sim.base_url) as client:
        control.inject(GPT4O, "unavailable", count=1)
        assert client.post("/chat/completions", json=chat_body(GPT4O)).status_code == 503
        control.set_clock(datetime(2025, 6, 6, tzinfo=UTC))
        assert control.state()["versions"][MINI]["version"] == "2024-07-18-r2"
        control.pin_version(MINI, "2024-07-18")
        assert control.state()["versions"][MINI]["version"] == "2024-07-18"
        control.reset()
        assert control.state()["wall_clock"] is True


def test_stopping_the_server_releases_hanging_calls():
    sim = SimulatorServer(latency_scale=0.0).start()
    sim.inject(MINI, "timeout", delay_s=60)
    errors: list[Exception] = []

    def call() -> None:
        try:
            httpx.post(sim.base_url + "/chat/completions", json=chat_body(), timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    started = time.perf_counter()
    sim.stop()
    caller.join(timeout=10)
    assert time.perf_counter() - started < 5
    assert not caller.is_alive()
    assert errors  # the hung call ended with a broken connection, not an answer


def test_fault_profile_can_be_changed_while_serving(sim: SimulatorServer, http: httpx.Client):
    sim.set_fault_profile(HAIKU, FaultProfile(unavailable=1.0))
    assert {
        http.post("/chat/completions", json=chat_body(HAIKU)).status_code for _ in range(5)
    } == {503}
    assert http.post("/chat/completions", json=chat_body(MINI)).status_code == 200
    sim.set_fault_profile(HAIKU, FaultProfile())
    assert http.post("/chat/completions", json=chat_body(HAIKU)).status_code == 200
