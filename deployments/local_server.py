"""A local ``prefect server start`` for ``llmwatch serve`` when no server is configured."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 120.0


class ServerError(RuntimeError):
    pass


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@contextmanager
def local_prefect_server(host: str = "127.0.0.1", port: int = 4200) -> Iterator[str]:
    """Start a Prefect server as a child process, yield its API URL, stop it on exit."""
    api_url = f"http://{host}:{port}/api"
    if is_healthy(api_url):
        raise ServerError(
            f"a Prefect server already answers on {api_url}: "
            f"set PREFECT_API_URL={api_url} to use it, or pick another --port"
        )
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    command = [prefect, "server", "start", "--host", host, "--port", str(port)]
    # The server's output goes to a file: a full pipe would block it, and the tail tells
    # what went wrong when it does not come up.
    with tempfile.NamedTemporaryFile(prefix="llmwatch-prefect-server-", suffix=".log") as log:
        process = subprocess.Popen(  # noqa: S603
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_healthy(api_url, process, Path(log.name))
            yield api_url
        finally:
            _stop(process)


def _wait_healthy(api_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise ServerError(f"prefect server exited with {process.returncode}:\n{tail}")
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
