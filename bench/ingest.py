"""Ingest throughput vs a bare bulk insert of the same rows with the same driver.

    .venv/bin/python bench/ingest.py [--records 1000000] [--backend sqlite|postgresql|both]

For each backend, on a fresh migrated warehouse each time:
  llmwatch  — `ingest_paths` on a JSONL file: read, validate, price, write (what users run);
  bare      — the already-built row tuples of the same records inserted into the same
              `requests` table with the same driver, in the fastest plain form that driver
              offers (sqlite3 executemany of a plain INSERT; psycopg COPY), no validation,
              no pricing, no conflict handling.
Both are measured in the same run; the ratio is what the target (>= 0.5) is about.
PostgreSQL URL: LLMWATCH_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the bench creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmwatch.ingest import ingest_paths
from llmwatch.ingest.writer import REQUEST_COLUMNS
from llmwatch.settings import Settings
from llmwatch.warehouse.engine import make_engine, upgrade
from llmwatch.warehouse.types import sqlite_timestamp_text

POSTGRES_URL = os.environ.get(
    "LLMWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MODELS = [
    ("gpt-4o-mini-2024-07-18", "openai"),
    ("claude-3-5-haiku-20241022", "anthropic"),
    ("gpt-4o-2024-08-06", "openai"),
]
FEATURES = ["support_chat", "rag_qa", "extraction"]
WORDS = [
    "the",
    "invoice",
    "plan",
    "billing",
    "password",
    "policy",
    "vacation",
    "upload",
    "crash",
    "refund",
    "travel",
]


def make_records(n: int, path: Path) -> None:
    """Write n request records (no cost: ingest prices them) as JSONL."""
    rng = random.Random(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with path.open("wb") as handle:
        for i in range(n):
            model, provider = MODELS[i % 3]
            text_in = " ".join(rng.choices(WORDS, k=12))
            record = {
                "request_id": f"bench-{i:08d}",
                "timestamp": (start + timedelta(milliseconds=i * 250)).isoformat(),
                "feature_id": FEATURES[i % 3], "model_id": model, "provider": provider,
                "latency_ms": round(rng.uniform(200, 3000), 1),
                "ttft_ms": round(rng.uniform(50, 500), 1),
                "input_tokens": rng.randint(100, 3000), "output_tokens": rng.randint(10, 800),
                "finish_reason": "stop", "session_id": f"s{i // 5}", "user_segment": "pro",
                "prompt_template_id": "v1", "input": text_in, "output": text_in[::-1],
                "metadata": {"region": "eu"},
            }  # fmt: skip
            handle.write(orjson.dumps(record) + b"\n")


def bare_rows(path: Path) -> list[tuple[object, ...]]:
    """The same records as the row tuples the writer stores (built outside any timing).

    Built only after the llmwatch run, so that a million live tuples in this process do
    not slow the garbage collector during it.
    """
    now = datetime.now(UTC)
    rows: list[tuple[object, ...]] = []
    with path.open("rb") as handle:
        for line in handle:
            r = orjson.loads(line)
            rows.append((
                r["request_id"], datetime.fromisoformat(r["timestamp"]), r["feature_id"],
                r["model_id"], r["provider"], r["latency_ms"], r["ttft_ms"], r["input_tokens"],
                r["output_tokens"], 0, 0, 0, 0.001, "genai-prices", r["finish_reason"], None,
                r["session_id"], r["user_segment"], r["prompt_template_id"], r["input"],
                r["output"], None, '{"region":"eu"}', now,
            ))  # fmt: skip
    return rows


@contextmanager
def fresh_warehouse(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'{uuid.uuid4().hex}.db'}"
        upgrade(make_engine(url))
        yield url
        return
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"llmwatch_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_llmwatch(url: str, path: Path) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    summary = ingest_paths(engine, [path], Settings(warehouse_url=url))
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert summary.total("rejected") == 0, summary.line()
    return elapsed


def run_bare(url: str, backend: str, rows: list[tuple[object, ...]]) -> float:
    columns = ", ".join(f'"{c}"' for c in REQUEST_COLUMNS)
    if backend == "sqlite":
        import sqlite3

        prepared = [
            (r[0], sqlite_timestamp_text(r[1]), *r[2:-1], sqlite_timestamp_text(r[-1]))  # type: ignore[arg-type]
            for r in rows
        ]
        conn = sqlite3.connect(make_url(url).database)  # type: ignore[arg-type]
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        marks = ", ".join("?" * len(REQUEST_COLUMNS))
        started = time.perf_counter()
        conn.executemany(f"INSERT INTO requests ({columns}) VALUES ({marks})", prepared)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY requests ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="llmwatch-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "records.jsonl"
        make_records(args.records, path)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.records:,} records, {size_mb:.0f} MB of JSONL")
        print(f"{'backend':<11} {'llmwatch rec/s':>15} {'bare rec/s':>12} {'ratio':>6}")
        for backend in backends:
            with fresh_warehouse(backend, workdir) as url:
                ours = run_llmwatch(url, path)
            rows = bare_rows(path)
            with fresh_warehouse(backend, workdir) as url:
                bare = run_bare(url, backend, rows)
            del rows
            n = args.records
            print(f"{backend:<11} {n / ours:>15,.0f} {n / bare:>12,.0f} {bare / ours:>6.2f}")


if __name__ == "__main__":
    main()
