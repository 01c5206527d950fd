"""Parse workers end with `llmwatch ingest` however it ends (issue 16.6): SIGTERM and
SIGINT shut the pool down; kill -9 of the parent leaves workers that exit by themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.core.ingest.test_loader import record


def children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (zombies count as gone)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def alive(pids: set[int]) -> set[int]:
    return {p for p in pids if (s := _stat(p)) is not None and s[0] != "Z"}


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    with path.open("wb") as out:
        for i in range(120_000):
            out.write(orjson.dumps(record(i, input="q" * 100, output="a" * 100)) + b"\n")
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=str)
def test_no_parse_worker_outlives_the_ingest_command(
    big_file: Path, tmp_path: Path, how: signal.Signals
) -> None:
    env = {
        **os.environ,
        "LLMWATCH_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "LLMWATCH_INGEST__PROCESS_MIN_BYTES": "0",
        "LLMWATCH_INGEST__BATCH_SIZE": "2000",
    }
    command = [sys.executable, "-m", "llmwatch"]
    subprocess.run([*command, "init"], env=env, check=True, capture_output=True)
    ingest = subprocess.Popen(
        [*command, "ingest", str(big_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 3:  # 2 workers + resource tracker
        workers = children(ingest.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, "the parse workers never started"
    time.sleep(0.5)  # mid-file
    ingest.send_signal(how)
    ingest.wait(timeout=60)

    deadline = time.monotonic() + 10
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(workers)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} of {len(workers)} child processes survived {how.name}"
    if how != signal.SIGKILL:
        assert ingest.returncode != 0
        assert b"Traceback" not in ingest.stderr.read()
