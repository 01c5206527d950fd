"""Ingest files into the warehouse: validate every line, load the good, keep the bad.

One file is one transaction: its rows, its rejects and its ``ingested_files`` entry
commit together, so a run killed half-way leaves nothing behind and the next run
loads the file again from the start. A file whose fingerprint is already recorded is
not read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine, select

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.ingest import otel
from llmwatch.ingest.reader import bounded_lines, discover, fingerprint, open_bytes
from llmwatch.ingest.records import (
    RequestRecord,
    SignalRecord,
    describe_error,
    size_problem,
)
from llmwatch.ingest.writer import BulkWriter
from llmwatch.pricing import PriceBook
from llmwatch.settings import IngestSettings, Settings
from llmwatch.warehouse.models import IngestedFile

Kind = Literal["requests", "signals"]
_EXCERPT_CHARS = 300
_MAX_JSON_DOCUMENT = 512 * 1024 * 1024


@dataclass
class FileResult:
    path: str
    fingerprint: str
    kind: str
    already_ingested: bool = False
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: int = 0  # spans without GenAI attributes
    unpriced: int = 0
    first_rejects: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class IngestSummary:
    files: list[FileResult]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.already_ingested for f in self.files)

    def line(self) -> str:
        read = len(self.files) - self.files_skipped
        return (
            f"files: {read} read, {self.files_skipped} already ingested; "
            f"loaded {self.total('loaded')}, duplicate {self.total('duplicates')}, "
            f"rejected {self.total('rejected')}, unpriced {self.total('unpriced')}, "
            f"non-GenAI spans skipped {self.total('skipped')}"
        )


def ingest_paths(
    engine: Engine, paths: Iterable[Path], settings: Settings, *, signals: bool = False
) -> IngestSummary:
    """Ingest files and folders (recursively) of request records, or of signals."""
    prices = PriceBook(settings.prices)
    kind: Kind = "signals" if signals else "requests"
    results = [
        ingest_file(engine, path, kind, settings.ingest, prices) for path in discover(paths)
    ]
    return IngestSummary(results)


def ingest_file(
    engine: Engine, path: Path, kind: Kind, limits: IngestSettings, prices: PriceBook
) -> FileResult:
    digest, size = fingerprint(path)
    result = FileResult(path=str(path), fingerprint=digest, kind=kind)
    with engine.connect() as conn:
        seen = conn.execute(
            select(IngestedFile.fingerprint).where(IngestedFile.fingerprint == digest)
        ).first()
    if seen is not None:
        result.already_ingested = True
        return result
    now = datetime.now(UTC)
    with engine.begin() as conn:
        writer = BulkWriter(conn)
        batch = _Batch(writer, kind, prices, now, result)
        rejects: list[tuple[Any, ...]] = []
        for line_no, problem, item in _items(path, kind, limits):
            result.lines = max(result.lines, line_no)
            if problem is not None:
                result.rejected += 1
                if len(result.first_rejects) < 5:
                    result.first_rejects.append((line_no, problem))
                rejects.append((digest, str(path), line_no, problem, item, writer.timestamp(now)))
                continue
            if item is None:
                result.skipped += 1
                continue
            batch.add(item)
            if len(batch) >= limits.batch_size:
                batch.flush()
        batch.flush()
        writer.insert_rejects(rejects)
        writer.insert_file(
            {
                "fingerprint": digest,
                "path": str(path),
                "kind": kind,
                "size_bytes": size,
                "lines": result.lines,
                "loaded": result.loaded,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "skipped": result.skipped,
                "unpriced": result.unpriced,
                "ingested_at": now,
            }
        )
        if result.rejected:
            record_alerts(conn, [_rejects_alert(result)], now=now)
    return result


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
        details={"path": result.path, "fingerprint": result.fingerprint,
                 "first_rejects": result.first_rejects},
        series_suffix=result.fingerprint,
    )


# (line number, reject reason or None, validated record | excerpt for a reject | None)
_Item = tuple[int, str | None, Any]


def _items(path: Path, kind: Kind, limits: IngestSettings) -> Iterator[_Item]:
    """Every line (or span) of a file, validated, as (line, problem, record-or-excerpt)."""
    model: type[RequestRecord] | type[SignalRecord] = (
        SignalRecord if kind == "signals" else RequestRecord
    )
    if ".json" in path.name and ".jsonl" not in path.name:
        yield from _json_document(path, limits)
        return
    line_no = 0
    try:
        with open_bytes(path) as handle:
            for line_no, raw in bounded_lines(handle, limits.max_line_bytes):
                if raw is None:
                    yield line_no, f"line longer than {limits.max_line_bytes} bytes", ""
                    continue
                if not raw.strip():
                    continue
                if kind == "requests" and raw.lstrip().startswith(b'{"resourceSpans"'):
                    yield from _otlp_line(line_no, raw, limits)
                    continue
                yield _validate(model, line_no, raw, limits)
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz: keep what was read
        yield line_no + 1, f"unreadable file: {exc}", ""


def _validate(
    model: type[RequestRecord] | type[SignalRecord], line_no: int, raw: bytes, limits: IngestSettings
) -> _Item:
    try:
        record = model.model_validate_json(raw)
    except ValidationError as exc:
        return line_no, _reason(exc, raw), _excerpt(raw)
    problem = size_problem(record, limits)
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
    with open_bytes(path) as handle:
        raw = handle.read(_MAX_JSON_DOCUMENT + 1)
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
        problem = size_problem(record, limits)
        if problem is not None:
            yield line_no, f"span {span.span_id}: {problem}", f"span {span.span_id}"
            continue
        yield line_no, None, record


class _Batch:
    """Validated records waiting to be priced and written."""

    def __init__(
        self, writer: BulkWriter, kind: Kind, prices: PriceBook, now: datetime, result: FileResult
    ) -> None:
        self.writer = writer
        self.kind = kind
        self.prices = prices
        self.ingested_at = writer.timestamp(now)
        self.result = result
        self.records: list[Any] = []

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: Any) -> None:
        self.records.append(record)

    def flush(self) -> None:
        if not self.records:
            return
        if self.kind == "signals":
            rows = [self._signal_row(s) for s in self.records]
            inserted = self.writer.insert_signals(rows)
        else:
            rows = self._request_rows(self.records)
            inserted = self.writer.insert_requests(rows)
        self.result.loaded += inserted
        self.result.duplicates += len(rows) - inserted
        self.records = []

    def _request_rows(self, records: list[RequestRecord]) -> list[tuple[Any, ...]]:
        need = [r for r in records if r.cost_usd is None]
        computed: dict[str, tuple[float | None, str | None]] = {}
        if need:
            costs, sources = self.prices.price_batch(
                [r.provider for r in need],
                [r.model_id for r in need],
                [r.timestamp for r in need],
                [r.input_tokens for r in need],
                [r.cached_input_tokens for r in need],
                [r.cache_write_tokens for r in need],
                [r.output_tokens for r in need],
            )
            computed = {r.request_id: pair for r, pair in zip(need, zip(costs, sources, strict=True), strict=True)}
        ts = self.writer.timestamp
        rows = []
        for r in records:
            if r.cost_usd is None:
                cost, source = computed[r.request_id]
                if cost is None:
                    self.result.unpriced += 1
            else:
                cost, source = r.cost_usd, "record"
            rows.append(
                (
                    r.request_id, ts(r.timestamp), r.feature_id, r.model_id, r.provider,
                    r.latency_ms, r.ttft_ms, r.input_tokens, r.output_tokens,
                    r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens,
                    cost, source, r.finish_reason, r.error, r.session_id, r.user_segment,
                    r.prompt_template_id, r.input, r.output, r.context,
                    None if r.metadata is None else orjson.dumps(r.metadata).decode(),
                    self.ingested_at,
                )
            )  # fmt: skip
        return rows

    def _signal_row(self, s: SignalRecord) -> tuple[Any, ...]:
        metadata = None if s.metadata is None else orjson.dumps(s.metadata).decode()
        return (
            s.signal_id, s.request_id, s.session_id, s.signal_type,
            self.writer.timestamp(s.timestamp), metadata, self.ingested_at,
        )  # fmt: skip
