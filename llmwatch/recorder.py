"""A recorder an LLM application calls once per request to feed llmwatch.

It appends SPEC 3.1 records (and 3.2 signals) to JSONL files, buffered, and rotates
them by size or age. A file being written is named ``*.jsonl.part`` and renamed to
``*.jsonl`` when closed, so ``llmwatch ingest`` (which only takes ``*.jsonl``) never
reads a half-written file, and the closed file's fingerprint never changes.

    recorder = Recorder("/var/spool/llmwatch")
    recorder.record(feature_id="support_chat", model_id="gpt-4o-mini", latency_ms=812,
                    input_tokens=1200, output_tokens=230)
    recorder.signal(request_id, "thumbs_up", session_id="s1")
    recorder.close()

Records are validated with the same rules as ingestion, so a bug in the application
shows up as an exception at the call site rather than as a reject hours later.

A background (daemon) thread flushes the buffers every ``flush_interval_s`` and
publishes a file once it is ``max_age_s`` old even when the application writes nothing
more; ``close()`` runs at interpreter exit too. Each open ``.part`` file is locked
(``flock``) by its writer, so a recorder starting up (and its thread, every
``max_age_s``) can tell the files of a process that died (kill -9, OOM) from the files
of a live one: it publishes their complete lines and drops a truncated last line.
What a kill -9 loses: the records still in the process's buffer, i.e. those of the last
``flush_interval_s`` (1 s by default), and a line cut in the middle of its write.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from llmwatch.ingest.records import RequestRecord, SignalRecord

PART = ".part"
# A file is created under this suffix, locked, then renamed to ``.part``: every visible
# ``.part`` file is locked from the start, so recovery never takes a file being opened.
_NEW = ".part-new"


class _RotatingFile:
    def __init__(self, directory: Path, prefix: str, max_bytes: int, max_age_s: float) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._handle: IO[bytes] | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._written = 0
        self._seq = 0

    def write(self, line: bytes) -> None:
        if self._handle is not None and self._due():
            self.close()
        if self._handle is None:
            self._open()
        assert self._handle is not None
        self._handle.write(line)
        self._written += len(line)

    def _due(self) -> bool:
        too_old = time.monotonic() - self._opened_at >= self.max_age_s
        return self._written >= self.max_bytes or too_old

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:06d}.jsonl"
        creating = self.directory / (name + _NEW)
        handle = creating.open("ab", buffering=256 * 1024)
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # held until closed or the process dies
        self._path = creating.rename(self.directory / (name + PART))
        self._handle = handle
        self._opened_at = time.monotonic()
        self._written = 0

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close_if_old(self) -> Path | None:
        """Publish the open file if it reached its maximum age, else flush it."""
        if self._handle is not None and self._due():
            return self.close()
        self.flush()
        return None

    def close(self) -> Path | None:
        """Close the open file and publish it under its final name."""
        if self._handle is None or self._path is None:
            return None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        final = self._path.with_name(self._path.name.removesuffix(".part"))
        self._path.rename(final)
        self._handle = None
        self._path = None
        return final


class Recorder:
    """Thread-safe, buffered JSONL writer of request records and user signals.

    Requests go to ``<directory>/requests/``, signals to ``<directory>/signals/`` - the
    ingest flow's inbox layout, so ``Recorder("<data_dir>/inbox")`` feeds the ingest
    deployment directly (or ``llmwatch ingest DIR``, which tells the two apart).
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_s: float = 60.0,
        flush_interval_s: float = 1.0,
    ) -> None:
        if max_age_s <= 0 or flush_interval_s <= 0:
            raise ValueError("max_age_s and flush_interval_s must be positive")
        root = Path(directory)
        self._lock = threading.Lock()
        self._requests = _RotatingFile(root / "requests", "requests", max_bytes, max_age_s)
        self._signals = _RotatingFile(root / "signals", "signals", max_bytes, max_age_s)
        self._closed = False
        self.recovered: list[Path] = recover_abandoned(root)
        self._stop = threading.Event()
        self._timer = threading.Thread(
            target=self._tick,
            args=(min(flush_interval_s, max_age_s), max_age_s),
            name="llmwatch-recorder",
            daemon=True,
        )
        self._timer.start()
        atexit.register(self.close)

    def record(self, **fields: Any) -> str:
        """Append one request record; returns its request_id (generated when absent)."""
        fields.setdefault("request_id", uuid.uuid4().hex)
        fields.setdefault("timestamp", datetime.now(UTC).isoformat())
        line = _validated_line(RequestRecord, fields)
        self._write(self._requests, line)
        return str(fields["request_id"])

    def signal(
        self, request_id: str, signal_type: str, *, session_id: str | None = None, **extra: Any
    ) -> None:
        """Append one user signal about a request."""
        fields: dict[str, Any] = {
            "request_id": request_id,
            "signal_type": signal_type,
            "session_id": session_id,
            "timestamp": extra.pop("timestamp", datetime.now(UTC).isoformat()),
        }
        if extra:
            fields["metadata"] = extra
        self._write(self._signals, _validated_line(SignalRecord, fields))

    def _write(self, target: _RotatingFile, line: bytes) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("recorder is closed")
            target.write(line)

    def _tick(self, interval_s: float, scan_every_s: float) -> None:
        """Flush, publish files by age, and now and then take over abandoned files."""
        last_scan = time.monotonic()
        while not self._stop.wait(interval_s):
            with self._lock:
                if self._closed:
                    return
                self._requests.close_if_old()
                self._signals.close_if_old()
            if time.monotonic() - last_scan >= scan_every_s:
                last_scan = time.monotonic()
                self.recovered += recover_abandoned(self._requests.directory.parent)

    def flush(self) -> None:
        with self._lock:
            self._requests.flush()
            self._signals.flush()

    def rotate(self) -> list[Path]:
        """Close the open files now (they become visible to ingest); returns them."""
        with self._lock:
            return [p for p in (self._requests.close(), self._signals.close()) if p]

    def close(self) -> None:
        """Publish the open files and stop; also runs at interpreter exit."""
        self._stop.set()
        if self._timer is not threading.current_thread():
            self._timer.join(timeout=5)
        with self._lock:
            if self._closed:
                return
            self._requests.close()
            self._signals.close()
            self._closed = True
        atexit.unregister(self.close)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def recover_abandoned(root: Path) -> list[Path]:
    """Publish the ``.part`` files under ``root/requests`` and ``root/signals`` that no
    live process holds (their writer died): complete lines only, a truncated last line
    is dropped, an empty file removed. Returns the files published."""
    published: list[Path] = []
    for folder in (root / "requests", root / "signals"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*.jsonl{PART}")) + sorted(folder.glob(f"*{_NEW}")):
            done = _recover_one(path)
            if done is not None:
                published.append(done)
    return published


def _recover_one(path: Path) -> Path | None:
    try:
        handle = path.open("r+b")
    except FileNotFoundError:  # published or recovered by someone else meanwhile
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a live writer holds it
        if not path.exists():  # renamed by its writer just before we locked it
            return None
        data = handle.read()
        complete = data.rfind(b"\n") + 1
        if complete == 0 or path.name.endswith(_NEW):
            path.unlink()
            return None
        if complete < len(data):
            handle.truncate(complete)
        handle.flush()
        os.fsync(handle.fileno())
        final = path.with_name(path.name.removesuffix(PART))
        path.rename(final)
        return final


def _validated_line(
    model: type[RequestRecord] | type[SignalRecord], fields: dict[str, Any]
) -> bytes:
    line = orjson.dumps(fields, option=orjson.OPT_NAIVE_UTC)
    model.model_validate_json(line)  # raises pydantic.ValidationError with the reason
    return line + b"\n"
