"""The reports site for 30 days x 10 features x 3 models: build time and size.

    .venv/bin/python bench/site.py [--backend sqlite|postgresql|both] [--repeat 3]

For each backend a migrated warehouse is filled once: 30 days of hourly window metrics
for 10 features x 3 models (21,600 rows), their spend split over 3 prompt templates
each (64,800 rows of window_template_spend), one quality control chart per feature with a
point per hour (7,200 points), 30 daily drift runs of 16 columns each (rows only: no
Evidently report files, which the site links and never rewrites), and 60 alerts with
windows spread over the month (each gets a triage page). Then, alternating, ``--repeat``
times after one warm-up:

  bare      the reference: the same data read plainly - the SELECTs the site issues
            (windows of the last 30 days, spend by template summed per range,
            control-chart points, alerts, drift runs and columns) on the DB-API driver,
            rows fetched, nothing rendered or written;
  llmwatch  ``llmwatch.site.generate_site`` into an empty folder (first build: every
            page written, the 60 triage pages built from the warehouse), and
  rebuild   the same into the folder it already wrote (what every flow run does: the
            triage pages exist and are kept).

``--raw-reference`` also fills the requests those windows stand for (about 7.5 M rows,
SQLite only: minutes) and times the top-spender sums the site would need from them
instead (one GROUP BY feature x model x template per range): the alternative to the
template table, measured.

Time is wall clock, median of the runs. Size is the bytes of every file of the site
(triage pages included, no Evidently reports). Targets: a build under 10 s on 2 cores,
and the site under 5 MB.

PostgreSQL URL: LLMWATCH_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the bench creates and drops its own
database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Boolean, Engine, insert, text
from sqlalchemy.engine import make_url

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.site import generate_site
from llmwatch.warehouse.engine import make_engine, upgrade
from llmwatch.warehouse.models import (
    ChartPoint,
    ChartState,
    DriftColumn,
    DriftRun,
    WindowMetrics,
    WindowTemplateSpend,
)
from llmwatch.warehouse.types import sqlite_timestamp_text

POSTGRES_URL = os.environ.get(
    "LLMWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DAYS, FEATURES, MODELS = 30, 10, 3
END = datetime(2026, 3, 31, tzinfo=UTC)
START = END - timedelta(days=DAYS)
BUILD_LIMIT_S, SIZE_LIMIT_MB = 10.0, 5.0

BARE_SQL = (
    "SELECT window_start, feature_id, model_id, request_count, error_count, refusal_count, "
    "latency_p50_ms, latency_p95_ms, latency_p99_ms, ttft_p50_ms, ttft_p95_ms, "
    "input_tokens_sum, output_tokens_sum, cost_total_usd, unpriced_count FROM window_metrics "
    "WHERE window_start > {cut}",
    "SELECT * FROM chart_points ORDER BY chart_id, window_start",
    "SELECT * FROM alerts ORDER BY created_at DESC, id DESC LIMIT 200",
    "SELECT * FROM drift_runs ORDER BY report_date DESC LIMIT 200",
    "SELECT * FROM drift_columns ORDER BY run_id, drifted DESC, column_name",
)


# Once per range (its first window as the parameter), as the site sums them.
SPEND_SQL = (
    "SELECT feature_id, model_id, prompt_template_id, sum(request_count), "
    "sum(cost_total_usd), sum(unpriced_count) FROM window_template_spend "
    "WHERE window_start >= {cut} GROUP BY feature_id, model_id, prompt_template_id"
)
RAW_SPEND_SQL = (
    "SELECT feature_id, model_id, coalesce(prompt_template_id, ''), count(*), sum(cost_usd), "
    "count(*) - count(cost_usd) FROM requests WHERE ts >= {cut} "
    "GROUP BY feature_id, model_id, coalesce(prompt_template_id, '')"
)


def _range_starts(newest: datetime) -> list[datetime]:
    """First windows of the 24 h, 7 d and 30 d ranges (llmwatch.site.layout.Range.start)."""
    day = newest.replace(hour=0, minute=0, second=0, microsecond=0)
    return [newest - timedelta(hours=23), day - timedelta(days=6), day - timedelta(days=29)]


def _window(t: datetime, feature: str, model: str, i: int) -> dict[str, Any]:
    n = 200 + (i * 37) % 300
    row: dict[str, Any] = {
        "window_start": t, "window_end": t + timedelta(hours=1), "feature_id": feature,
        "model_id": model, "request_count": n, "error_count": i % 7, "refusal_count": i % 3,
        "error_rate": (i % 7) / n, "refusal_rate": (i % 3) / n, "latency_p50_ms": 700.0 + i % 90,
        "latency_p95_ms": 1800.0 + (i * 13) % 700, "latency_p99_ms": 3000.0 + i % 500,
        "ttft_p50_ms": 200.0 + i % 50, "ttft_p95_ms": 420.0 + i % 80,
        "input_tokens_sum": 400 * n, "output_tokens_sum": 250 * n, "cost_total_usd": 0.002 * n,
        "unpriced_count": 0, "survivorship_bias": False, "computed_at": t + timedelta(hours=1),
    }  # fmt: skip
    for column in WindowMetrics.__table__.columns:
        if column.name not in row and not column.nullable:
            row[column.name] = False if isinstance(column.type, Boolean) else 0
    return row


def _template_spend(window: dict[str, Any]) -> list[dict[str, Any]]:
    n, cost = window["request_count"], window["cost_total_usd"]
    keys = {k: window[k] for k in ("window_start", "feature_id", "model_id")}
    shares = (0.5, 0.3, 0.2)
    counts = [round(n * s) for s in shares[:-1]]
    counts.append(n - sum(counts))
    return [
        {**keys, "prompt_template_id": f"{window['feature_id']}-t{t}", "request_count": c,
         "cost_total_usd": cost * share, "unpriced_count": 0}
        for t, (c, share) in enumerate(zip(counts, shares, strict=True))
    ]  # fmt: skip


def fill(engine: Engine) -> None:
    hours = [START + timedelta(hours=h) for h in range(DAYS * 24)]
    features = [f"feature_{f:02d}" for f in range(FEATURES)]
    models = [f"model-{m}" for m in range(MODELS)]
    with engine.begin() as conn:
        rows = [_window(t, f, m, i) for i, t in enumerate(hours) for f in features for m in models]
        for k in range(0, len(rows), 2000):
            conn.execute(insert(WindowMetrics), rows[k : k + 2000])
        spend = [s for row in rows for s in _template_spend(row)]
        for k in range(0, len(spend), 5000):
            conn.execute(insert(WindowTemplateSpend), spend[k : k + 5000])
        for f in features:
            conn.execute(insert(ChartState), {
                "chart_id": f"quality:{f}", "feature_id": f, "metric": "judge_score",
                "lam": 0.1, "limit_l": 2.814, "phase": "monitoring", "mu0": 4.2,
                "sigma0": 0.2, "z": 4.2, "t": len(hours), "updated_at": END,
            })  # fmt: skip
            conn.execute(insert(ChartPoint), [
                {"chart_id": f"quality:{f}", "window_start": t,
                 "window_end": t + timedelta(hours=1), "n": 12,
                 "mean": 4.2 + ((i * 7) % 11 - 5) / 50, "z": 4.2 + ((i * 3) % 7 - 3) / 100,
                 "lcl": 4.0, "ucl": 4.4, "signal": False}
                for i, t in enumerate(hours)
            ])  # fmt: skip
        for d in range(DAYS):
            day = START + timedelta(days=d)
            run_id = f"drift-{d}"
            conn.execute(insert(DriftRun), {
                "run_id": run_id, "report_date": day.date().isoformat(),
                "reference_start": day - timedelta(days=7), "reference_end": day,
                "current_start": day, "current_end": day + timedelta(days=1),
                "n_reference": 20000, "n_current": 20000, "drift_share": 0.1, "n_drifted": 2,
                "n_columns": 16, "report_path": None, "created_at": day + timedelta(days=1),
            })  # fmt: skip
            conn.execute(insert(DriftColumn), [
                {"run_id": run_id, "column_name": f"column_{c}", "method": "K-S p_value",
                 "score": 0.01 * c, "threshold": 0.05, "drifted": c < 2}
                for c in range(16)
            ])  # fmt: skip
        for a in range(60):
            t = START + timedelta(hours=11 * a)
            record_alerts(conn, [NewAlert(
                kind="slo_breach", flow="cost-aggregation", severity="warning",
                feature_id=features[a % FEATURES], model_id=models[a % MODELS],
                metric="latency_p95_ms", value=4000.0, threshold=3000.0,
                message=f"latency_p95_ms above SLO ({a})", window_start=t,
                window_end=t + timedelta(hours=1),
            )], now=t + timedelta(hours=1))  # fmt: skip


def fill_requests(engine: Engine) -> int:
    """The requests the windows stand for (SQLite): as many per window x feature x model
    as its request_count, split over the 3 templates as the spend table is."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        windows = cursor.execute(
            "SELECT window_start, feature_id, model_id, request_count FROM window_metrics"
        ).fetchall()
        sql = (
            "INSERT INTO requests (request_id, ts, feature_id, model_id, latency_ms, "
            "input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, "
            "reasoning_tokens, cost_usd, prompt_template_id, ingested_at) "
            "VALUES (?, ?, ?, ?, 800.0, 400, 250, 0, 0, 0, 0.002, ?, ?)"
        )

        def rows() -> Any:
            for w, (start, feature, model, n) in enumerate(windows):
                t0 = datetime.fromisoformat(start)
                shares = [round(n * 0.5), round(n * 0.3)]
                for i in range(n):
                    template = 0 if i < shares[0] else 1 if i < sum(shares) else 2
                    ts = sqlite_timestamp_text(t0 + timedelta(seconds=i * 3599 / n))
                    yield (f"{w}-{i}", ts, feature, model, f"{feature}-t{template}", ts)

        cursor.executemany(sql, rows())
        raw.commit()
        return int(cursor.execute("SELECT count(*) FROM requests").fetchone()[0])
    finally:
        raw.close()


def raw_spend(engine: Engine) -> float:
    """Seconds for the three range sums from the requests table."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        newest = cursor.execute("SELECT max(window_start) FROM window_metrics").fetchone()[0]
        newest = datetime.fromisoformat(newest).replace(tzinfo=UTC)
        start = time.perf_counter()
        for cut in _range_starts(newest):
            cursor.execute(RAW_SPEND_SQL.format(cut="?"), (sqlite_timestamp_text(cut),))
            cursor.fetchall()
        return time.perf_counter() - start
    finally:
        raw.close()


def bare(engine: Engine) -> tuple[float, int]:
    """Seconds and rows fetched."""
    sqlite = engine.dialect.name == "sqlite"
    placeholder = "?" if sqlite else "%s"
    raw = engine.raw_connection()
    try:
        start = time.perf_counter()
        cursor = raw.cursor()
        cursor.execute("SELECT max(window_start) FROM window_metrics")
        (newest,) = cursor.fetchone()
        if sqlite:  # stored as text; the same cut as UTCDateTime binds it
            newest = datetime.fromisoformat(newest).replace(tzinfo=UTC)
        cut = newest - timedelta(days=30)
        rows = 0
        queries = [*BARE_SQL, *((SPEND_SQL, c) for c in _range_starts(newest))]
        for query in queries:
            sql, at = query if isinstance(query, tuple) else (query, cut)
            if "{cut}" in sql:
                param = sqlite_timestamp_text(at) if sqlite else at
                cursor.execute(sql.format(cut=placeholder), (param,))
            else:
                cursor.execute(sql)
            rows += len(cursor.fetchall())
        return time.perf_counter() - start, rows
    finally:
        raw.close()


def build(engine: Engine, folder: Path, fresh: bool) -> float:
    if fresh and folder.exists():
        shutil.rmtree(folder)
    start = time.perf_counter()
    generate_site(engine, folder, now=END)
    return time.perf_counter() - start


def size_mb(folder: Path) -> tuple[float, int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    triage = sum(p.stat().st_size for p in files if p.parent.name == "triage")
    return sum(p.stat().st_size for p in files) / 1e6, len(files), triage / 1e6


def bench_backend(backend: str, repeat: int, raw_reference: bool = False) -> dict[str, float]:
    print(f"\n== {backend}", flush=True)
    with tempfile.TemporaryDirectory(prefix="llmwatch-bench-site-") as tmp:
        admin = None
        name = ""
        if backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'warehouse.db'}"
        else:
            admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            name = f"llmwatch_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        try:
            upgrade(engine)
            t = time.perf_counter()
            fill(engine)
            print(f"setup: warehouse filled in {time.perf_counter() - t:.1f} s", flush=True)
            site = Path(tmp) / "reports"
            _, fetched = bare(engine)
            build(engine, site, fresh=True)  # warm-up
            runs: dict[str, list[float]] = {"bare": [], "llmwatch": [], "rebuild": []}
            for _ in range(repeat):
                runs["bare"].append(bare(engine)[0])
                runs["llmwatch"].append(build(engine, site, fresh=True))
                runs["rebuild"].append(build(engine, site, fresh=False))
            total, files, triage = size_mb(site)
            if raw_reference and backend == "sqlite":
                t = time.perf_counter()
                n = fill_requests(engine)
                print(f"setup: {n:,} requests filled in {time.perf_counter() - t:.0f} s")
                spend_raw = statistics.median(raw_spend(engine) for _ in range(repeat))
                print(f"  top spenders from raw requests: {spend_raw:7.3f} s  (3 ranges, "
                      f"{n:,} rows; the template table replaces this)")  # fmt: skip
        finally:
            engine.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    result = {case: statistics.median(values) for case, values in runs.items()}
    print(f"  bare reads     {result['bare']:7.3f} s  ({fetched:,} rows, DB-API driver)")
    print(f"  llmwatch build {result['llmwatch']:7.3f} s  (empty folder, 60 triage pages)")
    print(f"  rebuild        {result['rebuild']:7.3f} s  (triage pages kept)")
    verdict = "OK" if result["llmwatch"] < BUILD_LIMIT_S else "OVER"
    print(f"  build vs target {BUILD_LIMIT_S:.0f} s: {verdict}; build / bare reads = "
          f"{result['llmwatch'] / result['bare']:.0f}x")  # fmt: skip
    verdict = "OK" if total < SIZE_LIMIT_MB else "OVER"
    print(f"  size {total:.2f} MB in {files} files ({triage:.2f} MB triage pages); "
          f"target {SIZE_LIMIT_MB:.0f} MB: {verdict}")  # fmt: skip
    return {**result, "size_mb": total, "files": files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw-reference", action="store_true")
    args = parser.parse_args()
    print(f"site for {DAYS} days x {FEATURES} features x {MODELS} models, "
          f"{os.cpu_count()} CPUs, median of {args.repeat}")  # fmt: skip
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench_backend(backend, args.repeat, args.raw_reference)


if __name__ == "__main__":
    main()
