"""Forward the local Prefect server's ERROR records to serve's console.

A server whose services fail (the scheduler, say) still answers ``/health``, so serve
would look fine while nothing runs. The first ERROR record is printed in full, with its
traceback; later ones are counted and summarised at most once a minute, so a service
failing in a loop does not flood the console.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

# A new log record: uvicorn's "ERROR:    ..." or Prefect's "12:00:00.123 | ERROR | name - ...".
_RECORD = re.compile(r"^(?:(?P<uvicorn>[A-Z]+):\s|\d\d:\d\d:\d\d\.\d+ \| (?P<prefect>[A-Z]+)\s*\|)")
_ERROR_LEVELS = {"ERROR", "CRITICAL"}
FIRST_RECORD_MAX_LINES = 60


class ErrorForwarder:
    """Tail ``log_path`` from ``offset`` in a thread; report its ERROR records via ``echo``."""

    def __init__(
        self,
        log_path: Path,
        offset: int,
        echo: Callable[[str], None],
        poll_seconds: float = 1.0,
        summary_seconds: float = 60.0,
    ) -> None:
        self.log_path = log_path
        self._offset = offset
        self._echo = echo
        self._poll = poll_seconds
        self._summary_every = summary_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefect-server-log", daemon=True)
        self._partial = ""
        self._record: list[str] | None = None  # lines of the ERROR record being read
        self.errors = 0
        self._unreported = 0
        self._last_summary = time.monotonic()
        self.scheduler_failing = False

    def start(self) -> ErrorForwarder:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop before the server is stopped: its shutdown noise is not this run's error."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.poll()
        self._finish_record()
        if self._unreported:
            self._summarise()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self._poll)

    def poll(self) -> None:
        """Read what was appended since the last call and report it."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return
        self._offset += len(chunk)
        if not chunk and not self._partial:
            # Nothing more since the last poll: the record being read is complete.
            self._finish_record()
        text = self._partial + chunk.decode(errors="replace")
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._line(line.rstrip("\r"))
        if self._unreported and time.monotonic() - self._last_summary >= self._summary_every:
            self._summarise()

    def _line(self, line: str) -> None:
        match = _RECORD.match(line)
        if match is None:
            if self._record is not None and line.strip():
                self._record.append(line)
            return
        self._finish_record()
        level = match.group("uvicorn") or match.group("prefect")
        if level in _ERROR_LEVELS:
            self._record = [line]

    def _finish_record(self) -> None:
        record, self._record = self._record, None
        if record is None:
            return
        self.errors += 1
        text = "\n".join(record)
        if "scheduler" in text.lower() and not self.scheduler_failing:
            self.scheduler_failing = True
            self._echo(
                "ERROR: the Prefect server's scheduler is failing: scheduled runs will not "
                f"start (server log: {self.log_path})"
            )
        if self.errors == 1:
            shown = record[:FIRST_RECORD_MAX_LINES]
            more = len(record) - len(shown)
            self._echo("prefect server ERROR:\n" + "\n".join(f"  | {line}" for line in shown)
                       + (f"\n  | ... {more} more lines" if more else ""))  # fmt: skip
            self._last_summary = time.monotonic()
        else:
            self._unreported += 1

    def _summarise(self) -> None:
        self._echo(
            f"prefect server: {self._unreported} more ERROR record(s), {self.errors} in all "
            f"(server log: {self.log_path})"
        )
        self._unreported = 0
        self._last_summary = time.monotonic()
