"""What an alert's metric means per request, so it can be sliced in portable SQL.

Window metrics such as p99 latency are not additive over slices, and percentiles are not
the same SQL on SQLite and PostgreSQL; for scoping an incident the per-slice mean of the
underlying per-request quantity (and, with a threshold, the share of requests beyond it)
says which slice moved, with one query on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from llmwatch.warehouse.models import Judgement, Request

REFUSAL_REASONS = ("refusal", "content_filter")


@dataclass(frozen=True)
class MetricSpec:
    """How a sliced value is computed: ``source`` 'requests' or 'judgements'."""

    name: str
    source: str
    label: str
    # Sort order of the response sample: the worst affected requests first.
    worst_first: bool = True

    def value(self) -> ColumnElement[Any]:
        return _VALUE[self.name]()

    def order(self) -> ColumnElement[Any]:
        return _ORDER[self.name]()


def _as_float(expr: Any) -> ColumnElement[Any]:
    return cast(expr, Float)


_VALUE: dict[str, Any] = {
    "latency_ms": lambda: func.avg(_as_float(Request.latency_ms)),
    "ttft_ms": lambda: func.avg(_as_float(Request.ttft_ms)),
    "error_rate": lambda: func.avg(case((Request.error.is_not(None), 1.0), else_=0.0)),
    "refusal_rate": lambda: func.avg(
        case((Request.finish_reason.in_(REFUSAL_REASONS), 1.0), else_=0.0)
    ),
    "total_tokens": lambda: func.avg(
        _as_float(Request.input_tokens) + _as_float(Request.output_tokens)
    ),
    "cost_usd": lambda: func.avg(_as_float(Request.cost_usd)),
    "request_count": lambda: func.count(),
    "judge_score": lambda: func.avg(
        case((Judgement.status == "ok", _as_float(Judgement.score)), else_=None)
    ),
    "judge_failure_rate": lambda: func.avg(case((Judgement.status != "ok", 1.0), else_=0.0)),
}

_ORDER: dict[str, Any] = {
    "latency_ms": lambda: Request.latency_ms.desc(),
    "ttft_ms": lambda: Request.ttft_ms.desc(),
    "error_rate": lambda: case((Request.error.is_not(None), 0), else_=1),
    "refusal_rate": lambda: case((Request.finish_reason.in_(REFUSAL_REASONS), 0), else_=1),
    "total_tokens": lambda: (Request.input_tokens + Request.output_tokens).desc(),
    "cost_usd": lambda: Request.cost_usd.desc(),
    "request_count": lambda: Request.ts.desc(),
    "judge_score": lambda: Judgement.score.asc(),
    "judge_failure_rate": lambda: case((Judgement.status != "ok", 0), else_=1),
}

SPECS = {
    "latency_ms": MetricSpec("latency_ms", "requests", "mean latency (ms)"),
    "ttft_ms": MetricSpec("ttft_ms", "requests", "mean TTFT (ms)"),
    "error_rate": MetricSpec("error_rate", "requests", "error rate"),
    "refusal_rate": MetricSpec("refusal_rate", "requests", "refusal rate"),
    "total_tokens": MetricSpec("total_tokens", "requests", "mean tokens per request"),
    "cost_usd": MetricSpec("cost_usd", "requests", "mean cost per request (USD)"),
    "request_count": MetricSpec("request_count", "requests", "requests"),
    "judge_score": MetricSpec("judge_score", "judgements", "mean judged score (1-5)"),
    "judge_failure_rate": MetricSpec("judge_failure_rate", "judgements", "judge failure rate"),
}

# Alert metric (SPEC 3.5 ``metric``) -> per-request quantity; unknown metrics (drift,
# canary, golden, ingest) are scoped by traffic volume, which shows a mix shift.
_ALERT_METRICS = {
    "latency_p50_ms": "latency_ms",
    "latency_p95_ms": "latency_ms",
    "latency_p99_ms": "latency_ms",
    "ttft_p50_ms": "ttft_ms",
    "ttft_p95_ms": "ttft_ms",
    "error_rate": "error_rate",
    "refusal_rate": "refusal_rate",
    "total_tokens_p50": "total_tokens",
    "cost_p50_usd": "cost_usd",
    "hourly_cost_usd": "cost_usd",
    "judge_score": "judge_score",
    "judge_failure_rate": "judge_failure_rate",
    # SLO burn-rate alerts (llmwatch.slo): value and threshold are burn rates.
    "latency_slo_burn": "latency_ms",
    "ttft_slo_burn": "ttft_ms",
    "errors_slo_burn": "error_rate",
}

# Alert metrics whose threshold is on the same per-request scale, so the share of
# requests beyond it can be sliced too (a p99 SLO is about the slow tail).
TAIL_METRICS = {"latency_p95_ms": "latency_ms", "latency_p99_ms": "latency_ms",
                "ttft_p95_ms": "ttft_ms"}  # fmt: skip
SLO_TAIL_METRICS = {"latency_slo_burn": "latency_ms", "ttft_slo_burn": "ttft_ms"}


def spec_for(alert_metric: str | None, kind: str) -> MetricSpec:
    if alert_metric in _ALERT_METRICS:
        return SPECS[_ALERT_METRICS[alert_metric]]
    if kind == "quality_regression":
        return SPECS["judge_score"]
    return SPECS["request_count"]


def tail_share(column_name: str, threshold: float) -> ColumnElement[Any]:
    column = Request.latency_ms if column_name == "latency_ms" else Request.ttft_ms
    return func.avg(case((column.is_(None), None), (column > literal(threshold), 1.0), else_=0.0))
