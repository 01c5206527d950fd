from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from llmwatch.ingest import ingest_paths
from llmwatch.recorder import Recorder
from llmwatch.settings import Settings
from llmwatch.warehouse.models import Request, UserSignal


def test_threads_record_concurrently_and_ingest_reads_every_record(
    engine: Engine, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    recorder = Recorder(spool, max_bytes=20_000)  # small files: many rotations

    def worker(n: int) -> None:
        for i in range(250):
            rid = recorder.record(
                request_id=f"t{n}-{i}",
                feature_id="chat",
                model_id="m",
                latency_ms=10.0,
                input_tokens=5,
                output_tokens=3,
                input=f"question {i} from thread {n}",
            )
            if i % 10 == 0:
                recorder.signal(rid, "thumbs_up", session_id=f"s{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # An open file is invisible to ingest until it is rotated or closed.
    before_close = ingest_paths(engine, [spool / "requests"], Settings())
    recorder.close()
    after_close = ingest_paths(engine, [spool / "requests"], Settings())
    ingest_paths(engine, [spool / "signals"], Settings(), signals=True)

    assert before_close.total("rejected") == after_close.total("rejected") == 0
    assert before_close.total("loaded") + after_close.total("loaded") == 2000
    assert len(list((spool / "requests").glob("*.jsonl"))) > 5
    assert not list(spool.rglob("*.part"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Request)).scalar_one() == 2000
        assert conn.execute(select(func.count()).select_from(UserSignal)).scalar_one() == 200


def test_invalid_record_raises_at_the_call_site(tmp_path: Path) -> None:
    with Recorder(tmp_path) as recorder, pytest.raises(ValidationError, match="input_tokens"):
        recorder.record(
            feature_id="chat", model_id="m", latency_ms=1.0, input_tokens=-1, output_tokens=0
        )
    with pytest.raises(RuntimeError, match="closed"):
        recorder.record(
            feature_id="chat", model_id="m", latency_ms=1.0, input_tokens=1, output_tokens=0
        )


def _wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _one_request(recorder: Recorder, i: int = 0) -> str:
    return recorder.record(
        request_id=f"q{i}", feature_id="chat", model_id="m", latency_ms=1.0,
        input_tokens=1, output_tokens=1,
    )  # fmt: skip


def test_an_idle_recorder_publishes_its_file_by_age(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, max_age_s=0.3)
    try:
        _one_request(recorder)
        # The application writes nothing more: the timer publishes the file anyway.
        assert _wait_for(lambda: bool(list((tmp_path / "requests").glob("*.jsonl"))))
        assert not list(tmp_path.rglob("*.part"))
    finally:
        recorder.close()


# A process that records, reports its pid, then waits; the test decides how it ends.
_CHILD = """
import sys, time
from llmwatch.recorder import Recorder
recorder = Recorder(sys.argv[1], max_age_s=3600, flush_interval_s=0.1)
for i in range(int(sys.argv[2])):
    recorder.record(request_id=f"c{i}", feature_id="chat", model_id="m", latency_ms=1.0,
                    input_tokens=1, output_tokens=1)
print("ready", flush=True)
if sys.argv[3] == "wait":
    time.sleep(60)
"""


def _child(spool: Path, n: int, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(spool), str(n), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_files_are_published_when_the_application_exits_without_close(
    engine: Engine, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    assert _child(spool, 40, "exit").wait(timeout=30) == 0
    assert not list(spool.rglob("*.part"))
    summary = ingest_paths(engine, [spool], Settings())
    assert (summary.total("loaded"), summary.total("rejected")) == (40, 0)


def test_files_of_a_killed_process_are_recovered_and_live_ones_left_alone(
    engine: Engine, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    live = _child(spool, 5, "wait")
    killed = _child(spool, 30, "wait")
    try:
        # The killed process's buffer reached its .part file within flush_interval_s.
        def killed_part() -> list[Path]:
            return list((spool / "requests").glob(f"*-{killed.pid}-*.jsonl.part"))

        assert _wait_for(lambda: bool(killed_part()) and killed_part()[0].stat().st_size > 0)
        time.sleep(0.3)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
        part = killed_part()[0]
        with part.open("ab") as handle:  # a line cut in the middle of its write
            handle.write(b'{"request_id": "cut", "feature_')

        restarted = Recorder(spool)
        restarted.close()
        assert [p.name for p in restarted.recovered] == [part.name.removesuffix(".part")]
        # The live process's open file is untouched.
        assert list((spool / "requests").glob(f"*-{live.pid}-*.jsonl.part"))
        summary = ingest_paths(engine, [spool], Settings())
        assert (summary.total("loaded"), summary.total("rejected")) == (30, 0)
    finally:
        for process in (live, killed):
            process.kill()
            process.wait(timeout=10)
