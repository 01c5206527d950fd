"""Live comparison of two versions over 1,000,000 requests: time vs the bare reads.

    .venv/bin/python bench/compare_versions.py [--requests 1000000] [--repeat 3]
                                               [--backend sqlite|postgresql|both]

One warehouse per backend is loaded once: ``--requests`` requests in one day, 90 % for
the baseline model and 10 % for the candidate (a canary), 3 % of them judged, plus the
same amount of traffic of another model that the comparison must skip. Then, alternating,
median of ``--repeat`` after one warm-up each:

  bare      the reference: the reads any implementation needs, on the DB-API driver
            (sqlite3 / psycopg), nothing else: per arm the count/error/cost aggregate,
            the latency and TTFT of successful requests (fetched), the judged scores;
  llmwatch  ``llmwatch.compare.compare_versions`` end to end: the same reads through
            SQLAlchemy into NumPy, bounded seeded samples (20,000 per arm), the five tests
            and the verdict.

Target: llmwatch within 1.5x of the bare reads.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

from llmwatch.compare import compare_versions
from llmwatch.settings import Settings
from llmwatch.warehouse.engine import make_engine, upgrade
from llmwatch.warehouse.models import Judgement, Request
from llmwatch.warehouse.types import sqlite_timestamp_text

POSTGRES_URL = os.environ.get(
    "LLMWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DAY = datetime(2026, 11, 2, tzinfo=UTC)
BASELINE, CANDIDATE, OTHER = "base-model", "canary-model", "other-model"


def load(engine: Engine, n: int) -> None:
    rng = random.Random(0)
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    judged: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(Request.__table__), batch)
            if judged:
                conn.execute(insert(Judgement.__table__), judged)
        batch.clear()
        judged.clear()

    for i in range(2 * n):
        model = OTHER if i >= n else (CANDIDATE if rng.random() < 0.1 else BASELINE)
        ts = DAY + timedelta(seconds=rng.random() * 86_400)
        slow = 1.3 if model == CANDIDATE else 1.0
        rid = f"r{i:09d}"
        batch.append(
            {
                "request_id": rid,
                "ts": ts,
                "feature_id": "support_chat",
                "model_id": model,
                "latency_ms": rng.lognormvariate(7, 0.4) * slow,
                "ttft_ms": rng.lognormvariate(6, 0.4) * slow,
                "input_tokens": 600,
                "output_tokens": 150,
                "cost_usd": 0.0002 + rng.random() * 1e-4,
                "error": "500" if rng.random() < 0.005 else None,
                "ingested_at": now,
            }
        )
        if rng.random() < 0.03:
            judged.append(
                {
                    "request_id": rid,
                    "feature_id": "support_chat",
                    "model_id": model,
                    "request_ts": ts,
                    "rubric_version": "v1",
                    "judge_model": "j",
                    "status": "ok",
                    "score": min(5.0, max(1.0, rng.gauss(4, 0.6))),
                    "judged_at": now,
                }
            )
        if len(batch) >= 50_000:
            flush()
    if batch:
        flush()


BARE_SQL = {
    "totals": "SELECT count(*), sum(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), "
    "count(cost_usd), sum(cost_usd), sum(cost_usd * cost_usd) FROM requests "
    "WHERE model_id = {p} AND ts >= {p} AND ts < {p}",
    "values": "SELECT latency_ms, ttft_ms FROM requests "
    "WHERE model_id = {p} AND ts >= {p} AND ts < {p} AND error IS NULL",
    "scores": "SELECT j.score FROM judgements j JOIN requests r ON r.request_id = j.request_id "
    "WHERE r.model_id = {p} AND r.ts >= {p} AND r.ts < {p} AND j.status = 'ok' "
    "AND j.score IS NOT NULL AND j.rubric_version = 'v1'",
}


def bare(url: str) -> float:
    backend = make_url(url).get_backend_name()
    start, end = DAY, DAY + timedelta(days=1)
    if backend == "sqlite":
        import sqlite3

        conn: Any = sqlite3.connect(make_url(url).database)
        bounds: tuple[Any, Any] = (sqlite_timestamp_text(start), sqlite_timestamp_text(end))
        mark = "?"
    else:
        import psycopg

        pg = make_url(url).set(drivername="postgresql")
        conn = psycopg.connect(pg.render_as_string(hide_password=False))
        bounds, mark = (start, end), "%s"
    began = time.perf_counter()
    cur = conn.cursor()
    for model in (BASELINE, CANDIDATE):
        for sql in BARE_SQL.values():
            cur.execute(sql.format(p=mark), (model, *bounds))
            cur.fetchall()
    took = time.perf_counter() - began
    conn.close()
    return took


def llmwatch_run(engine: Engine) -> tuple[float, str]:
    settings = Settings(warehouse_url=str(engine.url))
    began = time.perf_counter()
    result = compare_versions(
        engine,
        settings,
        baseline=BASELINE,
        candidate=CANDIDATE,
        since=DAY,
        until=DAY + timedelta(days=1),
    )
    return time.perf_counter() - began, result.verdict


def run_backend(url: str, n: int, repeat: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    load(engine, n)
    print(f"  loaded {2 * n:,} requests in {time.perf_counter() - began:.1f}s")
    bare(url)
    llmwatch_run(engine)  # warm-up
    bare_times, ours, verdict = [], [], ""
    for _ in range(repeat):
        bare_times.append(bare(url))
        took, verdict = llmwatch_run(engine)
        ours.append(took)
    b, o = statistics.median(bare_times), statistics.median(ours)
    print(f"  bare reads (reference): {b:.3f}s")
    print(f"  llmwatch compare:       {o:.3f}s  ({o / b:.2f}x the reference; verdict {verdict})")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"live comparison, {args.requests:,} requests (90/10 split) + as many of another model")
    if args.backend in ("sqlite", "both"):
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            print("sqlite:")
            run_backend(f"sqlite:///{folder}/bench.db", args.requests, args.repeat)
    if args.backend in ("postgresql", "both"):
        admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"llmwatch_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print("postgresql:")
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
            run_backend(url, args.requests, args.repeat)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
