"""Hourly aggregation of one hour holding 1,000,000 requests: time and peak memory.

    .venv/bin/python bench/cost_aggregation.py [--requests 1000000] [--repeat 3]
                                               [--backend sqlite|postgresql|both]

For each backend, one warehouse is built and loaded once with a bulk path (sqlite3
executemany / psycopg COPY): the measured hour with ``--requests`` requests over
4 features x 3 models, 5 % of them with user signals, the hour before it with a tenth of
that traffic, and 72 hours of stored window history for the alert baselines. Then, in
a fresh subprocess per measurement (so peak RSS is that case's own), alternating:

  bare      the reference: the operational aggregation (percentiles, counts, sums) as
            one plain SQL query - percentile_disc on PostgreSQL, window functions on
            SQLite - executed directly on the DB-API driver (sqlite3 / psycopg), rows
            fetched, nothing else: no SQLAlchemy, no signals, no write, no alerts;
  job-sql   (SQLite only) the statements the job runs instead of that query (a GROUP BY,
            then each percentile column's values sorted by SQLite and fetched in
            batches), bare on the driver: what the job's own SQL costs;
  llmwatch  what the job does for a window (``llmwatch.aggregation.run_window``, the
            functions the flow's tasks call): operational aggregation + user-signal join,
            replace the window in one transaction, evaluate and record alerts.

Time is the wall clock of the work only (imports and connecting excluded), median of
``--repeat`` runs after one warm-up of each. Memory is the subprocess's peak RSS
(``ru_maxrss``), absolute and as the increase over the process after imports and
connecting; on PostgreSQL the sorting happens in the server process, whose memory is
bounded by ``work_mem`` and is not included. Targets: llmwatch within 1.5x the bare
query's time, and under 1 GiB peak.

PostgreSQL URL: LLMWATCH_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the bench creates and drops its own
database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from llmwatch.aggregation.queries import (
    PERCENTILE_COLUMNS,
    postgresql_operational_sql,
    sqlite_sorted_values_sql,
    sqlite_summary_sql,
    sqlite_window_sql,
)
from llmwatch.warehouse.engine import make_engine, upgrade
from llmwatch.warehouse.models import WindowMetrics
from llmwatch.warehouse.types import sqlite_timestamp_text

POSTGRES_URL = os.environ.get(
    "LLMWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WINDOW = datetime(2026, 11, 2, 14, tzinfo=UTC)
FEATURES = ["support_chat", "rag_qa", "extraction", "summarise"]
MODELS = ["gpt-4o-mini-2024-07-18", "claude-3-5-haiku-20241022", "gpt-4o-2024-08-06"]
COLUMNS = (
    "request_id", "ts", "feature_id", "model_id", "provider", "latency_ms", "ttft_ms",
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost_usd", "cost_source", "finish_reason", "error", "ingested_at",
)  # fmt: skip
SIGNAL_COLUMNS = ("signal_id", "request_id", "signal_type", "ts", "ingested_at")
SIGNAL_TYPES = ["thumbs_up", "thumbs_up", "thumbs_down", "abandoned", "follow_up", "retry"]


# --- data ------------------------------------------------------------------------------


def request_rows(window: datetime, n: int, prefix: str, seed: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    step = 3600 / n
    for i in range(n):
        ts = window + timedelta(seconds=i * step)
        failed = rng.random() < 0.01
        cost = None if rng.random() < 0.02 else rng.uniform(1e-4, 1e-2)
        yield (
            f"{prefix}{i}", ts, FEATURES[i % 4], MODELS[(i // 4) % 3], "openai",
            round(rng.lognormvariate(6.7, 0.5), 1),
            None if rng.random() < 0.1 else round(rng.lognormvariate(5.7, 0.4), 1),
            rng.randint(50, 2000), rng.randint(10, 800), 0, 0, 0,
            cost, "record" if cost is not None else None,
            "error" if failed else "stop", "upstream 503" if failed else None, ts,
        )  # fmt: skip


def signal_rows(window: datetime, n_requests: int, share: float) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(5)
    for i in range(0, n_requests, round(1 / share)):
        kind = rng.choice(SIGNAL_TYPES)
        ts = window + timedelta(hours=1, minutes=rng.randint(0, 30))
        yield (f"s{i}", f"w{i}", kind, ts, ts)


def history_rows(window: datetime) -> list[dict[str, Any]]:
    """72 hours of plausible stored windows, so the alert rules read real baselines."""
    rng = random.Random(9)
    out = []
    for h in range(2, 74):
        start = window - timedelta(hours=h)
        for feature in FEATURES:
            for model in MODELS:
                n = 80_000
                out.append(
                    {
                        "window_start": start, "window_end": start + timedelta(hours=1),
                        "feature_id": feature, "model_id": model, "request_count": n,
                        "error_count": 800, "refusal_count": 0, "error_rate": 0.01,
                        "refusal_rate": 0.0, "latency_p50_ms": 800.0, "latency_p95_ms": 1800.0,
                        "latency_p99_ms": 2500.0, "ttft_p50_ms": 300.0, "ttft_p95_ms": 600.0,
                        "input_tokens_sum": int(n * rng.uniform(1000, 1050)),
                        "output_tokens_sum": int(n * rng.uniform(400, 410)),
                        "cached_input_tokens_sum": 0, "cache_write_tokens_sum": 0,
                        "reasoning_tokens_sum": 0, "input_tokens_mean": 1025.0,
                        "output_tokens_mean": 405.0, "cost_total_usd": n * 0.005,
                        "total_tokens_p50": float(rng.randint(1400, 1450)),
                        "cost_mean_usd": rng.uniform(0.0049, 0.0051),
                        "cost_p50_usd": rng.uniform(0.0049, 0.0051), "unpriced_count": 0,
                        "explicit_feedback_count": 0, "explicit_positive_rate": None,
                        "explicit_feedback_coverage": 0.0, "correction_rate": 0.0,
                        "follow_up_rate": 0.0, "retry_rate": 0.0, "abandonment_rate": 0.0,
                        "survivorship_bias": False, "computed_at": start,
                    }
                )  # fmt: skip
    return out


def load_sqlite(url: str, n: int) -> None:
    import sqlite3

    path = make_url(url).database
    conn = sqlite3.connect(str(path))
    placeholders = ", ".join("?" for _ in COLUMNS)
    sql = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({placeholders})"

    def as_text(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            yield (
                row[0],
                sqlite_timestamp_text(row[1]),
                *row[2:-1],
                sqlite_timestamp_text(row[-1]),
            )

    with conn:
        conn.executemany(sql, as_text(request_rows(WINDOW, n, "w", 1)))
        conn.executemany(sql, as_text(request_rows(WINDOW - timedelta(hours=1), n // 10, "p", 2)))
        conn.executemany(
            f"INSERT INTO user_signals ({', '.join(SIGNAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            (
                (s[0], s[1], s[2], sqlite_timestamp_text(s[3]), sqlite_timestamp_text(s[4]))
                for s in signal_rows(WINDOW, n, 0.05)
            ),
        )
    conn.execute("ANALYZE")
    conn.close()


def load_postgresql(url: str, n: int) -> None:
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY requests ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in request_rows(WINDOW, n, "w", 1):
                    copy.write_row(row)
                for row in request_rows(WINDOW - timedelta(hours=1), n // 10, "p", 2):
                    copy.write_row(row)
            with cur.copy(f"COPY user_signals ({', '.join(SIGNAL_COLUMNS)}) FROM STDIN") as copy:
                for row in signal_rows(WINDOW, n, 0.05):
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE requests")
        conn.execute("VACUUM ANALYZE user_signals")


def build(url: str, backend: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(WindowMetrics.__table__), history_rows(WINDOW))
    engine.dispose()
    started = time.perf_counter()
    (load_sqlite if backend == "sqlite" else load_postgresql)(url, n)
    print(
        f"  loaded {n:,} + {n // 10:,} requests and {n // 20:,} signals "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


# --- the measured cases (each in its own subprocess) ----------------------------------


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _connect(url: str, backend: str) -> tuple[Any, str, dict[str, Any]]:
    window = {"start": WINDOW, "end": WINDOW + timedelta(hours=1)}
    if backend == "sqlite":
        import sqlite3

        params = {k: sqlite_timestamp_text(v) for k, v in window.items()}
        return sqlite3.connect(str(make_url(url).database)), ":", params
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(dsn), "%", window


def _driver_sql(sql: str, style: str) -> str:
    if style == "%":
        return sql.replace(":start", "%(start)s").replace(":end", "%(end)s")
    return sql


def case_bare(url: str, backend: str) -> tuple[float, int, float]:
    """The aggregation as one plain SQL query: percentile_disc on PostgreSQL, window
    functions on SQLite (its only pure-SQL form), straight on the driver."""
    conn, style, params = _connect(url, backend)
    sql = postgresql_operational_sql() if backend == "postgresql" else sqlite_window_sql()
    base = maxrss_mib()
    started = time.perf_counter()
    cur = conn.cursor()
    cur.execute(_driver_sql(sql, style), params)
    rows = cur.fetchall()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, len(rows), base


def case_job_sql(url: str, backend: str) -> tuple[float, int, float]:
    """SQLite only: the statements the job itself runs (summary, then each percentile
    column's sorted values fetched in batches), straight on the driver, nothing else."""
    conn, _, params = _connect(url, backend)
    base = maxrss_mib()
    started = time.perf_counter()
    rows = conn.execute(sqlite_summary_sql(), params).fetchall()
    for column in PERCENTILE_COLUMNS:
        cur = conn.execute(sqlite_sorted_values_sql(column), params)
        while cur.fetchmany(50_000):
            pass
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, len(rows), base


def case_llmwatch(url: str, backend: str) -> tuple[float, int, float]:
    from llmwatch.aggregation import run_window
    from llmwatch.settings import CostSettings

    engine = make_engine(url)
    with engine.connect() as conn:  # connect (and import dialect code) before measuring
        conn.execute(text("SELECT 1"))
    settings = CostSettings(hourly_budget_usd=1_000_000.0)
    base = maxrss_mib()
    started = time.perf_counter()
    result = run_window(engine, WINDOW, settings)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, len(result.rows), base


CASES = {"bare": case_bare, "job-sql": case_job_sql, "llmwatch": case_llmwatch}


def run_case(case: str, url: str, backend: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, "--url", url, "--backend", backend],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(case: str, url: str, backend: str) -> None:
    elapsed, rows, base = CASES[case](url, backend)
    peak = maxrss_mib()
    print(
        json.dumps({"seconds": elapsed, "rows": rows, "peak_mib": peak, "delta_mib": peak - base})
    )


# --- driver ------------------------------------------------------------------------------


def bench_backend(backend: str, n: int, repeat: int) -> dict[str, Any]:
    print(f"\n== {backend}", flush=True)
    with tempfile.TemporaryDirectory(prefix="llmwatch-bench-") as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'warehouse.db'}"
            admin = None
            name = ""
        else:
            admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            name = f"llmwatch_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        try:
            build(url, backend, n)
            cases = ["bare", "job-sql", "llmwatch"] if backend == "sqlite" else ["bare", "llmwatch"]
            for case in cases:  # warm-up: page cache, planner statistics
                run_case(case, url, backend)
            results: dict[str, list[dict[str, float]]] = {case: [] for case in cases}
            for _ in range(repeat):
                for case in cases:
                    results[case].append(run_case(case, url, backend))
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    summary = {}
    for case, runs in results.items():
        summary[case] = {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": max(r["peak_mib"] for r in runs),
            "delta_mib": max(r["delta_mib"] for r in runs),
            "rows": runs[0]["rows"],
        }
        s = summary[case]
        print(
            f"  {case:<9} {s['seconds']:7.2f} s  (runs: "
            + ", ".join(f"{r['seconds']:.2f}" for r in runs)
            + f")  peak RSS {s['peak_mib']:7.1f} MiB  (+{s['delta_mib']:.1f} MiB for the work)"
            f"  {int(s['rows'])} feature x model rows",
            flush=True,
        )
    ratio = summary["llmwatch"]["seconds"] / summary["bare"]["seconds"]
    ok_time = ratio <= 1.5
    ok_mem = summary["llmwatch"]["peak_mib"] < 1024
    print(
        f"  llmwatch / bare = {ratio:.2f}x (target <= 1.5x: {'met' if ok_time else 'MISSED'}); "
        f"peak {summary['llmwatch']['peak_mib']:.0f} MiB (target < 1024 MiB: "
        f"{'met' if ok_mem else 'MISSED'})",
        flush=True,
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        child(args.case, args.url, args.backend)
        return
    print(
        f"hourly aggregation of one hour holding {args.requests:,} requests "
        f"({len(FEATURES)} features x {len(MODELS)} models)"
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench_backend(backend, args.requests, args.repeat)


if __name__ == "__main__":
    main()
