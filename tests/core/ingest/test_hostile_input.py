"""Hostile input never stops ingestion: every line is loaded or rejected with a reason,
and a file that cannot be read at all is quarantined (issue 16.1), on both backends."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from llmwatch.alerts import list_alerts
from llmwatch.ingest import ingest_paths
from llmwatch.ingest import reader as reader_module
from llmwatch.settings import Settings
from llmwatch.warehouse.models import IngestedFile, IngestReject, QuarantinedFile, Request
from tests.core.ingest.test_loader import record

NUL = "a\x00b"
TEXT_FIELDS = (
    "request_id",
    "feature_id",
    "model_id",
    "provider",
    "finish_reason",
    "error",
    "session_id",
    "user_segment",
    "prompt_template_id",
    "input",
    "output",
    "context",
)


def raw_tokens(literal: bytes) -> bytes:
    return orjson.dumps(record(9)).replace(b'"input_tokens":1009', b'"input_tokens":' + literal)


def raw_metadata(literal: bytes) -> bytes:
    return orjson.dumps(record(9))[:-1] + b',"metadata":' + literal + b"}"


# (case id, the bad line, a piece of the expected reason)
BAD_LINES: list[tuple[str, bytes, str]] = [
    (
        "offset-below-min",
        orjson.dumps(record(9, timestamp="0001-01-01T00:00:00+01:00")),
        "timestamp",
    ),
    (
        "offset-above-max",
        orjson.dumps(record(9, timestamp="9999-12-31T23:00:00-05:00")),
        "timestamp",
    ),
    ("year-1", orjson.dumps(record(9, timestamp="0001-01-01T00:00:00Z")), "timestamp"),
    ("float-1e30-tokens", raw_tokens(b"1e30"), "input_tokens"),
    ("int-beyond-64-bits", raw_tokens(b"9" * 30), "input_tokens"),
    ("int-beyond-64-bits-in-metadata", raw_metadata(b'{"n":' + b"9" * 30 + b"}"), "metadata"),
    ("nul-in-metadata-value", orjson.dumps(record(9, metadata={"k": NUL})), "NUL"),
    ("nul-in-metadata-key", orjson.dumps(record(9, metadata={NUL: 1})), "NUL"),
    ("lone-surrogate", orjson.dumps(record(9, feature_id="@")).replace(b"@", b"\\ud800"), "JSON"),
    ("raw-nul-byte", b'{"request_id": "r9\x00", ', "invalid JSON"),
    ("long-finish-reason", orjson.dumps(record(9, finish_reason="x" * 100)), "finish_reason"),
    *[
        (f"nul-in-{name}", orjson.dumps(record(9, **{name: NUL})), "NUL")
        for name in TEXT_FIELDS
    ],
]  # fmt: skip


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def good_bad_good(path: Path, bad: bytes) -> Path:
    path.write_bytes(
        orjson.dumps(record(1)) + b"\n" + bad + b"\n" + orjson.dumps(record(2)) + b"\n"
    )
    return path


@pytest.mark.parametrize(("case", "bad", "reason"), BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_a_hostile_line_is_rejected_and_the_rest_loads(
    engine: Engine, tmp_path: Path, case: str, bad: bytes, reason: str
) -> None:
    path = good_bad_good(tmp_path / f"{case}.jsonl", bad)
    summary = ingest_paths(engine, [path], Settings())
    result = summary.files[0]
    assert (result.loaded, result.rejected) == (2, 1)
    assert result.first_rejects[0][0] == 2
    assert reason in result.first_rejects[0][1]
    assert count(engine, Request) == 2
    with engine.connect() as conn:
        stored = conn.execute(select(IngestReject.line_no, IngestReject.excerpt)).one()
    assert stored.line_no == 2
    assert "\x00" not in stored.excerpt


@pytest.mark.parametrize(
    "bad",
    [
        {"request_id": "r1", "signal_type": "retry", "timestamp": "9999-12-31T23:00:00-05:00"},
        {"request_id": "r1", "signal_type": "retry", "timestamp": "2026-11-01T10:00:00Z",
         "session_id": NUL},
        {"request_id": "r1", "signal_type": "retry", "timestamp": "2026-11-01T10:00:00Z",
         "metadata": {"k": NUL}},
    ],
    ids=["timestamp-overflow", "nul-session", "nul-metadata"],
)  # fmt: skip
def test_hostile_signals_are_rejected(engine: Engine, tmp_path: Path, bad: dict[str, Any]) -> None:
    good = {"request_id": "r1", "signal_type": "thumbs_up", "timestamp": "2026-11-01T10:00:00Z"}
    path = tmp_path / "signals.jsonl"
    path.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    summary = ingest_paths(engine, [path], Settings(), signals=True)
    assert (summary.total("loaded"), summary.total("rejected")) == (1, 1)


def test_a_utf8_bom_is_accepted(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(record(1)) + b"\n" + orjson.dumps(record(2)))
    signals = tmp_path / "bom-signals.jsonl"
    signal = {"request_id": "r1", "signal_type": "thumbs_up", "timestamp": "2026-11-01T10:00:00Z"}
    signals.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(signal) + b"\n")
    otlp = tmp_path / "bom.json"
    otlp.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(otlp_document([genai_span()])))
    assert ingest_paths(engine, [path, otlp], Settings()).total("loaded") == 3
    assert ingest_paths(engine, [signals], Settings(), signals=True).total("loaded") == 1


# --- OTLP -----------------------------------------------------------------------------


def attr(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def genai_span(span_id: str = "s1", **changes: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": "t1",
        "spanId": span_id,
        "startTimeUnixNano": "1793577600000000000",
        "endTimeUnixNano": "1793577600500000000",
        "attributes": [
            attr("gen_ai.request.model", {"stringValue": "gpt-4o-mini-2024-07-18"}),
            attr("gen_ai.provider.name", {"stringValue": "openai"}),
            attr("gen_ai.usage.input_tokens", {"intValue": "100"}),
            attr("gen_ai.usage.output_tokens", {"intValue": "20"}),
            attr("llmwatch.feature_id", {"stringValue": "chat"}),
        ],
    }
    span.update(changes)
    return span


def otlp_document(spans: list[Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}


def span_with(*extra: Any, tokens: Any = None, model: Any = None) -> dict[str, Any]:
    """A GenAI span with extra attribute entries, or with its input tokens or model replaced."""
    attributes = genai_span()["attributes"]
    if tokens is not None:
        attributes[2] = attr("gen_ai.usage.input_tokens", {"intValue": tokens})
    if model is not None:
        attributes[0] = attr("gen_ai.request.model", {"stringValue": model})
    return genai_span("s2", attributes=[*attributes, *extra])


BAD_SPANS: list[tuple[str, Any]] = [
    ("attribute-without-key", span_with({"value": {"intValue": "1"}})),
    ("int-not-an-int", span_with(tokens="notanint")),
    ("null-attribute", span_with(None)),
    ("attributes-not-a-list", genai_span("s2", attributes={"a": 1})),
    ("null-span", None),
    ("span-not-an-object", "span"),
    ("array-value-not-an-object", span_with(attr("x", {"arrayValue": 3}))),
    ("value-not-an-object", span_with({"key": "x", "value": 7})),
    ("huge-start-time", genai_span("s2", startTimeUnixNano=1e400)),
    ("tokens-beyond-64-bits", span_with(tokens="9" * 30)),
    ("nul-in-model", span_with(model=NUL)),
]  # fmt: skip


@pytest.mark.parametrize(("case", "bad"), BAD_SPANS, ids=[c[0] for c in BAD_SPANS])
def test_a_malformed_span_is_rejected_and_its_siblings_load(
    engine: Engine, tmp_path: Path, case: str, bad: Any
) -> None:
    path = tmp_path / f"{case}.json"
    # 1e400 is not JSON orjson writes; spell it by hand.
    raw = orjson.dumps(otlp_document([genai_span("s1"), bad, genai_span("s3")]))
    path.write_bytes(raw.replace(b'"startTimeUnixNano":Infinity', b'"startTimeUnixNano":1e400'))
    result = ingest_paths(engine, [path], Settings()).files[0]
    assert (result.loaded, result.rejected) == (2, 1), result.first_rejects
    assert count(engine, Request) == 2


@pytest.mark.parametrize(
    "document",
    [
        {"resourceSpans": {"not": "a list"}},
        {"resourceSpans": "spans"},
        {"resourceSpans": 3},
        {"resourceSpans": [None]},
        {"resourceSpans": [{"scopeSpans": [None]}]},
        {"resourceSpans": [{"scopeSpans": {"spans": []}}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]},
        {"resourceSpans": [{"resource": [], "scopeSpans": []}]},
        {"resourceSpans": [{"resource": {"attributes": [{"value": {}}]}, "scopeSpans": []}]},
    ],
    ids=lambda d: orjson.dumps(d).decode()[:50],
)
def test_a_malformed_otlp_document_is_one_reject(
    engine: Engine, tmp_path: Path, document: Any
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(orjson.dumps(document))
    line = tmp_path / "bad.jsonl"
    line.write_bytes(orjson.dumps(document) + b"\n" + orjson.dumps(record(1)) + b"\n")
    summary = ingest_paths(engine, [path, line], Settings())
    assert [f.rejected for f in summary.files] == [1, 1]
    assert summary.total("loaded") == 1


# --- files that cannot be read --------------------------------------------------------


def test_a_corrupt_gzip_is_quarantined_and_the_rest_loads(engine: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    payload = b"\n".join(orjson.dumps(record(i)) for i in range(100)) + b"\n"
    compressed = gzip.compress(payload)
    (inbox / "a-cut.jsonl.gz").write_bytes(compressed[: len(compressed) // 2])
    (inbox / "b-garbage.json.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (inbox / "c-good.jsonl").write_bytes(orjson.dumps(record(500)) + b"\n")

    summary = ingest_paths(engine, [inbox], Settings())

    assert [bool(f.quarantined) for f in summary.files] == [True, True, False]
    assert summary.total("loaded") == 1
    assert count(engine, Request) == 1  # nothing of a quarantined file is loaded
    with engine.connect() as conn:
        quarantined = conn.execute(select(QuarantinedFile.path, QuarantinedFile.reason)).all()
        alerts = list_alerts(conn)
    assert sorted(Path(p).name for p, _ in quarantined) == ["a-cut.jsonl.gz", "b-garbage.json.gz"]
    assert all(reason for _, reason in quarantined)
    assert [a["kind"] for a in alerts] == ["ingest_rejects", "ingest_rejects"]
    assert count(engine, IngestedFile) == 1

    again = ingest_paths(engine, [inbox], Settings())  # known bad: no new alert
    assert [f.quarantined for f in again.files[:2]] == [f.quarantined for f in summary.files[:2]]
    with engine.connect() as conn:
        assert len(list_alerts(conn)) == 2
        assert conn.execute(select(func.count()).select_from(QuarantinedFile)).scalar_one() == 2


def test_an_io_error_quarantines_the_file(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "a.jsonl"
    bad.write_bytes(orjson.dumps(record(1)) + b"\n")
    good = tmp_path / "b.jsonl"
    good.write_bytes(orjson.dumps(record(2)) + b"\n")
    real_open = reader_module.open_bytes

    def failing_open(path: Path) -> Any:
        if path.name == "a.jsonl":
            raise OSError(5, "Input/output error")
        return real_open(path)

    monkeypatch.setattr(reader_module, "open_bytes", failing_open)
    summary = ingest_paths(engine, [bad, good], Settings())
    assert "Input/output error" in (summary.files[0].quarantined or "")
    assert summary.files[1].loaded == 1
