"""Judge throughput against the simulator, next to the bound concurrency / latency.

The simulator answers every call in exactly LATENCY_MS, so a client that keeps
CONCURRENCY calls in flight at all times cannot do better than CONCURRENCY / latency
judgements per second. This measures the whole judging step of a run (prompt building,
redaction, HTTP, strict parsing, bulk commits with the watermark to a SQLite
warehouse) on N requests, and prints it next to that bound. Target: >= 85 % of the bound.

    .venv/bin/python bench/judge_throughput.py [--n 1200] [--concurrency 16] [--latency-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llmwatch.judge import job  # noqa: E402
from llmwatch.settings import JudgeSettings, Settings  # noqa: E402
from llmwatch.warehouse.engine import make_engine, upgrade  # noqa: E402
from llmwatch.warehouse.models import Request  # noqa: E402

JUDGE_MODEL = "gpt-4o-mini-2024-07-18"


def requests(n: int) -> list[dict]:
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    return [
        {
            "request_id": f"bench-{i:06d}",
            "ts": t0 + timedelta(seconds=i),
            "feature_id": "support_chat",
            "model_id": "gpt-4o-2024-08-06",
            "latency_ms": 500.0,
            "input_tokens": 40,
            "output_tokens": 80,
            "cost_usd": 0.001,
            "input": f"hi, how do I sort out my billing? (ticket {i}, mail me at u{i}@example.com)",
            "output": "Open Settings > Billing and choose Manage. Your invoice is under History. "
            "The billing team answers within one business day.",
            "ingested_at": t0 + timedelta(seconds=i, minutes=1),
        }
        for i in range(n)
    ]


SERVE = """
import sys
from llmwatch.simulator import SimulatorServer
SimulatorServer(port=int(sys.argv[1]), latency_ms=float(sys.argv[2]),
                judge_malformed_rate=0.0, judge_out_of_range_rate=0.0).serve_forever()
"""


@contextmanager
def simulator(latency_ms: float) -> Iterator[tuple[str, int]]:
    """The simulator in its own process, so its threads do not share our GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port), str(latency_ms)], env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.1)
        yield base_url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, simulator(args.latency_ms) as (sim_url, sim_pid):
        url = f"sqlite:///{Path(tmp) / 'warehouse.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(insert(Request.__table__), requests(args.n))
        settings = Settings(
            warehouse_url=url,
            judge_base_url=sim_url,
            judge_model=JUDGE_MODEL,
            judge_api_key=SecretStr("sk-bench"),
            judge=JudgeSettings(
                default_sample_rate=1.0,
                concurrency=args.concurrency,
                requests_per_second=None,
                max_calls_per_run=args.n,
                commit_every=100,
            ),
        )
        setup = job.judge_setup(settings)
        selection = job.select(engine, setup, None, None)
        sim_cpu, own_cpu = cpu_seconds(sim_pid), time.process_time()
        started = time.perf_counter()
        report = asyncio.run(job.judge(engine, setup, selection))
        elapsed = time.perf_counter() - started
        sim_cpu, own_cpu = cpu_seconds(sim_pid) - sim_cpu, time.process_time() - own_cpu
        engine.dispose()

    done = report.judged_ok + report.failures
    rate = done / elapsed
    bound = args.concurrency / (args.latency_ms / 1000.0)
    print(
        f"judge throughput, {args.n} requests, simulator latency {args.latency_ms:.0f} ms, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"  judged            {done} ({report.judged_ok} ok, {report.failures} failures), "
        f"{report.client['attempts']} HTTP attempts, {report.stored} rows stored"
    )
    print(f"  elapsed           {elapsed:.2f} s")
    print(f"  measured          {rate:8.1f} judgements/s")
    print(f"  bound (c / lat)   {bound:8.1f} judgements/s")
    print(
        f"  CPU per second    client {own_cpu / elapsed:.2f}, simulator {sim_cpu / elapsed:.2f} "
        f"(of {os.cpu_count()} cores)"
    )
    print(
        f"  load average      {Path('/proc/loadavg').read_text().split()[0]} "
        "(other work on the machine lowers the ratio)"
    )
    print(f"  ratio             {rate / bound:8.1%}   (target >= 85 %)")


if __name__ == "__main__":
    main()
