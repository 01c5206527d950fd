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
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.registry import DEPLOYMENTS
from llmwatch.simulator import SimulatorServer
from tests.e2e.processes import (
    BIN,
    auto_scheduled_runs,
    configured_env,
    free_port,
    prefect_server_process,
    served_deployments,
    stop,
    wait_for,
    write_config,
)

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with prefect_server_process(tmp_path) as (api, env):
        yield api, env


TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


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
