"""Two workers against one at 10 M requests a day, on PostgreSQL: ingest from an
object-store inbox, the hourly aggregation job, and the judge.

    .venv/bin/python bench/scale.py [--per-day 10000000] [--ingest-minutes 10] [--files 8]
                                    [--hours 3] [--judge-samples 600] [--only ingest,hourly,judge]

Each part runs the same work twice on PostgreSQL, once with one worker process and once
with two started together, and prints both wall clocks and their ratio (one / two:
2.0 would be perfect splitting). Workers are separate processes that share only the
warehouse (and the inbox), as on separate hosts; a worker's clock starts at a common
instant after its imports, and the wall clock is first start to last finish.

  ingest  ``--ingest-minutes`` of traffic at ``--per-day`` (10 M/day = 115.7 requests/s),
          as ``--files`` JSONL objects in moto's S3 server on 127.0.0.1; each worker
          lists the inbox and loads what it can claim (llmwatch.ingest.inbox), as the
          ingest flow does. Fresh warehouse per measurement.
  hourly  ``--hours`` complete hours at full rate (416,667 requests each at 10 M/day,
          bulk-loaded by COPY beforehand): what one scheduled run aggregates with the
          default look-back of 3 hours. Each worker claims windows and aggregates, stores
          and alerts them (llmwatch.aggregation.shards + run_window), as the flow does.
  judge   ``--judge-samples`` requests judged against the simulator (fixed latency) with
          the configured concurrency per worker; each worker claims samples as it goes
          (llmwatch.judge.job). Fresh warehouse per measurement.

The figures are for this machine, which the bench shares with whatever else runs: the
printout states the core count. On 2 cores, two CPU-bound workers plus PostgreSQL plus
the S3 server cannot reach 2.0; the I/O-bound judge can.

PostgreSQL URL: LLMWATCH_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the bench creates and drops its own
databases.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

from bench.ingest import FEATURES, MODELS, WORDS, fresh_warehouse  # noqa: E402
from tests.s3server import moto_server  # noqa: E402

KEY, SECRET = "AKIAbenchscale000000", "bench-scale-secret-key"
START_DELAY_S = 6.0  # children import llmwatch before the common start instant
HOUR0 = datetime(2026, 11, 2, 0, tzinfo=UTC)


# --- workers (child processes) --------------------------------------------------------


def child(part: str, url: str, arg: str, go_at: float) -> None:
    """One worker: import, wait for the common instant, work, print what it did."""
    from llmwatch.warehouse import claims, make_engine

    engine = make_engine(url)
    owner = claims.new_owner()
    done: list[Any]
    prepare = _CHILD_PREP[part]
    state = prepare(arg)
    time.sleep(max(0.0, go_at - time.time()))
    cpu = _cpu_seconds()
    started = time.time()
    done = _CHILD_WORK[part](engine, owner, state)
    finished = time.time()
    cpu = _cpu_seconds() - cpu
    engine.dispose()
    report = {"start": started, "end": finished, "done": done, "cpu": cpu}
    print(json.dumps(report), flush=True)


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (parse processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _ingest_prep(inbox_url: str) -> Any:
    from llmwatch.pricing import PriceBook
    from llmwatch.settings import get_settings

    return inbox_url, get_settings(), PriceBook(get_settings().prices)


def _ingest_work(engine: Any, owner: str, state: Any) -> list[Any]:
    from llmwatch.ingest import inbox

    inbox_url, settings, prices = state
    loaded = []
    objects = inbox.pending(engine, inbox.list_objects(inbox_url, settings.ingest))
    for obj in objects:
        result = inbox.ingest_object(engine, obj.url, "requests", settings.ingest, prices, owner)
        if not result.claimed_elsewhere:
            loaded.append(result.loaded)
    return loaded


def _hourly_prep(windows: str) -> Any:
    from llmwatch.settings import CostSettings

    starts = [datetime.fromisoformat(w) for w in windows.split(",")]
    return starts, CostSettings()


def _hourly_work(engine: Any, owner: str, state: Any) -> list[Any]:
    from llmwatch.aggregation import run_window, shards

    windows, cost = state
    started, done = datetime.now(UTC), []
    for window in windows:
        if shards.claim_window(engine, window, owner, timedelta(minutes=15), started):
            rows = run_window(engine, window, cost).rows
            shards.finish_window(engine, window, owner)
            done.append(sum(r["request_count"] for r in rows))
    return done


def _judge_prep(arg: str) -> Any:
    from llmwatch.judge import job
    from llmwatch.settings import get_settings

    return job, job.judge_setup(get_settings())


def _judge_work(engine: Any, owner: str, state: Any) -> list[Any]:
    import asyncio

    job, setup = state
    report = asyncio.run(job.judge(engine, setup, job.select(engine, setup, None, None)))
    return [report.judged_ok + report.failures, report.client.get("calls", 0)]


_CHILD_PREP = {"ingest": _ingest_prep, "hourly": _hourly_prep, "judge": _judge_prep}
_CHILD_WORK = {"ingest": _ingest_work, "hourly": _hourly_work, "judge": _judge_work}


def run_workers(
    part: str, n: int, url: str, arg: str, env: dict[str, str]
) -> tuple[float, list[Any]]:
    """Start ``n`` workers together; (wall clock first start to last end, their work).
    Prints the workers' own CPU seconds (not PostgreSQL's or the servers')."""
    go_at = time.time() + START_DELAY_S
    command = [sys.executable, __file__, "--child", part, "--url", url, "--arg", arg,
               "--go-at", str(go_at)]  # fmt: skip
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, env={**os.environ, **env}, text=True)
        for _ in range(n)
    ]
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"a {part} worker failed (exit {proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    print(f"    ({n} worker(s): {cpu:.1f} CPU s in the workers over {wall:.1f} s)", flush=True)
    return wall, [r["done"] for r in reports]


# --- the parts ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jsonl_object(first: int, n: int, start: datetime, step_ms: float) -> bytes:
    import random

    rng = random.Random(first)
    lines = []
    for i in range(first, first + n):
        model, provider = MODELS[i % 3]
        text_in = " ".join(rng.choices(WORDS, k=12))
        record = {
            "request_id": f"scale-{i:09d}",
            "timestamp": (start + timedelta(milliseconds=i * step_ms)).isoformat(),
            "feature_id": FEATURES[i % 3], "model_id": model, "provider": provider,
            "latency_ms": round(rng.uniform(200, 3000), 1),
            "ttft_ms": round(rng.uniform(50, 500), 1),
            "input_tokens": rng.randint(100, 3000), "output_tokens": rng.randint(10, 800),
            "finish_reason": "stop", "session_id": f"s{i // 5}", "user_segment": "pro",
            "prompt_template_id": "v1", "input": text_in, "output": text_in[::-1],
        }  # fmt: skip
        lines.append(orjson.dumps(record))
    return b"\n".join(lines) + b"\n"


def part_ingest(args: argparse.Namespace) -> dict[str, Any]:
    import boto3

    total = round(args.per_day / 1440 * args.ingest_minutes)
    per_file = -(-total // args.files)
    step_ms = 86_400_000 / args.per_day
    with moto_server() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                          aws_secret_access_key=SECRET, region_name="us-east-1")  # fmt: skip
        s3.create_bucket(Bucket="inbox")
        for f in range(args.files):
            first = f * per_file
            body = jsonl_object(first, min(per_file, total - first), HOUR0, step_ms)
            s3.put_object(Bucket="inbox", Key=f"requests/part-{f:03d}.jsonl", Body=body)
        env = {
            "LLMWATCH_INGEST__INBOX_ENDPOINT_URL": endpoint,
            "LLMWATCH_INGEST__INBOX_KEY": KEY,
            "LLMWATCH_INGEST__INBOX_SECRET": SECRET,
        }
        print(f"ingest: {total:,} requests ({args.ingest_minutes} min at "
              f"{args.per_day:,}/day) in {args.files} objects", flush=True)  # fmt: skip
        walls = {}
        for workers in (1, 2):
            with (
                tempfile.TemporaryDirectory() as tmp,
                fresh_warehouse("postgresql", Path(tmp)) as url,
            ):
                wall, done = run_workers("ingest", workers, url, "s3://inbox/requests", env)
            loaded = [sum(d) for d in done]
            assert sum(loaded) == total, f"loaded {loaded}, expected {total}"
            walls[workers] = wall
            print(f"  {workers} worker(s): {wall:6.1f} s  {total / wall:8,.0f} requests/s  "
                  f"(rows per worker {loaded})", flush=True)  # fmt: skip
    need = args.per_day / 86_400
    print(f"  ratio one/two {walls[1] / walls[2]:.2f}; needed {need:,.1f} requests/s: "
          f"{total / walls[1] / need:.0f}x headroom with one worker", flush=True)  # fmt: skip
    return walls


def part_hourly(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    from bench.cost_aggregation import COLUMNS, request_rows

    per_hour = round(args.per_day / 24)
    windows = [HOUR0 + timedelta(hours=h) for h in range(args.hours)]
    walls = {}
    with tempfile.TemporaryDirectory() as tmp, fresh_warehouse("postgresql", Path(tmp)) as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        loading = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY requests ({', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for h, window in enumerate(windows):
                    for row in request_rows(window, per_hour, f"h{h}-", h):
                        copy.write_row(row)
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE requests")
        print(f"hourly: {args.hours} hour(s) x {per_hour:,} requests loaded by COPY in "
              f"{time.perf_counter() - loading:.0f} s", flush=True)  # fmt: skip
        arg = ",".join(w.isoformat() for w in windows)
        for workers in (1, 2):
            wall, done = run_workers("hourly", workers, url, arg, {})
            counted = sorted(c for d in done for c in d)
            assert counted == [per_hour] * args.hours, counted
            walls[workers] = wall
            print(f"  {workers} worker(s): {wall:6.1f} s  ({wall / args.hours:.1f} s a window; "
                  f"windows per worker {[len(d) for d in done]})", flush=True)  # fmt: skip
    print(f"  ratio one/two {walls[1] / walls[2]:.2f}; the hourly run at {args.per_day:,}/day "
          f"takes {walls[1]:.0f} s with one worker, {walls[2]:.0f} s with two (of 3600 s)",
          flush=True)  # fmt: skip
    return walls


def part_judge(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import insert

    from bench.judge_throughput import JUDGE_MODEL, requests, simulator
    from llmwatch.warehouse import make_engine
    from llmwatch.warehouse.models import Request

    walls = {}
    with simulator(args.judge_latency_ms) as (sim_url, _):
        env = {
            "LLMWATCH_JUDGE_BASE_URL": sim_url,
            "LLMWATCH_JUDGE_MODEL": JUDGE_MODEL,
            "LLMWATCH_JUDGE_API_KEY": "sk-bench-scale",
            "LLMWATCH_JUDGE__DEFAULT_SAMPLE_RATE": "1.0",
            "LLMWATCH_JUDGE__CONCURRENCY": str(args.judge_concurrency),
            "LLMWATCH_JUDGE__REQUESTS_PER_SECOND": "1000",
            "LLMWATCH_JUDGE__MAX_CALLS_PER_RUN": str(args.judge_samples * 2),
        }
        print(f"judge: {args.judge_samples} samples, simulator latency "
              f"{args.judge_latency_ms:.0f} ms, concurrency {args.judge_concurrency} a worker",
              flush=True)  # fmt: skip
        for workers in (1, 2):
            with (
                tempfile.TemporaryDirectory() as tmp,
                fresh_warehouse("postgresql", Path(tmp)) as url,
            ):
                engine = make_engine(url)
                with engine.begin() as conn:
                    conn.execute(insert(Request.__table__), requests(args.judge_samples))
                engine.dispose()
                wall, done = run_workers("judge", workers, url, "", env)
            judged = [d[0] for d in done]
            calls = sum(d[1] for d in done)
            assert sum(judged) == calls == args.judge_samples, (judged, calls)
            walls[workers] = wall
            print(f"  {workers} worker(s): {wall:6.1f} s  {sum(judged) / wall:6.1f} judged/s  "
                  f"(per worker {judged}, calls {calls})", flush=True)  # fmt: skip
    print(f"  ratio one/two {walls[1] / walls[2]:.2f}", flush=True)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-day", type=int, default=10_000_000)
    parser.add_argument("--ingest-minutes", type=float, default=10)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--judge-samples", type=int, default=600)
    parser.add_argument("--judge-latency-ms", type=float, default=200)
    parser.add_argument("--judge-concurrency", type=int, default=8)
    parser.add_argument("--only", default="ingest,hourly,judge")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--arg", default="", help=argparse.SUPPRESS)
    parser.add_argument("--go-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.arg, args.go_at)
        return
    print(f"{os.cpu_count()} CPU core(s); load average {os.getloadavg()[0]:.1f}", flush=True)
    parts = {"ingest": part_ingest, "hourly": part_hourly, "judge": part_judge}
    for name in args.only.split(","):
        parts[name](args)


if __name__ == "__main__":
    main()
