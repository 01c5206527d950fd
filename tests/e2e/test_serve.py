"""``llmwatch serve`` against real Prefect servers, the way a user runs it.

The most expensive tests of the suite: a Prefect server on a free port, ``llmwatch
serve`` with an isolated warehouse and the simulator as judge and targets; every
deployment run by hand to completion, and runs the scheduler created on its own (the
mode users rely on, which manual runs do not exercise); then serve starting its own
server, whose scheduler is off, and having to say so.
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

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
    """Manual runs of every deployment complete; the scheduler's own runs start and
    complete without anybody triggering them; a stop leaves the schedules active."""
    api, prefect_env = prefect_server
    env = configured_env(tmp_path, prefect_env)
    with SimulatorServer(scenario="demo", port=0, latency_scale=0.01, seed=0) as sim:
        write_config(tmp_path, sim.base_url)
        serve_log = (tmp_path / "serve.log").open("wb")
        started = time.monotonic()
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

            # Nobody triggers these: the server's scheduler creates them, serve runs them.
            auto = wait_for(lambda: auto_scheduled_runs(api, "COMPLETED"), 180,
                            "an auto-scheduled run to complete", serve)  # fmt: skip
            first_auto_s = time.monotonic() - started
            upcoming = auto_scheduled_runs(api, "SCHEDULED")
            assert {run["deployment_id"] for run in upcoming} == {
                d["id"] for d in served_deployments(api)
            }, "every deployment has upcoming runs the scheduler created"
            wait_for(lambda: b"schedules OK" in (tmp_path / "serve.log").read_bytes(), 60,
                     "serve's schedule check", serve)  # fmt: skip
        finally:
            stop(serve, signal.SIGTERM)
            serve_log.close()

    output = (tmp_path / "serve.log").read_text()
    states = {name: run["state_type"] for name, run in runs.items()}
    assert states == dict.fromkeys(names, "COMPLETED"), output[-4000:]
    assert auto[0]["auto_scheduled"] is True
    print(f"first auto-scheduled run completed {first_auto_s:.0f} s after serve started")
    assert (tmp_path / "reports").is_dir()
    # A clean stop: one line, exit 0, no warnings, and the schedules still active.
    assert serve.returncode == 0, output[-4000:]
    assert output.rstrip().splitlines()[-1] == "stopped (SIGTERM); schedules left active"
    assert "never awaited" not in output
    assert "RuntimeWarning" not in output
    assert [d["paused"] for d in served_deployments(api)] == [False] * len(names)


def test_serve_starts_a_local_server_and_reports_one_that_cannot_schedule(
    tmp_path: Path,
) -> None:
    """No PREFECT_API_URL: serve starts its own server on a non-default port, with the UI
    pointed at that port and a log under the data dir. Its scheduler is switched off here,
    which is a real server that cannot schedule: serve must say so, not look healthy."""
    port = free_port()
    env = configured_env(tmp_path, {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    })  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    write_config(tmp_path, "http://127.0.0.1:9/v1")
    serve_log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [str(BIN / "llmwatch"), "serve", "--port", str(port), "--schedule-check", "20"],
        env=env, cwd=tmp_path, stdout=serve_log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: b"no scheduled runs" in (tmp_path / "serve.log").read_bytes(), 180,
                 "serve to report the missing schedules", serve)  # fmt: skip
        settings = httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=10).json()
        assert settings["api_url"] == api
    finally:
        stop(serve, signal.SIGINT)
        serve_log.close()

    output = (tmp_path / "serve.log").read_text()
    log_path = tmp_path / "data" / "prefect-server.log"
    assert f"Prefect server log: {log_path}" in output
    assert f"Prefect UI: http://127.0.0.1:{port}" in output
    assert f"llmwatch serve: server start --host 127.0.0.1 --port {port}" in log_path.read_text()
    assert "schedules OK" not in output
    assert serve.returncode == 0, output[-4000:]
    assert output.rstrip().splitlines()[-1] == "stopped (SIGINT); schedules left active"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)


def configured_env(tmp_path: Path, base: dict[str, str]) -> dict[str, str]:
    """Eight days of simulated traffic up to today in the inbox (drift compares yesterday
    with the week before it), an isolated warehouse, and the config file's path."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    data_dir = tmp_path / "data"
    generate(data_dir / "inbox" / "requests", "demo", start=today - timedelta(days=8),
             days=8, requests_per_day=250, seed=3)  # fmt: skip
    for signals in (data_dir / "inbox" / "requests").glob("signals-*.jsonl"):
        (data_dir / "inbox" / "signals").mkdir(parents=True, exist_ok=True)
        signals.rename(data_dir / "inbox" / "signals" / signals.name)
    return {
        **base,
        "LLMWATCH_CONFIG": str(tmp_path / "llmwatch.toml"),
        "LLMWATCH_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
    }


def write_config(tmp_path: Path, llm_url: str) -> None:
    (tmp_path / "llmwatch.toml").write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'reports_dir = "{tmp_path / "reports"}"\n'
        f'judge_base_url = "{llm_url}"\n'
        'judge_model = "gpt-4o-2024-08-06"\n'
        'judge_api_key = "sim"\n'
        "[judge]\ndefault_sample_rate = 0.05\n"
        "[evals]\nprobe_repeats = 2\n"
        f'[targets.pinned]\nbase_url = "{llm_url}"\nmodel = "gpt-4o-mini-2024-07-18"\n'
    )


def auto_scheduled_runs(api: str, state_type: str) -> list[dict[str, Any]]:
    """Runs of llmwatch's deployments in that state that the scheduler created."""
    ids = [d["id"] for d in served_deployments(api)]
    response = httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
        "flow_runs": {"deployment_id": {"any_": ids},
                      "state": {"type": {"any_": [state_type]}}},
        "limit": 200,
    })  # fmt: skip
    response.raise_for_status()
    return [run for run in response.json() if run["auto_scheduled"]]


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
