"""Request rows for judge tests, inserted with Core as ingestion would store them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from llmwatch.warehouse.models import Request

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def request_row(
    request_id: str,
    *,
    ts: datetime,
    feature_id: str = "support_chat",
    model_id: str = "gpt-4o-2024-08-06",
    ingested_at: datetime | None = None,
    input: str | None = "How do I reset my password?",
    output: str | None = "Open settings and choose reset.",
    context: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "ts": ts,
        "feature_id": feature_id,
        "model_id": model_id,
        "provider": "openai",
        "latency_ms": 500.0,
        "ttft_ms": None,
        "input_tokens": 20,
        "output_tokens": 30,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0001,
        "cost_source": "record",
        "finish_reason": "stop" if error is None else "error",
        "error": error,
        "session_id": None,
        "user_segment": None,
        "prompt_template_id": None,
        "input": input,
        "output": output,
        "context": context,
        "metadata_json": None,
        "ingested_at": ingested_at or ts + timedelta(minutes=1),
    }


def insert_requests(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Request.__table__), list(rows))


SUPPORT_TOPICS = ("billing", "refund", "password reset", "two-factor login")


def production_rows(
    base_url: str,
    model: str,
    start: datetime,
    count: int,
    *,
    prefix: str,
    spacing: timedelta = timedelta(minutes=5),
    feature_id: str = "support_chat",
) -> list[dict[str, Any]]:
    """Real answers from the simulator acting as the production model, as request rows."""
    import httpx

    from llmwatch.simulator.vocabulary import TOPIC_INDEX, compose_question

    rows = []
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            topic = SUPPORT_TOPICS[i % len(SUPPORT_TOPICS)]
            question = compose_question("consumer", TOPIC_INDEX[topic], i)
            response = client.post(
                f"{base_url}/chat/completions",
                json={"model": model, "messages": [{"role": "user", "content": question}]},
            )
            response.raise_for_status()
            answer = response.json()["choices"][0]["message"]["content"]
            ts = start + i * spacing
            rows.append(
                request_row(
                    f"{prefix}-{i:04d}",
                    ts=ts,
                    feature_id=feature_id,
                    model_id=model,
                    input=question,
                    output=answer,
                )
            )
    return rows
