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
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from llmwatch.ingest.records import RequestRecord, SignalRecord


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
        name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._seq:06d}.jsonl.part"
        self._path = self.directory / name
        self._handle = self._path.open("ab", buffering=256 * 1024)
        self._opened_at = time.monotonic()
        self._written = 0

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

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

    Requests go to ``<directory>/requests/``, signals to ``<directory>/signals/``;
    point ``llmwatch ingest DIR/requests`` and ``llmwatch ingest --signals DIR/signals``
    (or the ingest flow's inbox) at them.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_s: float = 60.0,
    ) -> None:
        root = Path(directory)
        self._lock = threading.Lock()
        self._requests = _RotatingFile(root / "requests", "requests", max_bytes, max_age_s)
        self._signals = _RotatingFile(root / "signals", "signals", max_bytes, max_age_s)
        self._closed = False

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

    def flush(self) -> None:
        with self._lock:
            self._requests.flush()
            self._signals.flush()

    def rotate(self) -> list[Path]:
        """Close the open files now (they become visible to ingest); returns them."""
        with self._lock:
            return [p for p in (self._requests.close(), self._signals.close()) if p]

    def close(self) -> None:
        self.rotate()
        with self._lock:
            self._closed = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _validated_line(
    model: type[RequestRecord] | type[SignalRecord], fields: dict[str, Any]
) -> bytes:
    line = orjson.dumps(fields, option=orjson.OPT_NAIVE_UTC)
    model.model_validate_json(line)  # raises pydantic.ValidationError with the reason
    return line + b"\n"
