from __future__ import annotations

from datetime import timedelta
from typing import Any

from llmwatch.aggregation.rules import (
    baseline_alerts,
    budget_alerts,
    robust_baseline,
    survivorship_alerts,
)
from llmwatch.settings import CostSettings
from tests.core.aggregation.traffic import BASE_TIME

W0 = BASE_TIME + timedelta(hours=10)


def row(window: int = 0, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "window_start": W0 + timedelta(hours=window),
        "window_end": W0 + timedelta(hours=window + 1),
        "feature_id": "chat",
        "model_id": "m1",
        "request_count": 100,
        "latency_p99_ms": 1000.0,
        "ttft_p95_ms": 200.0,
        "error_rate": 0.0,
        "total_tokens_p50": 700.0,
        "cost_total_usd": 1.0,
        "cost_p50_usd": 0.01,
        "unpriced_count": 0,
        "survivorship_bias": False,
        "abandonment_rate": 0.05,
        "explicit_positive_rate": 0.7,
        "explicit_feedback_count": 10,
        "explicit_feedback_coverage": 0.1,
    }
    base.update(values)
    return base


def _history(values: list[float]) -> list[dict[str, Any]]:
    return [row(-i - 1, total_tokens_p50=v) for i, v in enumerate(values)]


def test_token_spike_against_a_robust_baseline() -> None:
    cfg = CostSettings(min_history=12)
    history = _history([700 + (i % 5) * 10 for i in range(24)])
    assert baseline_alerts(row(total_tokens_p50=720.0), history, cfg) == []
    [spike] = [
        a
        for a in baseline_alerts(row(total_tokens_p50=2000.0), history, cfg)
        if a.kind == "token_spike"
    ]
    assert spike.metric == "total_tokens_p50"
    assert spike.value == 2000.0
    assert spike.details["baseline_median"] == 720.0


def test_one_noisy_hour_in_the_history_does_not_move_the_baseline() -> None:
    cfg = CostSettings()
    values = [700.0] * 23 + [50_000.0]
    assert robust_baseline(values).median == 700.0
    alerts = baseline_alerts(row(total_tokens_p50=2000.0), _history(values), cfg)
    assert any(a.kind == "token_spike" for a in alerts)


def test_no_baseline_alert_without_enough_history() -> None:
    cfg = CostSettings(min_history=12)
    history = _history([700.0] * 11)
    assert baseline_alerts(row(total_tokens_p50=9000.0), history, cfg) == []


def test_flat_history_needs_the_minimum_ratio() -> None:
    cfg = CostSettings(min_ratio=1.5)
    history = _history([700.0] * 24)  # MAD = 0
    assert baseline_alerts(row(total_tokens_p50=1000.0), history, cfg) == []


def test_cost_per_request_anomaly_ignores_unpriced_windows() -> None:
    cfg = CostSettings()
    history = [row(-i - 1, cost_p50_usd=0.01 + (i % 3) * 0.0005) for i in range(20)]
    history += [row(-30, cost_p50_usd=None)]
    [alert] = [
        a for a in baseline_alerts(row(cost_p50_usd=0.05), history, cfg) if a.kind == "cost_anomaly"
    ]
    assert alert.metric == "cost_p50_usd"
    assert alert.details["baseline_windows"] == 20


def test_budget_total_and_per_feature() -> None:
    cfg = CostSettings(hourly_budget_usd=5.0, feature_hourly_budget_usd={"rag": 1.0})
    rows = [
        row(cost_total_usd=3.0),
        row(model_id="m2", cost_total_usd=None, unpriced_count=40),
        row(feature_id="rag", cost_total_usd=2.5),
    ]
    alerts = budget_alerts(rows, cfg)
    assert {(a.feature_id, a.value) for a in alerts} == {(None, 5.5), ("rag", 2.5)}
    total = next(a for a in alerts if a.feature_id is None)
    assert "at least" in total.message
    assert total.details["unpriced_count"] == 40
    assert budget_alerts([row(cost_total_usd=4.0)], cfg) == []


def test_survivorship_alert_follows_the_flag() -> None:
    cfg = CostSettings()
    assert survivorship_alerts(row(), cfg) == []
    [alert] = survivorship_alerts(
        row(survivorship_bias=True, abandonment_rate=0.45, explicit_positive_rate=0.93), cfg
    )
    assert alert.kind == "survivorship_bias"
    assert alert.value == 0.45
