"""Concurrent sample-and-judge runs (two workers) split the work through claims, on both
backends, against the simulator's judge on 127.0.0.1: nothing judged twice, both runs
judge, and samples held by a run that died are judged once its lease runs out.
(How much faster two workers are is measured in bench/scale.py, not here.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from llmwatch.judge import job
from llmwatch.judge.runner import JudgeRunReport
from llmwatch.judge.store import get_watermark
from llmwatch.simulator import SimulatorServer
from llmwatch.warehouse import claims, make_engine
from llmwatch.warehouse.models import Judgement, WorkClaim
from tests.core.judge.helpers import T0, insert_requests, production_rows
from tests.core.judge.test_runner import JUDGE_MODEL, PROD_MODEL, count, settings_for


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(
        latency_ms=20, judge_malformed_rate=0.0, judge_out_of_range_rate=0.0
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def answers(sim: SimulatorServer) -> list[dict]:
    return production_rows(sim.base_url, PROD_MODEL, T0, 40, prefix="shard")


def test_two_concurrent_runs_split_the_selection_and_judge_nothing_twice(
    engine: Engine, sim: SimulatorServer, answers: list[dict]
) -> None:
    insert_requests(engine, answers)
    sim.reset()
    url = engine.url.render_as_string(False)
    setup = job.judge_setup(settings_for(sim.base_url, url, concurrency=2))
    # Both workers select before either judges: they see the same 40 samples.
    selections = [job.select(engine, setup, None, None) for _ in range(2)]
    assert [len(s.samples) for s in selections] == [40, 40]
    reports: list[JudgeRunReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        own = make_engine(url)
        try:
            start.wait()
            reports.append(asyncio.run(job.judge(own, setup, selections[index])))
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    judged = [r.judged_ok + r.parse_failures for r in reports]
    assert all(n > 0 for n in judged), judged  # both workers took a share
    assert sum(r.client["calls"] for r in reports) == 40  # no sample judged twice
    assert sum(judged) == 40
    assert sorted(r.claimed_elsewhere for r in reports) == sorted(judged)
    assert sum(r.duplicates for r in reports) == 0
    assert count(engine) == 40
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WorkClaim)).scalar_one() == 0

    # The next run finds nothing to judge and moves the watermark past everything.
    again = job.select(engine, setup, None, None)
    assert again.samples == []
    asyncio.run(job.judge(engine, setup, again))
    with engine.connect() as conn:
        assert get_watermark(conn) == max(a["ingested_at"] for a in answers)


def test_samples_held_by_a_dead_run_wait_for_its_lease_then_are_judged(
    engine: Engine, sim: SimulatorServer, answers: list[dict]
) -> None:
    insert_requests(engine, answers)
    sim.reset()
    url = engine.url.render_as_string(False)
    setup = job.judge_setup(settings_for(sim.base_url, url))
    held = sorted(answers, key=lambda a: a["ingested_at"])[10:15]
    scope = job.SampleClaims(engine, setup).scope
    now = datetime.now(UTC)
    with engine.begin() as conn:  # a worker claimed these, then its host died
        ids = [a["request_id"] for a in held]
        claims.claim(conn, scope, ids, "dead-host:1:x", timedelta(minutes=15), now)

    report = asyncio.run(job.judge(engine, setup, job.select(engine, setup, None, None)))
    assert report.claimed_elsewhere == 5
    assert count(engine) == 35
    with engine.connect() as conn:
        # The watermark waits before the first held sample: nothing past it is lost.
        assert get_watermark(conn) < held[0]["ingested_at"]
        conn.execute(update(WorkClaim).values(lease_until=now - timedelta(seconds=1)))
        conn.commit()

    report = asyncio.run(job.judge(engine, setup, job.select(engine, setup, None, None)))
    assert (report.claimed_elsewhere, report.judged_ok + report.parse_failures) == (0, 5)
    with engine.connect() as conn:
        judged = conn.execute(
            select(Judgement.request_id).where(Judgement.judge_model == JUDGE_MODEL)
        ).scalars()
        assert sorted(judged) == sorted(a["request_id"] for a in answers)
