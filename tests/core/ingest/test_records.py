from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from llmwatch.ingest.records import (
    RequestRecord,
    SignalRecord,
    describe_error,
    normalise_usage,
    size_problem,
)
from llmwatch.settings import IngestSettings

BASE = {
    "request_id": "r1",
    "timestamp": "2026-11-01T10:00:00Z",
    "feature_id": "chat",
    "model_id": "gpt-4o-mini",
    "latency_ms": 100.0,
    "input_tokens": 10,
    "output_tokens": 5,
}


def parse(**changes: object) -> RequestRecord:
    data = {**BASE, **changes}
    data = {k: v for k, v in data.items() if v is not ...}
    return RequestRecord.model_validate_json(orjson.dumps(data))


def reason(**changes: object) -> str:
    with pytest.raises(ValidationError) as info:
        parse(**changes)
    return describe_error(info.value)


def test_valid_minimal_record() -> None:
    record = parse()
    assert record.timestamp == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert (record.cached_input_tokens, record.cache_write_tokens, record.reasoning_tokens) == (
        0,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),  # no offset: UTC
        (1793527200, datetime(2026, 11, 1, 10, tzinfo=UTC)),
        (1793527200.5, datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_are_stored_as_utc(value: object, expected: datetime) -> None:
    assert parse(timestamp=value).timestamp == expected


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"input_tokens": "10"}, "input_tokens: Input should be a valid integer"),
        ({"input_tokens": True}, "input_tokens"),
        ({"output_tokens": -1}, "output_tokens: Input should be greater than or equal to 0"),
        ({"latency_ms": -0.5}, "latency_ms"),
        ({"cost_usd": -1}, "cost_usd"),
        ({"model_id": ...}, "model_id: Field required"),
        ({"request_id": ""}, "request_id"),
        ({"timestamp": 1793527200000}, "milliseconds given?"),
        ({"timestamp": "yesterday"}, "is not ISO-8601"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"cached_input_tokens": 11}, "must include cached tokens"),
        ({"reasoning_tokens": 6}, "reasoning_tokens exceed output_tokens"),
    ],
)
def test_invalid_records_say_why(changes: dict[str, object], fragment: str) -> None:
    assert fragment in reason(**changes)


def test_truncated_line_is_invalid_json() -> None:
    with pytest.raises(ValidationError) as info:
        RequestRecord.model_validate_json(orjson.dumps(BASE)[:-10])
    assert describe_error(info.value).startswith("invalid JSON")


def test_anthropic_usage_counts_cache_inside_input() -> None:
    usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 5,
        "output_tokens": 7,
    }
    record = parse(input_tokens=..., output_tokens=..., usage=usage)
    assert (record.input_tokens, record.cached_input_tokens, record.cache_write_tokens) == (
        115,
        100,
        5,
    )
    assert record.output_tokens == 7


def test_openai_chat_usage_block() -> None:
    usage = {
        "prompt_tokens": 50,
        "completion_tokens": 20,
        "prompt_tokens_details": {"cached_tokens": 32},
        "completion_tokens_details": {"reasoning_tokens": 4},
    }
    record = parse(input_tokens=..., output_tokens=..., usage=usage)
    assert (record.input_tokens, record.cached_input_tokens) == (50, 32)
    assert (record.output_tokens, record.reasoning_tokens) == (20, 4)


def test_usage_with_wrong_types_is_rejected_not_crashing() -> None:
    usage = {"input_tokens": "ten", "cache_read_input_tokens": 3, "output_tokens": 1}
    assert "input_tokens" in reason(input_tokens=..., output_tokens=..., usage=usage)


def test_normalise_usage_openai_responses_style() -> None:
    out = normalise_usage(
        {"input_tokens": 9, "output_tokens": 3, "input_tokens_details": {"cached_tokens": 4}}
    )
    assert out == {"input_tokens": 9, "output_tokens": 3, "cached_input_tokens": 4}


def test_size_limits() -> None:
    limits = IngestSettings(max_text_chars=10, max_id_chars=11)
    assert size_problem(parse(output="x" * 11), limits) == "output has 11 characters (limit 10)"
    assert size_problem(parse(request_id="a" * 12), limits) == (
        "request_id has 12 characters (limit 11)"
    )
    assert size_problem(parse(output="x" * 10, request_id="a" * 11), limits) is None


def test_signal_ids_are_stable_and_types_checked() -> None:
    data = {
        "request_id": "r1",
        "session_id": "s",
        "signal_type": "thumbs_up",
        "timestamp": "2026-11-01T10:00:00Z",
    }
    first = SignalRecord.model_validate_json(orjson.dumps(data))
    again = SignalRecord.model_validate_json(orjson.dumps({**data, "timestamp": 1793527200}))
    assert first.signal_id == again.signal_id
    with pytest.raises(ValidationError, match="not one of"):
        SignalRecord.model_validate_json(orjson.dumps({**data, "signal_type": "meh"}))
