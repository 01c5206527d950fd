"""The production path of the README: a Prefect server on PostgreSQL, a process work pool,
``prefect deploy --all`` from the committed ``prefect.yaml``, two workers, and a
PostgreSQL warehouse. Scheduled runs of several deployments are shared by both workers;
none runs twice and no row is counted twice.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from deployments.registry import DEPLOYMENTS
from llmwatch.simulator import SimulatorServer
from llmwatch.warehouse.engine import make_engine
from tests.conftest import POSTGRES_URL
from tests.e2e.processes import (
    BIN,
    auto_scheduled_runs,
    configured_env,
    prefect_server_process,
    served_deployments,
    stop,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(720)]

REPO = Path(__file__).resolve().parents[2]
POOL = "llmwatch"
# The registry's schedules run every minute (ingest, slo-burn) at the fastest; for the test's few
# minutes, two more deployments get an extra one-minute schedule on the server, so the
# scheduler (not the test) creates runs of three deployments at once.
EXTRA_MINUTELY = ("sample-and-judge/every-5-minutes", "cost-aggregation/hourly")
JOBS = ("ingest/every-minute", *EXTRA_MINUTELY[::-1])
SUBMITTING = re.compile(r"submitting flow run '([0-9a-f-]{36})'")
ABORTED = re.compile(r"Aborted submission of flow run '([0-9a-f-]{36})'")


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases: Prefect's own (asyncpg) and the warehouse."""
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"llmwatch_e2e_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("prefect", "wh")]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required: {exc}")
    base = make_url(POSTGRES_URL)
    prefect_db = base.set(drivername="postgresql+asyncpg", database=names[0])
    warehouse = base.set(database=names[1])
    try:
        yield (
            prefect_db.render_as_string(hide_password=False),
            warehouse.render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_workers_share_scheduled_runs_from_prefect_yaml(
    tmp_path: Path, databases: tuple[str, str]
) -> None:
    prefect_db, warehouse_url = databases
    server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": prefect_db}
    with (
        prefect_server_process(tmp_path, server_env) as (api, prefect_env),
        SimulatorServer(scenario="demo", port=0, latency_scale=0.01, seed=0) as sim,
    ):
        env = {
            **configured_env(tmp_path, prefect_env),
            "LLMWATCH_WAREHOUSE_URL": warehouse_url,
            "LLMWATCH_HOME": str(REPO),
            "PREFECT_WORKER_QUERY_SECONDS": "2",
        }
        write_config(tmp_path, sim.base_url)
        generated = request_ids(tmp_path / "data" / "inbox" / "requests")
        # The README's production commands, as an operator types them.
        run([str(BIN / "llmwatch"), "init"], env, tmp_path)
        run([str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"], env, REPO)
        run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env, REPO)
        for name in EXTRA_MINUTELY:
            run([str(BIN / "prefect"), "deployment", "schedule", "create", name,
                 "--interval", "60"], env, REPO)  # fmt: skip
        ids = {d["id"]: d for d in served_deployments(api)}
        assert len(ids) == len(DEPLOYMENTS), "prefect deploy --all created every deployment"

        workers = {}
        logs = {}
        for name in ("w1", "w2"):
            logs[name] = tmp_path / f"worker-{name}.log"
            workers[name] = subprocess.Popen(
                # One run at a time each: runs due together must go to both workers.
                [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name,
                 "--limit", "1"],
                env=env, cwd=tmp_path, stdout=logs[name].open("wb"),
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            ingest, cost, judge = (deployment_id(api, name) for name in JOBS)

            def shared() -> bool:
                """Cost and judge runs that started after an ingest run had loaded the
                inbox completed, and each worker completed some of the runs."""
                done = auto_scheduled_runs(api, "COMPLETED")
                loaded = [end(r) for r in done if r["deployment_id"] == ingest]
                if not loaded:
                    return False
                after = {r["deployment_id"] for r in done if start(r) > min(loaded)}
                by_worker = executed_by(logs)
                completed = {r["id"] for r in done}
                return {cost, judge} <= after and all(by_worker[w] & completed for w in by_worker)

            wait_for(shared, 480, "scheduled ingest, cost and judge runs on both workers")
        finally:
            for proc in workers.values():
                stop(proc)

    by_worker = executed_by(logs)
    assert not by_worker["w1"] & by_worker["w2"], "no run executed by both workers"
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        loaded = {row[0] for row in conn.execute(text("SELECT request_id FROM requests"))}
        # Each window counts the requests in it once, whichever worker aggregated it.
        miscounted = conn.execute(text("""
            SELECT count(*) FROM window_metrics w
            WHERE w.request_count <> (
                SELECT count(*) FROM requests r
                WHERE r.feature_id = w.feature_id AND r.model_id = w.model_id
                  AND r.ts >= w.window_start AND r.ts < w.window_end)
        """)).scalar_one()  # fmt: skip
        windows = conn.execute(text("SELECT count(*) FROM window_metrics")).scalar_one()
        judged = conn.execute(text("SELECT count(*) FROM judgements")).scalar_one()
    engine.dispose()
    assert loaded == generated
    assert windows > 0
    assert miscounted == 0
    assert judged > 0, "the judge deployment's scheduled runs judged on the workers"


def executed_by(logs: dict[str, Path]) -> dict[str, set[str]]:
    """Flow runs each worker submitted and did not abandon to the other."""
    result = {}
    for name, path in logs.items():
        log = path.read_text(errors="replace")
        result[name] = set(SUBMITTING.findall(log)) - set(ABORTED.findall(log))
    return result


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{' '.join(command[1:])}:\n{result.stdout}\n{result.stderr}"


def request_ids(folder: Path) -> set[str]:
    ids = set()
    for path in folder.glob("*.jsonl"):
        ids |= {json.loads(line)["request_id"] for line in path.read_text().splitlines() if line}
    return ids


def deployment_id(api: str, full_name: str) -> str:
    flow, name = full_name.split("/")
    response = httpx.get(f"{api}/deployments/name/{flow}/{name}", timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def start(run: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(run["start_time"])


def end(run: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(run["end_time"])
