"""Parsing large files in worker processes while the main process writes.

Validation is CPU-bound Python: a thread cannot run it beside psycopg's COPY or
sqlite3's parameter binding, which hold the GIL too. Worker processes validate and
price chunks of raw lines and hand back ready rows; the main process keeps the one
database transaction, so a file is still loaded whole or not at all. Chunks are
written in file order.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from llmwatch.ingest.loader import (
    FileResult,
    Kind,
    _RowBuilder,
    line_items,
    raw_lines,
    relaxed_gc,
    route,
)
from llmwatch.pricing import PriceBook
from llmwatch.settings import IngestSettings, PriceOverride
from llmwatch.warehouse.types import sqlite_timestamp_text

_PRICE_BOOKS: dict[str, PriceBook] = {}


@dataclass(frozen=True)
class _Chunk:
    kind: Kind
    limits: IngestSettings
    overrides: dict[str, PriceOverride]
    dialect: str
    now: datetime
    path: str
    fingerprint: str
    lines: list[tuple[int, bytes | None]]


def _timestamp_for(dialect: str) -> Any:
    return sqlite_timestamp_text if dialect == "sqlite" else (lambda value: value)


def _parse_chunk(chunk: _Chunk) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], FileResult]:
    """Validated, priced rows and the rejects of one chunk, with its counts."""
    key = repr(sorted(chunk.overrides.items()))
    prices = _PRICE_BOOKS.get(key)
    if prices is None:  # one lookup per model per worker, kept across chunks and files
        prices = _PRICE_BOOKS[key] = PriceBook(chunk.overrides)
    counts = FileResult(path=chunk.path, fingerprint=chunk.fingerprint, kind=chunk.kind)
    builder = _RowBuilder(chunk.kind, prices, _timestamp_for(chunk.dialect), chunk.now, counts)
    rejects: list[tuple[Any, ...]] = []
    with relaxed_gc():
        for line_no, raw in chunk.lines:
            for item in line_items(line_no, raw, chunk.kind, chunk.limits):
                route(item, builder, rejects, builder.ingested_at)
        return builder.take(), rejects, counts


def batches_in_processes(
    path: Path,
    kind: Kind,
    limits: IngestSettings,
    overrides: dict[str, PriceOverride],
    dialect: str,
    now: datetime,
    result: FileResult,
    rejects: list[tuple[Any, ...]],
) -> Generator[list[tuple[Any, ...]]]:
    """Ready rows of ``path`` in file order; counts go to ``result``, rejects to ``rejects``."""
    # spawn, not fork: the caller may be a Prefect worker thread holding locks.
    context = multiprocessing.get_context("spawn")
    workers = limits.parse_processes
    lines = raw_lines(path, limits)
    in_flight: deque[Future[Any]] = deque()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    with pool:
        try:
            while True:
                while len(in_flight) < workers + 1:
                    chunk_lines = list(islice(lines, limits.batch_size))
                    if not chunk_lines:
                        break
                    chunk = _Chunk(kind, limits, overrides, dialect, now, result.path,
                                   result.fingerprint, chunk_lines)  # fmt: skip
                    in_flight.append(pool.submit(_parse_chunk, chunk))
                if not in_flight:
                    return
                rows, chunk_rejects, counts = in_flight.popleft().result()
                _merge(result, counts)
                rejects.extend(chunk_rejects)
                if rows:
                    yield rows
        finally:
            for future in in_flight:
                future.cancel()


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While ingesting in the main thread, SIGTERM unwinds like Ctrl-C: the file's
    transaction rolls back and the parse pool is shut down before the process exits
    (status 143), instead of the process vanishing and leaving its workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Make a parse worker end when the process that started it ends, however it ends.

    The parent shuts the pool down on SIGTERM and SIGINT; SIGINT from a terminal also
    reaches the workers, which leave it to the parent. When the parent is killed
    (kill -9, OOM), Linux sends the worker SIGTERM (PR_SET_PDEATHSIG); elsewhere, and
    as a second guard, a thread sees the parent gone within a second and exits.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="llmwatch-parent-watch", daemon=True).start()


def _merge(result: FileResult, counts: FileResult) -> None:
    result.lines = max(result.lines, counts.lines)
    result.rejected += counts.rejected
    result.skipped += counts.skipped
    result.unpriced += counts.unpriced
    room = 5 - len(result.first_rejects)
    if room > 0:
        result.first_rejects.extend(counts.first_rejects[:room])
