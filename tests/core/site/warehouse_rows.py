"""A day of window metrics, one quality chart and hostile alert text, for site tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, Engine, insert

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.warehouse.models import ChartPoint, ChartState, WindowMetrics, WindowTemplateSpend

START = datetime(2025, 6, 2, tzinfo=UTC)
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
FEATURES = ("support_chat", "rag_qa")


def _window(t: datetime, feature: str, i: int) -> dict[str, object]:
    zero_rates = ("explicit_feedback_coverage", "correction_rate", "follow_up_rate", "retry_rate")
    row: dict[str, object] = {
        "window_start": t, "window_end": t + timedelta(hours=1), "feature_id": feature,
        "model_id": "gpt-4o-mini", "request_count": 100, "error_count": i % 5,
        "refusal_count": 0, "error_rate": (i % 5) / 100, "refusal_rate": 0.0,
        "latency_p50_ms": 800.0, "latency_p95_ms": 1500.0 + 40 * i, "latency_p99_ms": 2500.0,
        "ttft_p50_ms": 200.0, "ttft_p95_ms": 400.0, "input_tokens_sum": 1000,
        "output_tokens_sum": 2000, "cached_input_tokens_sum": 0, "reasoning_tokens_sum": 0,
        "cache_write_tokens_sum": 0, "input_tokens_mean": 10.0, "output_tokens_mean": 20.0,
        "cost_total_usd": 0.5 + 0.1 * i, "cost_mean_usd": 0.005, "unpriced_count": 0,
        "explicit_feedback_count": 0, "explicit_positive_rate": None, "abandonment_rate": 0.0,
        "survivorship_bias": False, "computed_at": t + timedelta(hours=1),
    }  # fmt: skip
    row.update(dict.fromkeys(zero_rates, 0.0))
    # Any other required column (the aggregation adds metrics over time) gets a zero.
    for column in WindowMetrics.__table__.columns:
        if column.name not in row and not column.nullable:
            row[column.name] = False if isinstance(column.type, Boolean) else 0
    return row


def template_spend(window: dict[str, object]) -> list[dict[str, object]]:
    """The window's spend split 70/30 between a template of its feature and no template,
    as the hourly job would have written it."""
    n, cost = int(window["request_count"]), float(window["cost_total_usd"])  # type: ignore[arg-type]
    keys = {k: window[k] for k in ("window_start", "feature_id", "model_id")}
    first = round(n * 0.7)
    return [
        {**keys, "prompt_template_id": f"{window['feature_id']}-v1", "request_count": first,
         "cost_total_usd": cost * 0.7, "unpriced_count": 0},
        {**keys, "prompt_template_id": "", "request_count": n - first,
         "cost_total_usd": cost * 0.3, "unpriced_count": 0},
    ]  # fmt: skip


def fill_warehouse(engine: Engine, hours: int = 24, features: tuple[str, ...] = FEATURES) -> None:
    times = [START + timedelta(hours=h) for h in range(hours)]
    with engine.begin() as conn:
        windows = [_window(t, f, i) for i, t in enumerate(times) for f in features]
        conn.execute(insert(WindowMetrics), windows)
        conn.execute(insert(WindowTemplateSpend), [s for w in windows for s in template_spend(w)])
        conn.execute(
            insert(ChartState),
            {
                "chart_id": "quality:rag_qa", "feature_id": "rag_qa", "metric": "judge_score",
                "lam": 0.1, "limit_l": 2.814, "phase": "monitoring", "mu0": 4.2,
                "sigma0": 0.2, "z": 3.9, "t": hours, "updated_at": times[-1],
            },
        )  # fmt: skip
        conn.execute(
            insert(ChartPoint),
            [
                {
                    "chart_id": "quality:rag_qa", "window_start": t,
                    "window_end": t + timedelta(hours=1), "n": 12,
                    "mean": 4.2 - 0.05 * max(0, i - 16), "z": 4.2 - 0.03 * max(0, i - 16),
                    "lcl": 4.0, "ucl": 4.4, "signal": i >= 22,
                }
                for i, t in enumerate(times)
            ],
        )  # fmt: skip
        record_alerts(
            conn,
            [
                NewAlert(
                    kind="quality_regression", flow="sample-and-judge", feature_id="rag_qa",
                    message=f"quality fell; sample answer: {HOSTILE}",
                    window_start=times[-2], window_end=times[-1],
                )
            ],
        )  # fmt: skip
