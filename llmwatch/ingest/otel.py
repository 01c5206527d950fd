"""OpenTelemetry GenAI spans (OTLP/JSON trace exports) mapped onto request records.

An export document is ``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"spans":
[...]}]}]}`` as written by the OTLP/JSON exporters and the collector's file exporter
(one document per line). Spans without GenAI attributes (HTTP, DB, app spans in the
same trace) are skipped, not rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

STATUS_CODE_ERROR = 2
# metadata["usage"] of a failed call that reported no usage: its cost stays unknown.
USAGE_MISSING = "missing"
_GENAI_MARKERS = ("gen_ai.request.model", "gen_ai.operation.name", "gen_ai.response.model")


@dataclass(frozen=True)
class SpanRecord:
    """A GenAI span as a SPEC 3.1 dictionary, or the reason it cannot be one.

    Neither record nor problem: the span is not a GenAI span (skipped, not rejected).
    """

    span_id: str
    record: dict[str, Any] | None
    problem: str | None = None


class MalformedOtlp(ValueError):
    """A part of an export document that does not have the OTLP/JSON shape."""


def _list(value: Any, where: str) -> list[Any]:
    """A list field; absent or null is empty, anything else but a list is malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedOtlp(f"{where} is {_kind(value)}, not a list")
    return value


def _object(value: Any, where: str, *, optional: bool = False) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise MalformedOtlp(f"{where} is {_kind(value)}, not an object")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def attribute_value(value: Any, where: str = "value") -> Any:
    """The Python value of an OTLP ``AnyValue`` (int64s arrive as strings in JSON)."""
    value = _object(value, where, optional=True)
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        raw = value["intValue"]
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise MalformedOtlp(f"{where}.intValue is {_kind(raw)}, not an integer")
        try:
            return int(raw)
        except ValueError:
            raise MalformedOtlp(f"{where}.intValue {str(raw)[:40]!r} is not an integer") from None
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        array = _object(value["arrayValue"], f"{where}.arrayValue", optional=True)
        items = _list(array.get("values"), f"{where}.arrayValue.values")
        return [attribute_value(v, f"{where}.arrayValue.values[]") for v in items]
    if "kvlistValue" in value:
        kvlist = _object(value["kvlistValue"], f"{where}.kvlistValue", optional=True)
        return attributes(kvlist.get("values"), f"{where}.kvlistValue.values")
    return None


def attributes(items: Any, where: str = "attributes") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in _list(items, where):
        item = _object(item, f"{where}[]")
        key = item.get("key")
        if not isinstance(key, str):
            raise MalformedOtlp(f"{where}[] has no string key")
        out[key] = attribute_value(item.get("value"), f"attribute {key[:60]!r}")
    return out


def is_otlp_document(document: Any) -> bool:
    return isinstance(document, dict) and "resourceSpans" in document


def spans(document: dict[str, Any], feature_attributes: list[str]) -> Iterator[SpanRecord]:
    """The GenAI spans of one export document, mapped to records.

    A malformed span is one problem and its siblings still count; a malformed resource
    or scope level is one problem for everything under it.
    """
    try:
        resources = _list(document.get("resourceSpans"), "resourceSpans")
    except MalformedOtlp as exc:
        yield SpanRecord("?", None, str(exc))
        return
    for index, resource_spans in enumerate(resources):
        where = f"resourceSpans[{index}]"
        try:
            group = _object(resource_spans, where)
            resource_object = _object(group.get("resource"), f"{where}.resource", optional=True)
            resource = attributes(resource_object.get("attributes"), f"{where}.resource.attributes")
            span_lists = [
                _list(_object(scope, f"{where}.scopeSpans[]").get("spans"), f"{where}.spans")
                for scope in _list(group.get("scopeSpans"), f"{where}.scopeSpans")
            ]
        except MalformedOtlp as exc:
            yield SpanRecord("?", None, str(exc))
            continue
        for span_list in span_lists:
            for span in span_list:
                yield _span(span, resource, feature_attributes)


def _span(span: Any, resource: dict[str, Any], feature_attributes: list[str]) -> SpanRecord:
    if not isinstance(span, dict):
        return SpanRecord("?", None, f"span is {_kind(span)}, not an object")
    span_id = str(span.get("spanId", "?"))[:64]
    try:
        span_attributes = attributes(span.get("attributes"))
        if not any(marker in span_attributes for marker in _GENAI_MARKERS):
            return SpanRecord(span_id, None)
        return _map_span(span, span_attributes, resource, feature_attributes)
    except MalformedOtlp as exc:
        return SpanRecord(span_id, None, f"span {span_id}: {exc}")


def _map_span(
    span: dict[str, Any],
    attrs: dict[str, Any],
    resource: dict[str, Any],
    feature_attributes: list[str],
) -> SpanRecord:
    span_id = str(span.get("spanId", "?"))[:64]
    feature = next(
        (src[name] for name in feature_attributes for src in (attrs, resource) if name in src),
        None,
    )
    if feature is None:
        return SpanRecord(span_id, None, f"span {span_id}: none of {feature_attributes} is set")
    try:
        start = int(span["startTimeUnixNano"])
        end = int(span["endTimeUnixNano"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return SpanRecord(span_id, None, f"span {span_id}: missing or bad start/end time")
    status = _object(span.get("status"), "status", optional=True)
    error = None
    if status.get("code") in (STATUS_CODE_ERROR, "STATUS_CODE_ERROR"):
        error = status.get("message") or attrs.get("error.type") or "error"
    finish_reasons = attrs.get("gen_ai.response.finish_reasons")
    finish_reason = (
        finish_reasons[0] if isinstance(finish_reasons, list) and finish_reasons else None
    )
    # A call that failed before the provider reported usage is still a request (it
    # counts in the error rate): no tokens seen, and its cost is unknown, not 0.
    usage_missing = error is not None and (
        "gen_ai.usage.input_tokens" not in attrs or "gen_ai.usage.output_tokens" not in attrs
    )
    metadata = {
        "usage": USAGE_MISSING if usage_missing else None,
        "trace_id": span.get("traceId"),
        "span_id": span_id,
        "response_model": attrs.get("gen_ai.response.model"),
        "response_id": attrs.get("gen_ai.response.id"),
        "operation": attrs.get("gen_ai.operation.name"),
    }
    record: dict[str, Any] = {
        "request_id": attrs.get("llmwatch.request_id") or f"{span.get('traceId')}:{span_id}",
        "timestamp": start / 1e9,
        "feature_id": feature,
        "model_id": attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model"),
        "provider": attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"),
        "latency_ms": (end - start) / 1e6,
        "input_tokens": attrs.get("gen_ai.usage.input_tokens", 0 if usage_missing else None),
        "output_tokens": attrs.get("gen_ai.usage.output_tokens", 0 if usage_missing else None),
        "cached_input_tokens": attrs.get("gen_ai.usage.cache_read.input_tokens", 0),
        "cache_write_tokens": attrs.get("gen_ai.usage.cache_creation.input_tokens", 0),
        "finish_reason": finish_reason,
        "error": error,
        "session_id": attrs.get("session.id"),
        "user_segment": attrs.get("llmwatch.user_segment"),
        "prompt_template_id": attrs.get("llmwatch.prompt_template_id"),
        "input": _text(attrs.get("gen_ai.input.messages")),
        "output": _text(attrs.get("gen_ai.output.messages")),
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }
    if "llmwatch.ttft_ms" in attrs:
        record["ttft_ms"] = attrs["llmwatch.ttft_ms"]
    return SpanRecord(span_id, record)


def _text(messages: Any) -> str | None:
    """Plain text of GenAI messages (a JSON string or list of {role, parts}), if any."""
    if messages is None:
        return None
    if isinstance(messages, str):
        try:
            messages = orjson.loads(messages)
        except orjson.JSONDecodeError:
            return messages
    if not isinstance(messages, list):
        return str(messages)
    texts = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        for part in message.get("parts") or []:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("content", "")))
    return "\n".join(texts) if texts else None
