"""A local ``prefect server start`` for ``llmwatch serve`` when no server is configured.

The server's output goes to a log file at a stable path (``<data_dir>/prefect-server.log``)
that outlives the run, so what the server said can be read after the fact; its ERROR
lines are forwarded to serve's console by :class:`deployments.server_log.ErrorForwarder`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 120.0
# One previous log is kept beside the current one, so a log never grows without bound.
LOG_ROTATE_BYTES = 20 * 1024 * 1024


class ServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalServer:
    api_url: str
    ui_url: str
    log_path: Path
    # Where the log of this start begins: earlier starts' lines are not this run's errors.
    log_offset: int


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def server_environment(host: str, port: int) -> dict[str, str]:
    """The server's environment: its UI must call this server's API, not the default 4200
    (the UI reads its API URL from ``/ui-settings``, which falls back to the defaults)."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"http://{host}:{port}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED=env.get("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
    )
    return env


@contextmanager
def local_prefect_server(
    log_path: Path, host: str = "127.0.0.1", port: int = 4200
) -> Iterator[LocalServer]:
    """Start a Prefect server as a child process, yield where it is, stop it on exit."""
    api_url = f"http://{host}:{port}/api"
    if is_healthy(api_url):
        raise ServerError(
            f"a Prefect server already answers on {api_url}: "
            f"set PREFECT_API_URL={api_url} to use it, or pick another --port"
        )
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    command = [prefect, "server", "start", "--host", host, "--port", str(port)]
    offset = _open_log(log_path)
    # A file, not a pipe: a full pipe would block the server.
    with log_path.open("ab") as log:
        log.write(f"--- llmwatch serve: {' '.join(command[1:])} at {_now()}\n".encode())
        log.flush()
        process = subprocess.Popen(  # noqa: S603
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_environment(host, port),
            # Its own process group: Ctrl-C in serve's terminal must not kill the server
            # before serve has stopped using it.
            start_new_session=True,
        )
    try:
        _wait_healthy(api_url, process, log_path, offset)
        yield LocalServer(api_url, f"http://{host}:{port}", log_path, offset)
    finally:
        _stop(process)


def _open_log(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
        path.replace(path.with_name(path.name + ".1"))
    return path.stat().st_size if path.exists() else 0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _wait_healthy(api_url: str, process: subprocess.Popen[bytes], log: Path, offset: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with log.open("rb") as f:
                f.seek(offset)
                tail = f.read().decode(errors="replace")[-2000:]
            raise ServerError(
                f"prefect server exited with {process.returncode} (log: {log}):\n{tail}"
            )
        if is_healthy(api_url):
            return
        time.sleep(0.5)
    raise ServerError(f"prefect server not healthy after {STARTUP_TIMEOUT_S:.0f} s (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server runs uvicorn and its services in its own process group: stop them all.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
