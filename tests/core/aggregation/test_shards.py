"""Concurrent aggregation runs split the windows (llmwatch.aggregation.shards), on both
backends: every window aggregated by exactly one of two concurrent runs, and again by a
later run (the look-back and late data still re-aggregate)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from llmwatch.aggregation import run_window, shards, windows_between
from llmwatch.settings import CostSettings
from llmwatch.warehouse import claims, make_engine
from llmwatch.warehouse.models import WorkClaim
from tests.core.judge.helpers import insert_requests, request_row

START = datetime(2026, 11, 2, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def a_run(
    url: str, windows: list[datetime], done: list[datetime], start: threading.Barrier
) -> None:
    engine = make_engine(url)
    owner, started = claims.new_owner(), datetime.now(UTC)
    start.wait()
    try:
        for window in windows:  # what the flow does, without Prefect
            if shards.claim_window(engine, window, owner, LEASE, started):
                run_window(engine, window, CostSettings())
                shards.finish_window(engine, window, owner)
                done.append(window)
    finally:
        engine.dispose()


def test_two_concurrent_runs_aggregate_each_window_once(engine: Engine) -> None:
    rows = [
        request_row(f"r{h}-{i}", ts=START + timedelta(hours=h, minutes=i))
        for h in range(12)
        for i in range(20)
    ]
    insert_requests(engine, rows)
    windows = windows_between(START, START + timedelta(hours=12))
    url = engine.url.render_as_string(False)
    done: dict[str, list[datetime]] = {"a": [], "b": []}
    start = threading.Barrier(2)
    threads = [threading.Thread(target=a_run, args=(url, windows, d, start)) for d in done.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(done["a"] + done["b"]) == windows  # each window once, none left out
    assert done["a"]
    assert done["b"]

    # A run that starts later (the next hour's look-back) aggregates them again.
    later: list[datetime] = []
    a_run(url, windows[-3:], later, threading.Barrier(1))
    assert later == windows[-3:]


def test_a_window_held_by_a_dead_run_waits_for_its_lease(engine: Engine) -> None:
    window = START
    past = datetime.now(UTC) - timedelta(hours=1)
    assert shards.claim_window(engine, window, "dead", LEASE, past)
    assert not shards.claim_window(engine, window, "alive", LEASE, datetime.now(UTC))
    with engine.begin() as conn:
        expired = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(update(WorkClaim).values(lease_until=expired))
    assert shards.claim_window(engine, window, "alive", LEASE, datetime.now(UTC))
