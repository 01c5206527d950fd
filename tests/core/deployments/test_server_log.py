# ruff: noqa: E501 - log lines as the server writes them
"""The local Prefect server's ERROR records reach serve's console: the first in full,
then counts; other levels and earlier starts' lines do not."""

from __future__ import annotations

from pathlib import Path

from deployments.server_log import ErrorForwarder

# Lines as Prefect 3.8.8's server writes them (its scheduler failing on SQLAlchemy 2.1).
SCHEDULER_ERROR = """\
14:10:01.532 | ERROR   | prefect.server.services.scheduler - Unexpected error in: InvalidRequestError("Can't evaluate bulk DML statement")
Traceback (most recent call last):
  File "prefect/server/services/scheduler.py", line 120, in run_once
    await self._insert_scheduled_flow_runs(session=session, runs=runs)
sqlalchemy.exc.InvalidRequestError: Can't evaluate bulk DML statement; please supply a bulk_dml decorated function
"""
INFO = "14:10:02.001 | INFO    | prefect.server.services.foreman - Foreman ran\n"
UVICORN_ERROR = (
    "ERROR:    Exception in ASGI application\nTraceback (most recent call last):\n  boom\n"
)


def forwarder(log: Path, offset: int = 0) -> tuple[ErrorForwarder, list[str]]:
    said: list[str] = []
    return ErrorForwarder(log, offset, said.append, summary_seconds=0), said


def test_first_error_in_full_with_traceback_and_scheduler_named(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(INFO + SCHEDULER_ERROR + INFO)
    fwd, said = forwarder(log)
    fwd.poll()
    assert fwd.errors == 1
    assert any("scheduler is failing" in line and str(log) in line for line in said)
    full = next(line for line in said if line.startswith("prefect server ERROR"))
    assert "Can't evaluate bulk DML statement; please supply" in full
    assert "Traceback" in full
    assert "Foreman" not in "".join(said)


def test_later_errors_are_counted_not_repeated(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(SCHEDULER_ERROR)
    fwd, said = forwarder(log)
    fwd.poll()
    with log.open("a") as f:
        f.write((INFO + SCHEDULER_ERROR) * 5 + UVICORN_ERROR + INFO)
    fwd.poll()
    fwd.stop()
    assert fwd.errors == 7
    assert sum("Traceback" in line for line in said) == 1
    assert said[-1].startswith("prefect server: 6 more ERROR record(s), 7 in all")
    assert sum("scheduler is failing" in line for line in said) == 1


def test_a_record_split_across_reads_is_one_record(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    half = len(SCHEDULER_ERROR) // 2
    log.write_text(SCHEDULER_ERROR[:half])
    fwd, said = forwarder(log)
    fwd.poll()
    with log.open("a") as f:
        f.write(SCHEDULER_ERROR[half:] + INFO)
    fwd.poll()
    assert fwd.errors == 1
    assert "please supply a bulk_dml" in "".join(said)


def test_lines_before_the_offset_are_an_earlier_start(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(SCHEDULER_ERROR)
    offset = log.stat().st_size
    with log.open("a") as f:
        f.write(INFO * 3)
    fwd, said = forwarder(log, offset)
    fwd.poll()
    fwd.stop()
    assert fwd.errors == 0
    assert said == []


def test_a_record_is_reported_once_the_log_goes_quiet(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(SCHEDULER_ERROR)
    fwd, said = forwarder(log)
    fwd.poll()
    fwd.poll()
    assert fwd.errors == 1
    assert any("Traceback" in line for line in said)
