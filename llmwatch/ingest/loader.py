"""Ingest files into the warehouse: validate every line, load the good, keep the bad.

One file is one transaction: its rows, its rejects and its ``ingested_files`` entry
commit together, so a run killed half-way leaves nothing behind and the next run
loads the file again from the start. A file whose fingerprint is already recorded is
not read again.
"""

from __future__ import annotations

import gc
import queue
import threading
import zlib
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine, delete, select

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.ingest import otel, quarantine, reader
from llmwatch.ingest.reader import BOM, UnreadableFile, bounded_lines, discover_kinds
from llmwatch.ingest.records import (
    RequestRecord,
    SignalRecord,
    column_problem,
    describe_error,
    size_problem,
    storage_problem,
)
from llmwatch.ingest.writer import BulkWriter
from llmwatch.pricing import PriceBook
from llmwatch.settings import IngestSettings, Settings
from llmwatch.warehouse.models import IngestedFile, IngestReject, QuarantinedFile

Kind = Literal["requests", "signals"]
_EXCERPT_CHARS = 300
_MAX_JSON_DOCUMENT = 512 * 1024 * 1024


@dataclass
class FileResult:
    path: str
    fingerprint: str
    kind: str
    already_ingested: bool = False
    # When already ingested: the kind it was read as then (requests or signals).
    previous_kind: str | None = None
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0  # identical to the stored request (a re-send)
    # Same request_id as a stored request but different content: not loaded, reported.
    conflicts: int = 0
    rejected: int = 0
    skipped: int = 0  # spans without GenAI attributes
    unpriced: int = 0
    # Why the file as a whole was not loaded (see llmwatch.ingest.quarantine), or None.
    quarantined: str | None = None
    # An inbox object another worker holds (llmwatch.ingest.inbox): not read by this one.
    claimed_elsewhere: bool = False
    first_rejects: list[tuple[int, str]] = field(default_factory=list)
    first_conflicts: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    files: list[FileResult]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.already_ingested for f in self.files)

    @property
    def files_quarantined(self) -> int:
        return sum(f.quarantined is not None for f in self.files)

    @property
    def files_elsewhere(self) -> int:
        return sum(f.claimed_elsewhere for f in self.files)

    def line(self) -> str:
        read = len(self.files) - self.files_skipped - self.files_quarantined - self.files_elsewhere
        return (
            f"files: {read} read, {self.files_skipped} already ingested; "
            f"loaded {self.total('loaded')}, duplicate {self.total('duplicates')}, "
            f"rejected {self.total('rejected')}, unpriced {self.total('unpriced')}, "
            f"non-GenAI spans skipped {self.total('skipped')}, "
            f"files quarantined {self.files_quarantined}, "
            f"conflicting duplicates {self.total('conflicts')}"
            + (f", {self.files_elsewhere} taken by another worker" if self.files_elsewhere else "")
        )


def ingest_paths(
    engine: Engine,
    paths: Iterable[Path],
    settings: Settings,
    *,
    signals: bool = False,
    force: bool = False,
) -> IngestSummary:
    """Ingest files and folders (recursively): signal files (by name or a ``signals``
    folder, see ``is_signal_file``) as signals, the others as request records; with
    ``signals``, every file as signals. ``force`` reads files already ingested again."""
    prices = PriceBook(settings.prices)
    results = [
        ingest_file(
            engine, path, "signals" if is_signals else "requests", settings.ingest, prices, force
        )
        for path, is_signals in discover_kinds(paths, signals)
    ]
    return IngestSummary(results)


def ingest_file(
    engine: Engine,
    path: Path,
    kind: Kind,
    limits: IngestSettings,
    prices: PriceBook,
    force: bool = False,
    name: str | None = None,
) -> FileResult:
    """Load one file in one transaction; a file that fails as a whole is quarantined.
    ``name`` is the path recorded and reported (an inbox object's URL), if not ``path``."""
    name = name or str(path)
    try:
        digest, size = reader.fingerprint(path)
    except OSError as exc:
        digest, size = quarantine.unreadable_fingerprint(name), 0
        problem: str | None = f"unreadable file: {exc}"
    else:
        problem = None
    result = FileResult(path=quarantine.storable(name), fingerprint=digest, kind=kind)
    with engine.connect() as conn:
        seen = conn.execute(
            select(IngestedFile.kind).where(IngestedFile.fingerprint == digest)
        ).first()
        known_bad = quarantine.is_quarantined(conn, digest)
    if seen is not None and not force:
        result.already_ingested = True
        result.previous_kind = seen.kind
        return result
    if known_bad is not None and not force:
        result.quarantined = known_bad
        return result
    now = datetime.now(UTC)
    if problem is None:
        try:
            _load(engine, path, kind, limits, prices, result, size, now, replace=force)
            return result
        except Exception as exc:
            problem = quarantine.file_problem(exc)
            if problem is None:
                raise
    # Nothing of the file was committed: its transaction rolled back.
    failed = FileResult(path=result.path, fingerprint=digest, kind=kind, quarantined=problem)
    with engine.begin() as conn:
        quarantine.quarantine(conn, digest, result.path, kind, problem, now)
    return failed


def _load(
    engine: Engine,
    path: Path,
    kind: Kind,
    limits: IngestSettings,
    prices: PriceBook,
    result: FileResult,
    size: int,
    now: datetime,
    replace: bool,
) -> None:
    digest = result.fingerprint
    with engine.begin() as conn:
        if replace:  # --force: this file's bookkeeping (and quarantine) is written again
            conn.execute(delete(IngestReject).where(IngestReject.file_fingerprint == digest))
            conn.execute(delete(IngestedFile).where(IngestedFile.fingerprint == digest))
            conn.execute(delete(QuarantinedFile).where(QuarantinedFile.fingerprint == digest))
        writer = BulkWriter(conn)
        insert = writer.insert_signals if kind == "signals" else writer.insert_requests
        rejects: list[tuple[Any, ...]] = []
        batches: Generator[list[tuple[Any, ...]]]
        if _in_processes(path, size, limits):
            from llmwatch.ingest.parallel import batches_in_processes

            batches = batches_in_processes(
                path, kind, limits, prices.overrides, writer.dialect, now, result, rejects
            )
        else:
            builder = _RowBuilder(kind, prices, writer.timestamp, now, result)
            # Parsing and validation (Python, holding the GIL) run in a thread while
            # this one waits on the database, which releases the GIL: the two overlap.
            batches = in_background(
                _batches(path, kind, limits, builder, rejects, writer.timestamp(now))
            )
        # closing: on an error, stop the parsing thread or worker processes right away.
        with relaxed_gc(), closing(batches):
            for rows in batches:
                inserted = insert(rows)
                result.loaded += inserted
                if inserted == len(rows) or kind == "signals":
                    result.duplicates += len(rows) - inserted
                    continue
                conflicting = writer.conflicts(rows)
                result.conflicts += len(conflicting)
                result.duplicates += len(rows) - inserted - len(conflicting)
                room = 5 - len(result.first_conflicts)
                result.first_conflicts.extend(conflicting[: max(room, 0)])
        writer.insert_rejects(rejects)
        writer.insert_file(
            {
                "fingerprint": result.fingerprint,
                "path": result.path,
                "kind": kind,
                "size_bytes": size,
                "lines": result.lines,
                "loaded": result.loaded,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "skipped": result.skipped,
                "unpriced": result.unpriced,
                "conflicts": result.conflicts,
                "ingested_at": now,
            }
        )
        alerts = [_rejects_alert(result)] if result.rejected else []
        if result.conflicts:
            alerts.append(_conflicts_alert(result))
        record_alerts(conn, alerts, now=now)


def _batches(
    path: Path,
    kind: Kind,
    limits: IngestSettings,
    builder: _RowBuilder,
    rejects: list[tuple[Any, ...]],
    reject_ts: Any,
) -> Generator[list[tuple[Any, ...]]]:
    """Lists of ready-to-write rows; rejects are appended to ``rejects`` on the way."""
    pending = 0
    for item in _items(path, kind, limits):
        if route(item, builder, rejects, reject_ts):
            pending += 1
            if pending >= limits.batch_size:
                yield builder.take()
                pending = 0
    if pending:
        yield builder.take()


def route(
    item: _Item, builder: _RowBuilder, rejects: list[tuple[Any, ...]], reject_ts: Any
) -> bool:
    """Count one validated item into the builder's result; True when it became a row."""
    line_no, problem, value = item
    result = builder.result
    result.lines = max(result.lines, line_no)
    if problem is not None:
        result.rejected += 1
        problem, value = quarantine.storable(problem), quarantine.storable(value)
        if len(result.first_rejects) < 5:
            result.first_rejects.append((line_no, problem))
        rejects.append((result.fingerprint, result.path, line_no, problem, value, reject_ts))
        return False
    if value is None:
        result.skipped += 1
        return False
    builder.add(value)
    return True


@contextmanager
def relaxed_gc(young_threshold: int = 100_000) -> Iterator[None]:
    """Collect young objects less often while a bulk load allocates millions of them.

    Ingest creates no reference cycles worth collecting early, and the default
    threshold (700) made the collector rescan every pending batch, costing a third of
    the throughput. The previous thresholds are restored afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(young_threshold, previous[1], previous[2])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


_DONE = object()


def in_background(items: Iterator[Any], depth: int = 2) -> Generator[Any]:
    """Run an iterator in a thread, ``depth`` items ahead; its exceptions re-raise here."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_DONE)
        except BaseException as exc:
            handoff.put(exc)

    thread = threading.Thread(target=produce, name="llmwatch-ingest-parse", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _in_processes(path: Path, size: int, limits: IngestSettings) -> bool:
    """Large JSONL files are parsed in worker processes: parsing is CPU-bound Python,
    which threads cannot run beside the database writes."""
    jsonl = ".jsonl" in path.name
    return jsonl and limits.parse_processes > 0 and size >= limits.process_min_bytes


def _rejects_alert(result: FileResult) -> NewAlert:
    examples = "; ".join(f"line {n}: {why}" for n, why in result.first_rejects[:3])
    return NewAlert(
        kind="ingest_rejects",
        flow="ingest",
        severity="warning",
        metric="rejected_lines",
        value=float(result.rejected),
        threshold=0.0,
        message=f"{result.rejected} of {result.lines} lines rejected in {result.path}: {examples}",
        details={
            "path": result.path,
            "fingerprint": result.fingerprint,
            "first_rejects": result.first_rejects,
        },
        series_suffix=result.fingerprint,
    )


def _conflicts_alert(result: FileResult) -> NewAlert:
    ids = ", ".join(result.first_conflicts[:3])
    return NewAlert(
        kind="ingest_rejects",
        flow="ingest",
        severity="warning",
        metric="conflicting_duplicates",
        value=float(result.conflicts),
        threshold=0.0,
        message=(
            f"{result.conflicts} records in {result.path} reuse a stored request_id with "
            f"different content (not loaded; the stored one is kept): {ids}"
        ),
        details={
            "path": result.path,
            "fingerprint": result.fingerprint,
            "first_conflicts": result.first_conflicts,
        },
        series_suffix=result.fingerprint,
    )


# (line number, reject reason or None, validated record | excerpt for a reject | None)
_Item = tuple[int, str | None, Any]


def _items(path: Path, kind: Kind, limits: IngestSettings) -> Iterator[_Item]:
    """Every line (or span) of a file, validated, as (line, problem, record-or-excerpt)."""
    if ".json" in path.name and ".jsonl" not in path.name:
        yield from _json_document(path, limits)
        return
    for line_no, raw in raw_lines(path, limits):
        yield from line_items(line_no, raw, kind, limits)


def raw_lines(path: Path, limits: IngestSettings) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of a JSONL file; None for an oversized line. A file that
    cannot be read to its end (I/O error, truncated or corrupt gzip) raises
    UnreadableFile: its lines are not trustworthy, so the whole file is quarantined."""
    line_no = 0
    try:
        with reader.open_bytes(path) as handle:
            for line_no, raw in bounded_lines(handle, limits.max_line_bytes):
                yield line_no, raw
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable after line {line_no}: {exc}") from exc


def line_items(
    line_no: int, raw: bytes | None, kind: Kind, limits: IngestSettings
) -> Iterator[_Item]:
    """The validated item(s) of one line: a record, a reject, or the spans of an OTLP line."""
    if raw is None:
        yield line_no, f"line longer than {limits.max_line_bytes} bytes", ""
    elif not raw.strip():
        return
    elif kind == "requests" and raw.lstrip().startswith(b'{"resourceSpans"'):
        yield from _otlp_line(line_no, raw, limits)
    else:
        model = SignalRecord if kind == "signals" else RequestRecord
        yield _validate(model, line_no, raw, limits)


def _validate(
    model: type[RequestRecord] | type[SignalRecord],
    line_no: int,
    raw: bytes,
    limits: IngestSettings,
) -> _Item:
    try:
        record = model.model_validate_json(raw)
    except ValidationError as exc:
        return line_no, _reason(exc, raw), _excerpt(raw)
    problem = (
        size_problem(record, limits, len(raw))
        or column_problem(record)
        or storage_problem(record, raw)
    )
    if problem is not None:
        return line_no, problem, _excerpt(raw)
    return line_no, None, record


def _reason(exc: ValidationError, raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as decode_error:
        return f"not valid UTF-8 (byte {decode_error.start})"
    return describe_error(exc)


def _excerpt(raw: bytes) -> str:
    return raw[: _EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:_EXCERPT_CHARS]


def _otlp_line(line_no: int, raw: bytes, limits: IngestSettings) -> Iterator[_Item]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        yield line_no, f"invalid JSON: {exc}", _excerpt(raw)
        return
    yield from _otlp_spans(line_no, document, limits)


def _json_document(path: Path, limits: IngestSettings) -> Iterator[_Item]:
    try:
        with reader.open_bytes(path) as handle:
            raw = handle.read(_MAX_JSON_DOCUMENT + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable: {exc}") from exc
    raw = raw.removeprefix(BOM)
    if len(raw) > _MAX_JSON_DOCUMENT:
        yield 1, f"JSON document larger than {_MAX_JSON_DOCUMENT} bytes; export JSONL instead", ""
        return
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        yield 1, f"invalid JSON: {exc}", _excerpt(raw)
        return
    if not otel.is_otlp_document(document):
        yield 1, "a .json file must be an OTLP/JSON trace export (resourceSpans)", _excerpt(raw)
        return
    yield from _otlp_spans(1, document, limits)


def _otlp_spans(line_no: int, document: Any, limits: IngestSettings) -> Iterator[_Item]:
    if not otel.is_otlp_document(document):
        yield line_no, "not an OTLP/JSON trace export", ""
        return
    for span in otel.spans(document, limits.otel_feature_attributes):
        if span.record is None and span.problem is None:
            yield line_no, None, None
            continue
        if span.record is None:
            yield line_no, span.problem, f"span {span.span_id}"
            continue
        try:
            record = RequestRecord.model_validate(span.record, strict=False)
        except ValidationError as exc:
            yield line_no, f"span {span.span_id}: {describe_error(exc)}", f"span {span.span_id}"
            continue
        problem = size_problem(record, limits) or column_problem(record) or storage_problem(record)
        if problem is not None:
            yield line_no, f"span {span.span_id}: {problem}", f"span {span.span_id}"
            continue
        yield line_no, None, record


def _usage_missing(r: RequestRecord) -> bool:
    return r.metadata is not None and r.metadata.get("usage") == otel.USAGE_MISSING


class _RowBuilder:
    """Turns validated records into row tuples in the writer's column order.

    Each record becomes a tuple as soon as it is added, so a batch holds tuples of
    plain values rather than thousands of model objects, which the cyclic garbage
    collector would otherwise rescan over and over (that halved throughput).
    """

    _COST = 12  # index of cost_usd in REQUEST_COLUMNS; cost_source follows it

    def __init__(
        self, kind: Kind, prices: PriceBook, timestamp: Any, now: datetime, result: FileResult
    ) -> None:
        self.kind = kind
        self.prices = prices
        self.timestamp = timestamp
        self.ingested_at = timestamp(now)
        self.result = result
        self._rows: list[tuple[Any, ...]] = []
        # (row index, provider, model, timestamp, input, cached, cache write, output)
        self._unpriced: list[tuple[Any, ...]] = []

    def add(self, record: Any) -> None:
        if self.kind == "signals":
            self._rows.append(self._signal_row(record))
            return
        r: RequestRecord = record
        if r.cost_usd is None and _usage_missing(r):
            self.result.unpriced += 1
        elif r.cost_usd is None:
            self._unpriced.append(
                (len(self._rows), r.provider, r.model_id, r.timestamp, r.input_tokens,
                 r.cached_input_tokens, r.cache_write_tokens, r.output_tokens)
            )  # fmt: skip
        self._rows.append(
            (
                r.request_id, self.timestamp(r.timestamp), r.feature_id, r.model_id,
                r.provider, r.latency_ms, r.ttft_ms, r.input_tokens, r.output_tokens,
                r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens,
                r.cost_usd, None if r.cost_usd is None else "record", r.finish_reason,
                r.error, r.session_id, r.user_segment, r.prompt_template_id, r.input,
                r.output, r.context,
                None if r.metadata is None else orjson.dumps(r.metadata).decode(),
                self.ingested_at,
            )
        )  # fmt: skip

    def take(self) -> list[tuple[Any, ...]]:
        """The rows added since the last call, priced."""
        rows, todo = self._rows, self._unpriced
        self._rows, self._unpriced = [], []
        if todo:
            columns = list(zip(*todo, strict=True))
            costs, sources = self.prices.price_batch(*columns[1:])
            c = self._COST
            for index, cost, source in zip(columns[0], costs, sources, strict=True):
                row = rows[index]
                rows[index] = (*row[:c], cost, source, *row[c + 2 :])
            # Counted per valid line: a duplicate of an unpriced request counts too.
            self.result.unpriced += sum(cost is None for cost in costs)
        return rows

    def _signal_row(self, s: SignalRecord) -> tuple[Any, ...]:
        metadata = None if s.metadata is None else orjson.dumps(s.metadata).decode()
        return (
            s.signal_id, s.request_id, s.session_id, s.signal_type,
            self.timestamp(s.timestamp), metadata, self.ingested_at,
        )  # fmt: skip
