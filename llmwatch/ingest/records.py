"""Validation of request records (SPEC 3.1) and user signals (SPEC 3.2).

Each JSON line is parsed and validated in one pass by pydantic-core. Numbers are strict
(``"12"`` is not a token count, ``true`` is not 1) because a producer that sends strings
has a bug worth seeing. Timestamps are ISO-8601 strings (no offset means UTC) or epoch
seconds. Usage blocks as OpenAI or Anthropic return them are accepted in place of the
flat token fields and normalised to the SPEC convention.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from llmwatch.settings import IngestSettings

# Timestamps outside this range are a unit mistake (milliseconds) or garbage; checked
# after conversion to UTC, so an offset cannot carry a value past what datetime and the
# warehouse hold.
_MIN_EPOCH = 946_684_800  # 2000-01-01
_MAX_EPOCH = 4_102_444_800  # 2100-01-01
_MIN_TS = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)
# The warehouse stores token counts as signed 64-bit integers.
INT64_MAX = 2**63 - 1
# Characters no backend stores in text: NUL (PostgreSQL refuses it) and lone UTF-16
# surrogates (not encodable as UTF-8 at all). Valid JSON can only carry them as escapes.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

SIGNAL_TYPES = ("thumbs_up", "thumbs_down", "correction", "follow_up", "retry", "abandoned")


def _parse_timestamp(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValueError("timestamp must be an ISO-8601 string or epoch seconds")
    if isinstance(value, int | float):
        if not _MIN_EPOCH <= value <= _MAX_EPOCH:
            raise ValueError(f"epoch seconds {value} out of range (milliseconds given?)")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"timestamp {value[:40]!r} is not ISO-8601") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        out_of_range = f"timestamp {value[:40]!r} outside 2000-01-01 .. 2100-01-01 (UTC)"
        try:
            parsed = parsed.astimezone(UTC)
        except OverflowError:  # an offset pushed it past year 1 or 9999
            raise ValueError(out_of_range) from None
        if not _MIN_TS <= parsed < _MAX_TS:
            raise ValueError(out_of_range)
        return parsed
    raise ValueError("timestamp must be an ISO-8601 string or epoch seconds")


Timestamp = Annotated[datetime, BeforeValidator(_parse_timestamp)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]
Millis = Annotated[float, Field(ge=0, allow_inf_nan=False)]
NonEmpty = Annotated[str, Field(min_length=1, strict=True)]


class RequestRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    request_id: NonEmpty
    timestamp: Timestamp
    feature_id: NonEmpty
    model_id: NonEmpty
    provider: str | None = None
    latency_ms: Millis
    ttft_ms: Millis | None = None
    input_tokens: Count
    output_tokens: Count
    cached_input_tokens: Count = 0
    cache_write_tokens: Count = 0
    reasoning_tokens: Count = 0
    cost_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    finish_reason: str | None = None
    error: str | None = None
    session_id: str | None = None
    user_segment: str | None = None
    prompt_template_id: str | None = None
    input: str | None = None
    output: str | None = None
    context: str | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _usage_block(cls, data: Any) -> Any:
        if isinstance(data, dict) and "usage" in data:
            data = dict(data)
            usage = data.pop("usage")
            if usage is not None:
                if not isinstance(usage, dict):
                    raise ValueError("usage must be an object")
                for key, value in normalise_usage(usage, data.get("provider")).items():
                    data.setdefault(key, value)
        return data

    @model_validator(mode="after")
    def _consistent_tokens(self) -> RequestRecord:
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                "cached_input_tokens + cache_write_tokens exceed input_tokens "
                "(input_tokens must include cached tokens; see SPEC 3.1)"
            )
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens (they are part of them)")
        return self


def _int(usage: dict[str, Any], *path: str) -> Any:
    value: Any = usage
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _add(*values: Any) -> Any:
    # Leave wrong types in place so that validation reports them rather than crashing here.
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return next(v for v in values if not (isinstance(v, int) and not isinstance(v, bool)))
    return sum(values)


def normalise_usage(usage: dict[str, Any], provider: Any = None) -> dict[str, Any]:
    """Flat SPEC token fields from an OpenAI (chat or responses) or Anthropic usage block.

    Anthropic reports ``input_tokens`` without cache reads and writes; SPEC (and OpenAI,
    OTel and genai-prices) count them inside the input, so they are added back.
    """
    out: dict[str, Any] = {}
    anthropic = (
        "cache_read_input_tokens" in usage
        or "cache_creation_input_tokens" in usage
        or provider == "anthropic"
    )
    if anthropic and "input_tokens" in usage:
        read = usage.get("cache_read_input_tokens") or 0
        write = usage.get("cache_creation_input_tokens") or 0
        out["input_tokens"] = _add(usage["input_tokens"], read, write)
        out["cached_input_tokens"] = read
        out["cache_write_tokens"] = write
        if "output_tokens" in usage:
            out["output_tokens"] = usage["output_tokens"]
        return out
    if "prompt_tokens" in usage:  # OpenAI chat completions
        out["input_tokens"] = usage["prompt_tokens"]
        out["output_tokens"] = usage.get("completion_tokens")
        cached = _int(usage, "prompt_tokens_details", "cached_tokens")
        reasoning = _int(usage, "completion_tokens_details", "reasoning_tokens")
    else:  # OpenAI responses API and OTel-style names
        out["input_tokens"] = usage.get("input_tokens")
        out["output_tokens"] = usage.get("output_tokens")
        cached = _int(usage, "input_tokens_details", "cached_tokens")
        reasoning = _int(usage, "output_tokens_details", "reasoning_tokens")
    if cached is not None:
        out["cached_input_tokens"] = cached
    if reasoning is not None:
        out["reasoning_tokens"] = reasoning
    return {k: v for k, v in out.items() if v is not None}


class SignalRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    request_id: NonEmpty
    session_id: str | None = None
    signal_type: NonEmpty
    timestamp: Timestamp
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _known_type(self) -> SignalRecord:
        if self.signal_type not in SIGNAL_TYPES:
            raise ValueError(f"signal_type {self.signal_type!r} is not one of {SIGNAL_TYPES}")
        return self

    @property
    def signal_id(self) -> str:
        key = "\x1f".join(
            (self.request_id, self.signal_type, self.timestamp.isoformat(), self.session_id or "")
        )
        return hashlib.sha256(key.encode()).hexdigest()


_ID_FIELDS = {
    RequestRecord: (
        "request_id",
        "feature_id",
        "model_id",
        "provider",
        "session_id",
        "user_segment",
        "prompt_template_id",
        "finish_reason",
    ),
    SignalRecord: ("request_id", "session_id", "signal_type"),
}
_TEXT_FIELDS = {RequestRecord: ("input", "output", "context", "error"), SignalRecord: ()}


def size_problem(
    record: RequestRecord | SignalRecord, limits: IngestSettings, line_bytes: int | None = None
) -> str | None:
    """Why a record's fields are too large to keep, or None when they fit.

    ``line_bytes``, the size of the JSON line, lets the common case (a line shorter
    than the limits, so no field can exceed them) skip the field checks.
    """
    values = record.__dict__
    if line_bytes is None or line_bytes > limits.max_id_chars:
        for name in _ID_FIELDS[type(record)]:
            value = values[name]
            if value is not None and len(value) > limits.max_id_chars:
                return f"{name} has {len(value)} characters (limit {limits.max_id_chars})"
    if line_bytes is None or line_bytes > limits.max_text_chars:
        for name in _TEXT_FIELDS[type(record)]:
            value = values[name]
            if value is not None and len(value) > limits.max_text_chars:
                return f"{name} has {len(value)} characters (limit {limits.max_text_chars})"
    return None


# Identifier columns narrower than the usual 256 characters.
_COLUMN_CHARS = {"finish_reason": 64}


def column_problem(record: RequestRecord | SignalRecord) -> str | None:
    for name, width in _COLUMN_CHARS.items():
        value = record.__dict__.get(name)
        if value is not None and len(value) > width:
            return f"{name} has {len(value)} characters (limit {width})"
    return None


def storage_problem(record: RequestRecord | SignalRecord, raw: bytes | None = None) -> str | None:
    """Why the warehouse cannot store a record's values as they are, or None.

    NUL and lone surrogates can only arrive as JSON escapes, so a line without a
    ``\\u`` escape skips the text scan (``raw`` is the JSON line, when there is one).
    """
    values = record.__dict__
    if raw is None or b"\\u" in raw:
        for name in _ID_FIELDS[type(record)] + _TEXT_FIELDS[type(record)]:
            value = values[name]
            if value is not None and _UNSTORABLE.search(value):
                return f"{name} holds {_unstorable_name(value)}, which cannot be stored"
    metadata = values["metadata"]
    if metadata is not None:
        return _json_problem(metadata, "metadata")
    return None


def _unstorable_name(text: str) -> str:
    found = _UNSTORABLE.search(text)
    return "a NUL character" if found and found.group() == "\x00" else "a lone surrogate"


def _json_problem(value: Any, where: str) -> str | None:
    """NUL, surrogates or integers beyond 64 bits anywhere in a JSON value."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            return f"{where} holds {_unstorable_name(value)}, which cannot be stored"
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if not -(2**63) <= value <= INT64_MAX:
            return f"{where} holds an integer beyond 64 bits"
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = _json_problem(key, f"{where} key") or _json_problem(item, f"{where}.{key}")
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = _json_problem(item, f"{where}[]")
            if problem is not None:
                return problem
    return None


def describe_error(exc: ValidationError) -> str:
    """A one-line reason from a pydantic error, naming the field(s) at fault."""
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        location = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "json_invalid":
            return f"invalid JSON: {error['ctx'].get('error', message)}"
        parts.append(f"{location}: {message}" if location else message)
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
