"""Processes the end-to-end tests start: Prefect servers, serve, workers; and the
isolated data a run works on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from llmwatch.simulator.writer import generate

BIN = Path(sys.executable).parent


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


@contextmanager
def prefect_server_process(
    tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """A ``prefect server start`` on a free port with its own PREFECT_HOME; yields its API
    URL and the environment that points clients at it."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        **(extra_env or {}),
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


def configured_env(tmp_path: Path, base: dict[str, str]) -> dict[str, str]:
    """Eight days of simulated traffic up to this hour in the inbox (drift compares
    yesterday with the week before it; the hourly job finds the last hours filled), an
    isolated warehouse, and the config file's path."""
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data_dir = tmp_path / "data"
    generate(data_dir / "inbox" / "requests", "demo", start=this_hour - timedelta(days=8),
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


def served_deployments(api: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{api}/deployments/filter", json={"limit": 50}, timeout=10)
    return [d for d in response.json() if "llmwatch" in (d.get("tags") or [])]


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
