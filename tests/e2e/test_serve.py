"""``llmwatch serve`` against a real Prefect server: every deployment runs to completion.

The most expensive test of the suite, so one test: a Prefect server on a free port,
``llmwatch serve`` with an isolated warehouse and the simulator as judge and targets,
one ``prefect deployment run`` per deployment, each run polled until it completes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.registry import DEPLOYMENTS
from llmwatch.simulator import SimulatorServer
from llmwatch.simulator.writer import generate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

BIN = Path(sys.executable).parent
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    check: Any, timeout: float, what: str, proc: subprocess.Popen[Any] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "prefect-server.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 120, "prefect server", proc)
        yield api, {**env, "PREFECT_API_URL": api}
    finally:
        stop(proc)
        log.close()


def test_serve_runs_every_deployment_on_a_real_prefect_server(
    tmp_path: Path, prefect_server: tuple[str, dict[str, str]]
) -> None:
    api, prefect_env = prefect_server
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    data_dir = tmp_path / "data"
    # Eight days up to today: drift compares yesterday with the week before it.
    generate(data_dir / "inbox" / "requests", "demo", start=today - timedelta(days=8),
             days=8, requests_per_day=250, seed=3)  # fmt: skip
    for signals in (data_dir / "inbox" / "requests").glob("signals-*.jsonl"):
        (data_dir / "inbox" / "signals").mkdir(parents=True, exist_ok=True)
        signals.rename(data_dir / "inbox" / "signals" / signals.name)

    with SimulatorServer(scenario="demo", port=0, latency_scale=0.01, seed=0) as sim:
        config = tmp_path / "llmwatch.toml"
        config.write_text(
            f'data_dir = "{data_dir}"\n'
            f'reports_dir = "{tmp_path / "reports"}"\n'
            f'judge_base_url = "{sim.base_url}"\n'
            'judge_model = "gpt-4o-2024-08-06"\n'
            'judge_api_key = "sim"\n'
            "[judge]\ndefault_sample_rate = 0.05\n"
            "[evals]\nprobe_repeats = 2\n"
            f'[targets.pinned]\nbase_url = "{sim.base_url}"\nmodel = "gpt-4o-mini-2024-07-18"\n'
        )
        env = {
            **prefect_env,
            "LLMWATCH_CONFIG": str(config),
            "LLMWATCH_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
        }
        serve_log = (tmp_path / "serve.log").open("wb")
        serve = subprocess.Popen(
            [str(BIN / "llmwatch"), "serve"], env=env, cwd=tmp_path,
            stdout=serve_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            names = [spec.full_name for spec in DEPLOYMENTS]
            wait_for(lambda: len(served_deployments(api)) == len(names), 120, "deployments", serve)
            assert {d["name"] for d in served_deployments(api)} == {s.name for s in DEPLOYMENTS}

            # Ingest first: the judge and the drift report work on what it loaded; then
            # the other five at once.
            assert names[0].startswith("ingest/")
            runs: dict[str, dict[str, Any]] = {}
            runs[names[0]] = run_to_end(api, names[0], prefect_env, serve)
            ids = {name: trigger(name, prefect_env) for name in names[1:]}
            for name, run_id in ids.items():
                runs[name] = run_to_end(api, name, prefect_env, serve, run_id)
        finally:
            stop(serve, signal.SIGINT)
            serve_log.close()

    states = {name: run["state_type"] for name, run in runs.items()}
    assert states == dict.fromkeys(names, "COMPLETED"), (tmp_path / "serve.log").read_text()[-4000:]
    assert (tmp_path / "reports").is_dir()
    assert serve.returncode is not None


def run_to_end(
    api: str, name: str, env: dict[str, str], serve: subprocess.Popen[Any], run_id: str = ""
) -> dict[str, Any]:
    """Wait for the run to finish. A schedule of the same deployment may fire meanwhile
    (ingest every minute, judge every 5): the concurrency limit then cancels whichever
    run came second, which is the point of it, so a cancelled run is triggered again."""
    for _ in range(3):
        run_id = run_id or trigger(name, env)
        run = wait_for(lambda r=run_id: finished(api, r), 150, name, serve)
        if run["state_type"] != "CANCELLED":
            return dict(run)
        run_id = ""
    return dict(run)


def served_deployments(api: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}/deployments/filter", json={"limit": 50}, timeout=10)
    return [d for d in response.json() if "llmwatch" in (d.get("tags") or [])]


def trigger(name: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "prefect"), "deployment", "run", name],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
    assert match, result.stdout
    return match.group(1)


def finished(api: str, run_id: str) -> dict[str, Any] | None:
    run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
    return run if run.get("state_type") in TERMINAL else None
