"""The judging job against the provider simulator over real HTTP (no Prefect)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from llmwatch.judge import job
from llmwatch.judge.store import get_watermark
from llmwatch.judge.structured import FORMATS
from llmwatch.settings import JudgeSettings, Settings
from llmwatch.simulator import SimulatorServer
from llmwatch.warehouse.models import Judgement
from tests.core.judge.helpers import T0, insert_requests, production_rows
from tests.core.llm.fault_server import Action, FaultServer

PROD_MODEL = "gpt-4o-2024-08-06"
JUDGE_MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(
        latency_ms=5, judge_malformed_rate=0.0, judge_out_of_range_rate=0.0
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def answers(sim: SimulatorServer) -> list[dict]:
    return production_rows(sim.base_url, PROD_MODEL, T0, 24, prefix="run")


def settings_for(base_url: str, warehouse_url: str, **judge: object) -> Settings:
    cfg = {
        "default_sample_rate": 1.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "requests_per_second": None,
        "timeout_s": 0.5,
        "commit_every": 5,
        **judge,
    }
    return Settings(
        warehouse_url=warehouse_url,
        judge_base_url=base_url,
        judge_model=JUDGE_MODEL,
        judge_api_key=SecretStr("sk-sim-secret"),
        judge=JudgeSettings(**cfg),  # type: ignore[arg-type]
    )


def run_job(engine: Engine, settings: Settings):  # type: ignore[no-untyped-def]
    setup = job.judge_setup(settings)
    selection = job.select(engine, setup, None, None)
    return selection, asyncio.run(job.judge(engine, setup, selection))


def count(engine: Engine, **where: object) -> int:
    query = select(func.count()).select_from(Judgement)
    for name, value in where.items():
        query = query.where(getattr(Judgement, name) == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_faults_are_retried_counted_and_malformed_answers_stored_as_failures(
    engine: Engine, sim: SimulatorServer, answers: list[dict]
) -> None:
    insert_requests(engine, answers)
    sim.reset()
    sim.inject(JUDGE_MODEL, "rate_limit", 2, retry_after=0.05)
    sim.inject(JUDGE_MODEL, "unavailable", 2)
    sim.inject(JUDGE_MODEL, "timeout", 1, delay_s=2.0)
    sim.inject(JUDGE_MODEL, "judge_malformed", 2)
    sim.inject(JUDGE_MODEL, "judge_out_of_range", 1)
    settings = settings_for(sim.base_url, engine.url.render_as_string(False))
    _, report = run_job(engine, settings)

    assert report.stopped is None
    stats = report.client
    assert stats["http_429"] == 2
    assert stats["retry_after_waits"] >= 2
    assert stats["http_5xx"] == 2
    assert stats["timeouts"] == 1
    assert stats["retries"] == 5
    assert report.parse_failures == 3
    assert report.judged_ok == len(answers) - 3
    assert report.deferred == 0
    assert count(engine) == len(answers)
    assert count(engine, status="failure") == 3
    with engine.connect() as conn:
        failures = conn.execute(
            select(Judgement.score, Judgement.raw_response, Judgement.failure_reason).where(
                Judgement.status == "failure"
            )
        ).all()
        assert all(f.score is None and f.raw_response and f.failure_reason for f in failures)
        scores = conn.execute(select(Judgement.score).where(Judgement.status == "ok")).scalars()
        assert all(1.0 <= s <= 5.0 for s in scores)
        assert get_watermark(conn) == max(a["ingested_at"] for a in answers)

    # A second run finds nothing new to judge.
    again, second = run_job(engine, settings)
    assert again.samples == []
    assert second.client["calls"] == 0
    assert count(engine) == len(answers)


def test_endpoint_down_opens_the_breaker_and_keeps_everything_for_later(
    engine: Engine, sim: SimulatorServer, answers: list[dict]
) -> None:
    insert_requests(engine, answers)
    sim.reset()
    settings = settings_for(
        sim.base_url, engine.url.render_as_string(False), breaker_failures=4, concurrency=2
    )
    # The endpoint is down for good: 4 failed attempts in a row open the breaker.
    sim.inject(JUDGE_MODEL, "unavailable", 1000)
    _, report = run_job(engine, settings)
    assert report.stopped == "circuit_open"
    assert "down" in (report.stop_message or "")
    assert count(engine) == 0
    with engine.connect() as conn:
        assert get_watermark(conn) is None
    sim.reset()
    _, report = run_job(engine, settings)
    assert report.stopped is None
    assert count(engine) == len(answers)


def test_call_budget_stops_the_run_and_the_next_run_continues(
    engine: Engine, sim: SimulatorServer, answers: list[dict]
) -> None:
    insert_requests(engine, answers)
    sim.reset()
    settings = settings_for(sim.base_url, engine.url.render_as_string(False), max_calls_per_run=10)
    first, report = run_job(engine, settings)
    assert len(first.samples) == 10
    assert count(engine) == 10
    total = 0
    for _ in range(3):
        _, report = run_job(engine, settings)
        total += report.stored
    assert count(engine) == len(answers)
    assert total == len(answers) - 10


def test_auth_error_stops_the_run_without_storing(engine: Engine, answers: list[dict]) -> None:
    insert_requests(engine, answers[:5])
    server = FaultServer(default=Action(401)).start()
    try:
        settings = settings_for(server.base_url, engine.url.render_as_string(False))
        _, report = run_job(engine, settings)
    finally:
        server.stop()
    assert report.stopped == "fatal"
    assert "sk-sim-secret" not in (report.stop_message or "")
    assert count(engine) == 0
    assert report.client["attempts"] <= settings.judge.concurrency


def test_validation_error_is_stored_as_a_failure(engine: Engine, answers: list[dict]) -> None:
    insert_requests(engine, answers[:1])
    server = FaultServer(default=Action(400, body=b'{"error": "prompt too long"}')).start()
    try:
        _, report = run_job(
            engine, settings_for(server.base_url, engine.url.render_as_string(False))
        )
    finally:
        server.stop()
    assert report.refused_requests == 1
    assert count(engine, status="failure") == 1


def test_redaction_happens_before_text_leaves(engine: Engine, answers: list[dict]) -> None:
    row = dict(answers[0], output="Write to jane@example.com or call +44 20 7946 0958.")
    insert_requests(engine, [row])
    server = FaultServer().start()
    try:
        run_job(engine, settings_for(server.base_url, engine.url.render_as_string(False)))
    finally:
        server.stop()
    sent = server.requests[0]["body"]["messages"][1]["content"]
    assert "jane@example.com" not in sent
    assert "[EMAIL]" in sent
    assert "[PHONE]" in sent
    assert server.requests[0]["body"]["response_format"]["type"] == "json_schema"


def test_a_refused_json_schema_falls_back_and_is_remembered(
    engine: Engine, answers: list[dict]
) -> None:
    FORMATS.clear()
    insert_requests(engine, answers[:6])
    refusal = b'{"error": {"message": "response_format json_schema is not supported"}}'
    verdict = json.dumps(
        {"faithfulness": 4, "relevance": 4, "completeness": 4, "context_relevance": None,
         "hallucination": False, "reasons": "ok"}
    )  # fmt: skip
    server = FaultServer(default=Action(content=verdict)).start()
    server.then(Action(status=400, body=refusal))
    settings = settings_for(server.base_url, engine.url.render_as_string(False), concurrency=1)
    try:
        _, report = run_job(engine, settings)
    finally:
        server.stop()
        FORMATS.clear()
    formats = [r["body"].get("response_format", {}).get("type") for r in server.requests]
    # One refusal, then JSON mode for the refused call and every later one.
    assert formats == ["json_schema"] + ["json_object"] * 6
    assert report.judged_ok == 6
    assert report.refused_requests == 0
