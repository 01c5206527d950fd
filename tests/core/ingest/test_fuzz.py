"""Property-based fuzzing of ingestion on both backends (issue 16.2).

For any generated file of request records, signals or OTLP documents — plausible records
with hostile values mixed in, and damaged lines — ingest returns, quarantines nothing
(a text file is always readable: anything wrong with it is about a line), every line is
a row, a duplicate or a reject, the warehouse holds exactly the rows reported loaded,
and ingesting the same lines again adds nothing.

Budget: ``EXAMPLES`` (40) examples per kind and backend, each file ingested twice, sized
for CI: the six tests took 34 s together on a shared 2-core machine. On the code before
issue 16 they fail within that budget (NUL on PostgreSQL, offsets past year 9999,
malformed OTLP, integers beyond 64 bits).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from llmwatch.ingest import FileResult, ingest_paths
from llmwatch.settings import Settings
from llmwatch.warehouse.models import IngestReject, Request, UserSignal

EXAMPLES = 40
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_FILES = itertools.count()

# Values a hostile or buggy producer sends: NUL, surrogates, control and wide characters,
# numbers beyond 64 bits, infinities as strings, wrong types, deep structures.
text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=40
) | st.sampled_from(["", "a\x00b", "\ud800", "\x1b[2J", "é✓😀", "x" * 300])
big_ints = st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 10**30, -1, 0])
numbers = st.integers() | big_ints | st.floats(allow_nan=False, allow_infinity=False)
timestamps = st.sampled_from(
    [
        "2026-11-01T10:00:00Z",
        "2026-11-01T10:00:00+05:30",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00-05:00",
        "2026-13-01T00:00:00Z",
        "not a date",
        1_793_577_600,
        1_793_577_600_000,
        -1,
        1e30,
    ]
) | st.datetimes().map(lambda d: d.isoformat())
json_leaf = st.none() | st.booleans() | numbers | text
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a good value, sometimes anything."""
    return st.one_of(good, good, good, json_value)


request_records = st.fixed_dictionaries(
    {
        "request_id": field(st.sampled_from([f"r{i}" for i in range(30)]) | text),
        "timestamp": field(timestamps),
        "feature_id": field(st.sampled_from(["chat", "search"]) | text),
        "model_id": field(st.sampled_from(["gpt-4o-mini-2024-07-18", "acme"]) | text),
        "latency_ms": field(st.floats(0, 1e6) | numbers),
        "input_tokens": field(st.integers(0, 10_000) | big_ints),
        "output_tokens": field(st.integers(0, 10_000) | big_ints),
    },
    optional={
        "provider": field(st.sampled_from(["openai", "anthropic"]) | text),
        "ttft_ms": field(st.floats(0, 1e5)),
        "cached_input_tokens": field(st.integers(0, 100)),
        "reasoning_tokens": field(st.integers(0, 10)),
        "cost_usd": field(st.floats(0, 10)),
        "finish_reason": field(st.sampled_from(["stop", "length"]) | text),
        "error": field(st.none() | text),
        "session_id": field(text),
        "prompt_template_id": field(text),
        "input": field(text),
        "output": field(text),
        "metadata": field(st.dictionaries(text, json_value, max_size=3)),
        "usage": json_value,
    },
)
signal_records = st.fixed_dictionaries(
    {
        "request_id": field(st.sampled_from([f"r{i}" for i in range(30)]) | text),
        "signal_type": field(st.sampled_from(["thumbs_up", "retry", "abandoned"])),
        "timestamp": field(timestamps),
    },
    optional={"session_id": field(text), "metadata": field(st.dictionaries(text, json_value))},
)


def encode(record: Any) -> bytes:
    # json (not orjson) writes lone surrogates as escapes, as a buggy producer would.
    return json.dumps(record).encode()


damage = st.sampled_from(["none", "none", "none", "truncate", "bom", "garbage", "blank"])


@st.composite
def jsonl_lines(draw: st.DrawFn, records: st.SearchStrategy[Any]) -> list[bytes]:
    lines = []
    for record in draw(st.lists(records, min_size=1, max_size=12)):
        raw = encode(record)
        how = draw(damage)
        if how == "truncate":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif how == "garbage":
            raw = draw(st.binary(max_size=60)).replace(b"\n", b" ")
        elif how == "blank":
            raw = b"   "
        lines.append(raw)
    if draw(st.booleans()):
        lines[0] = b"\xef\xbb\xbf" + lines[0]
    return lines


def attribute(key: Any, value: Any) -> dict[str, Any]:
    return {"key": key, "value": value}


any_value = st.one_of(
    st.builds(lambda v: {"stringValue": v}, text),
    st.builds(lambda v: {"intValue": v}, st.integers().map(str) | big_ints.map(str) | text),
    st.builds(lambda v: {"doubleValue": v}, numbers),
    json_value,
)
span_attributes = st.lists(
    st.one_of(
        st.builds(attribute, st.just("gen_ai.request.model"), any_value),
        st.builds(attribute, st.just("gen_ai.usage.input_tokens"), any_value),
        st.builds(attribute, st.just("gen_ai.usage.output_tokens"), any_value),
        st.builds(attribute, st.just("llmwatch.feature_id"), any_value),
        st.builds(attribute, text, any_value),
        json_value,
    ),
    max_size=6,
)
spans = st.one_of(
    st.fixed_dictionaries(
        {
            "traceId": field(st.just("t1")),
            "spanId": field(st.sampled_from(["s1", "s2", "s3"])),
            "startTimeUnixNano": field(st.just("1793577600000000000") | numbers.map(str)),
            "endTimeUnixNano": field(st.just("1793577600500000000")),
            "attributes": field(span_attributes),
        },
        optional={"status": field(st.just({"code": 2, "message": "boom"}))},
    ),
    json_value,
)
scope_spans = st.lists(st.builds(lambda s: {"spans": s}, st.lists(spans, max_size=4)), max_size=2)
otlp_documents = st.builds(
    lambda resource, scopes: {"resourceSpans": [{"resource": resource, "scopeSpans": scopes}]},
    field(st.builds(lambda a: {"attributes": a}, span_attributes)),
    field(scope_spans),
) | st.builds(lambda v: {"resourceSpans": v}, json_value)


def rows(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def ingest_twice(
    engine: Engine, folder: Path, suffix: str, content: bytes, signals: bool = False
) -> tuple[FileResult, FileResult, int]:
    """Ingest ``content``, then the same lines under another fingerprint; the rows added."""
    model = UserSignal if signals else Request
    before = rows(engine, model)
    n = next(_FILES)
    # A trailing blank line of n spaces makes every example's file a new fingerprint.
    first = folder / f"f{n}{suffix}"
    first.write_bytes(content + b"\n" + b" " * n)
    result = ingest_paths(engine, [first], Settings(), signals=signals).files[0]
    assert result.quarantined is None, result.quarantined
    added = rows(engine, model) - before
    assert added == result.loaded
    again = folder / f"f{n}-again{suffix}"
    again.write_bytes(content + b"\n" + b" " * n + b"\n ")
    repeat = ingest_paths(engine, [again], Settings(), signals=signals).files[0]
    assert repeat.quarantined is None
    assert repeat.loaded == 0
    assert rows(engine, model) - before == added
    return result, repeat, added


def assert_every_line_accounted(result: FileResult, lines: list[bytes]) -> None:
    first = lines[0].removeprefix(b"\xef\xbb\xbf")
    counted = sum(1 for line in [first, *lines[1:]] if line.strip())
    outcomes = result.loaded + result.duplicates + result.conflicts + result.rejected
    assert outcomes == counted, (result, counted)


@FUZZ
@given(lines=jsonl_lines(request_records))
def test_request_files(engine: Engine, tmp_path: Path, lines: list[bytes]) -> None:
    content = b"\n".join(lines) + b"\n"
    result, repeat, _ = ingest_twice(engine, tmp_path, ".jsonl", content)
    assert_every_line_accounted(result, lines)
    assert_every_line_accounted(repeat, lines)
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(IngestReject.file_fingerprint == result.fingerprint)
        ).scalar_one()
    assert 0 < stored <= result.rejected or stored == result.rejected == 0


@FUZZ
@given(lines=jsonl_lines(signal_records))
def test_signal_files(engine: Engine, tmp_path: Path, lines: list[bytes]) -> None:
    content = b"\n".join(lines) + b"\n"
    result, repeat, _ = ingest_twice(engine, tmp_path, ".jsonl", content, signals=True)
    assert_every_line_accounted(result, lines)
    assert_every_line_accounted(repeat, lines)


@FUZZ
@given(documents=st.lists(otlp_documents, min_size=1, max_size=3), as_lines=st.booleans())
def test_otlp_documents(
    engine: Engine, tmp_path: Path, documents: list[Any], as_lines: bool
) -> None:
    if as_lines:  # the collector's file exporter: one document per line
        content, suffix = b"\n".join(encode(d) for d in documents), ".jsonl"
    else:
        content, suffix = encode(documents[0]), ".json"
    ingest_twice(engine, tmp_path, suffix, content)
