"""Regenerate the shipped sample under examples/ (deterministic: same bytes every run).

    python examples/make_sample.py

Writes three days of request records and signals for three features, an OTLP/JSON
trace export, and a list of the lines that are malformed on purpose
(``expected_rejects.json``), which the tests and the README's demo check against.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "sample"
START = datetime(2026, 11, 2, tzinfo=UTC)
FEATURES = {
    "support_chat": ("gpt-4o-mini-2024-07-18", "openai"),
    "rag_qa": ("claude-3-5-haiku-20241022", "anthropic"),
    "extraction": ("gpt-4o-2024-08-06", "openai"),
}
SEGMENTS = ("free", "pro", "enterprise")
QUESTIONS = {
    "support_chat": [
        "How do I reset my password?",
        "Why was I charged twice this month?",
        "Can I change my plan to annual billing?",
        "The app crashes when I upload.",
    ],
    "rag_qa": [
        "What does the travel policy say about per diem?",
        "Who approves overtime?",
        "How many vacation days carry over?",
        "Where is the security incident runbook?",
    ],
    "extraction": [
        "Extract the invoice number and total from: INV-{n} total ${n}.50",
        "Extract sender and date from: From Ana, sent 2026-10-{d}",
    ],
}


def _record(rng: random.Random, i: int, ts: datetime) -> dict[str, object]:
    feature = rng.choice(list(FEATURES))
    model, provider = FEATURES[feature]
    question = rng.choice(QUESTIONS[feature]).format(n=rng.randint(100, 999), d=rng.randint(10, 28))
    input_tokens = int(rng.lognormvariate(6.5 if feature == "rag_qa" else 5.5, 0.4))
    output_tokens = int(rng.lognormvariate(5.0, 0.5))
    latency = rng.lognormvariate(6.8, 0.35)
    record: dict[str, object] = {
        "request_id": f"req-{i:06d}",
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
        "feature_id": feature,
        "model_id": model,
        "provider": provider,
        "latency_ms": round(latency, 1),
        "ttft_ms": round(latency * rng.uniform(0.15, 0.35), 1),
        "finish_reason": "stop" if rng.random() > 0.01 else "length",
        "error": None,
        "session_id": f"sess-{i // 4:05d}",
        "user_segment": rng.choice(SEGMENTS),
        "prompt_template_id": f"{feature}-v3",
        "input": question,
        "output": f"Here is what I found about: {question.lower()}",
        "metadata": {"region": rng.choice(["eu", "us"])},
    }
    if provider == "anthropic":  # Anthropic usage block: input excludes cache reads/writes
        cached = rng.choice([0, 0, 512, 1024])
        record["usage"] = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0,
        }
        record["context"] = "Policy excerpt: employees may carry over up to 5 vacation days."
    else:
        record["input_tokens"] = input_tokens
        record["output_tokens"] = output_tokens
        record["cached_input_tokens"] = min(input_tokens, rng.choice([0, 0, 0, 128]))
    if rng.random() < 0.015:
        record["error"] = "upstream timeout"
        record["finish_reason"] = "error"
    return record


MALFORMED = [
    (
        b'{"request_id": "bad-truncated", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "rag',
        "invalid JSON",
    ),
    (
        b'{"request_id": "bad-types", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "rag_qa", '
        b'"model_id": "gpt-4o-mini-2024-07-18", "latency_ms": 10, "input_tokens": "120", '
        b'"output_tokens": 5}',
        "input_tokens",
    ),
    (
        b'{"request_id": "bad-negative", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "rag_qa", '
        b'"model_id": "gpt-4o-mini-2024-07-18", "latency_ms": -3, "input_tokens": 1, '
        b'"output_tokens": 5}',
        "latency_ms",
    ),
    (
        b'{"request_id": "bad-\xff\xfe-utf8", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "x", '
        b'"model_id": "m", "latency_ms": 1, "input_tokens": 1, "output_tokens": 1}',
        "UTF-8",
    ),
    (
        b'{"request_id": "bad-missing", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "rag_qa", '
        b'"latency_ms": 1, "input_tokens": 1, "output_tokens": 1}',
        "model_id",
    ),
    (
        b'{"request_id": "bad-huge", "timestamp": "2026-11-02T01:00:00Z", "feature_id": "rag_qa", '
        b'"model_id": "m", "latency_ms": 1, "input_tokens": 1, "output_tokens": 1, "output": "'
        + b"x" * 250_000
        + b'"}',
        "output has 250000 characters",
    ),
    (
        b'{"request_id": "bad-epoch-ms", "timestamp": 1793577600000, "feature_id": "rag_qa", '
        b'"model_id": "m", "latency_ms": 1, "input_tokens": 1, "output_tokens": 1}',
        "out of range",
    ),
    (b"not json at all", "invalid JSON"),
]


def _otlp_export(rng: random.Random) -> dict[str, object]:
    spans = []
    for i in range(40):
        start = int((START + timedelta(minutes=7 * i)).timestamp() * 1e9)
        duration = int(rng.lognormvariate(6.5, 0.3) * 1e6)
        attrs = [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini-2024-07-18"}},
            {"key": "gen_ai.response.model", "value": {"stringValue": "gpt-4o-mini-2024-07-18"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(rng.randint(80, 900))}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": str(rng.randint(20, 300))}},
            {
                "key": "gen_ai.response.finish_reasons",
                "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}},
            },
        ]
        spans.append(
            {
                "traceId": f"{i:032x}",
                "spanId": f"{i:016x}",
                "name": "chat gpt-4o-mini",
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + duration),
                "attributes": attrs,
                "status": {"code": 2, "message": "rate limited"} if i % 20 == 7 else {},
            }
        )
        # An HTTP span in the same trace: not GenAI, skipped rather than rejected.
        spans.append(
            {
                "traceId": f"{i:032x}",
                "spanId": f"{i + 1000:016x}",
                "name": "GET /chat",
                "startTimeUnixNano": str(start - 1000),
                "endTimeUnixNano": str(start + duration + 1000),
                "attributes": [{"key": "http.request.method", "value": {"stringValue": "GET"}}],
            }
        )
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "otel_assistant"}}
                    ]
                },
                "scopeSpans": [
                    {"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": spans}
                ],
            }
        ]
    }


def main() -> None:
    SAMPLE.mkdir(exist_ok=True)
    rng = random.Random(20261102)
    lines: list[bytes] = []
    requests: list[dict[str, object]] = []
    for i in range(3000):
        ts = START + timedelta(seconds=int(i * 86.4)) + timedelta(seconds=rng.randint(0, 80))
        record = _record(rng, i, ts)
        requests.append(record)
        lines.append(json.dumps(record).encode())
    expected = []
    for k, (bad, _reason) in enumerate(MALFORMED):
        position = 150 + k * 360  # spread through the file
        lines.insert(position, bad)
    for line_no, line in enumerate(lines, start=1):
        for bad, reason in MALFORMED:
            if line is bad:
                expected.append({"file": "requests.jsonl", "line": line_no, "reason": reason})
    (SAMPLE / "requests.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    signals = []
    for record in requests:
        roll = rng.random()
        kind = (
            "thumbs_up"
            if roll < 0.08
            else "thumbs_down"
            if roll < 0.10
            else "follow_up"
            if roll < 0.25
            else "abandoned"
            if roll < 0.32
            else "retry"
            if roll < 0.35
            else "correction"
            if roll < 0.38
            else None
        )
        if kind:
            signals.append(
                {
                    "request_id": record["request_id"],
                    "session_id": record["session_id"],
                    "signal_type": kind,
                    "timestamp": record["timestamp"],
                }
            )
    signal_lines = [json.dumps(s).encode() for s in signals]
    signal_lines.insert(
        10,
        b'{"request_id": "req-000001", "signal_type": "loved_it", '
        b'"timestamp": "2026-11-02T00:00:00Z"}',
    )
    expected.append({"file": "signals.jsonl.gz", "line": 11, "reason": "signal_type"})
    with gzip.GzipFile(SAMPLE / "signals.jsonl.gz", "wb", mtime=0) as handle:
        handle.write(b"\n".join(signal_lines) + b"\n")

    (SAMPLE / "otel_traces.json").write_text(json.dumps(_otlp_export(rng), indent=1) + "\n")
    (HERE / "expected_rejects.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
