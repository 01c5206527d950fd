"""A sample of the responses an alert is about: the worst ones first.

Quality alerts show the lowest-judged answers with the judge's reasons; operational
alerts the slowest, failed, longest or dearest requests of the alert's scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from llmwatch.triage.metrics import MetricSpec
from llmwatch.warehouse.models import Judgement, Request

# Texts are cut for the report; the warehouse keeps the whole record.
TEXT_CHARS = 600

_REQUEST_COLUMNS = (
    Request.request_id,
    Request.ts,
    Request.feature_id,
    Request.model_id,
    Request.prompt_template_id,
    Request.user_segment,
    Request.latency_ms,
    Request.ttft_ms,
    Request.input_tokens,
    Request.output_tokens,
    Request.cost_usd,
    Request.finish_reason,
    Request.error,
    Request.input,
    Request.output,
    Request.context,
    Request.metadata_json.label("metadata_json"),
)
_JUDGE_COLUMNS = (
    Judgement.status.label("judge_status"),
    Judgement.score.label("judge_score"),
    Judgement.faithfulness,
    Judgement.relevance,
    Judgement.completeness,
    Judgement.context_relevance,
    Judgement.hallucination,
    Judgement.reasons.label("judge_reasons"),
    Judgement.failure_reason.label("judge_failure_reason"),
)


def affected_responses(
    conn: Connection,
    spec: MetricSpec,
    start: datetime,
    end: datetime,
    *,
    feature_id: str | None,
    model_id: str | None,
    limit: int,
    text_chars: int | None = TEXT_CHARS,
) -> list[dict[str, Any]]:
    """Up to ``limit`` requests of the alert's scope and window, worst first."""
    if spec.source == "judgements":
        query = (
            select(*_REQUEST_COLUMNS, *_JUDGE_COLUMNS)
            .select_from(Judgement)
            .join(Request, Request.request_id == Judgement.request_id)
            .where(Judgement.request_ts >= start, Judgement.request_ts < end)
        )
        if spec.name == "judge_score":
            query = query.where(Judgement.status == "ok")
        query = _scoped(query, Judgement, feature_id, model_id)
    else:
        # A request may have been judged under several rubrics; any one verdict helps.
        query = (
            select(*_REQUEST_COLUMNS, *_JUDGE_COLUMNS)
            .select_from(Request)
            .outerjoin(
                Judgement,
                and_(Judgement.request_id == Request.request_id, Judgement.status == "ok"),
            )
            .where(Request.ts >= start, Request.ts < end)
        )
        query = _scoped(query, Request, feature_id, model_id)
    query = query.order_by(spec.order(), Request.request_id).limit(limit)
    out, seen = [], set()
    for row in conn.execute(query).mappings():
        if row["request_id"] in seen:
            continue
        seen.add(row["request_id"])
        out.append(_sample(dict(row), text_chars))
    return out


def _scoped(query: Any, owner: Any, feature_id: str | None, model_id: str | None) -> Any:
    if feature_id:
        query = query.where(owner.feature_id == feature_id)
    if model_id:
        query = query.where(owner.model_id == model_id)
    return query


def _sample(row: dict[str, Any], text_chars: int | None) -> dict[str, Any]:
    metadata = row.pop("metadata_json") or {}
    row["system_fingerprint"] = metadata.get("system_fingerprint")
    retrieved = retrieved_ids(metadata)
    if retrieved is not None:
        row["retrieved_ids"] = retrieved
    row["ts"] = row["ts"].isoformat()
    for name in ("input", "output", "context"):
        text = row[name]
        if text is not None and text_chars is not None and len(text) > text_chars:
            row[name] = text[:text_chars] + "…"
    return row


def retrieved_ids(metadata: dict[str, Any]) -> list[str] | None:
    """Document ids a RAG record retrieved (``retrieved_ids``, or the simulator's
    ``retrieved_doc_ids``), in rank order."""
    for key in ("retrieved_ids", "retrieved_doc_ids"):
        value = metadata.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
    return None
