from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from llmwatch.alerts import NewAlert, list_alerts, record_alerts

T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


def slo(window_start: datetime, feature: str = "chat") -> NewAlert:
    return NewAlert(
        kind="slo_breach",
        flow="cost",
        feature_id=feature,
        model_id="m",
        metric="latency_p99_ms",
        value=9000.0,
        threshold=5000.0,
        window_start=window_start,
        window_end=window_start + timedelta(hours=1),
        message="p99 latency over SLO",
    )


def test_cooldown_suppresses_the_same_series_within_the_window(engine: Engine) -> None:
    cooldown = timedelta(hours=3)
    with engine.begin() as conn:
        first = record_alerts(conn, [slo(T0)], cooldown)
        rerun = record_alerts(conn, [slo(T0)], cooldown)  # same window re-run
        next_hour = record_alerts(conn, [slo(T0 + timedelta(hours=1))], cooldown)
        other_series = record_alerts(conn, [slo(T0, feature="rag")], cooldown)
        later = record_alerts(conn, [slo(T0 + timedelta(hours=3))], cooldown)
        backfill = record_alerts(conn, [slo(T0 - timedelta(hours=4))], cooldown)
    assert len(first) == 1
    assert rerun == []
    assert next_hour == []
    assert len(other_series) == 1
    assert len(later) == 1
    assert len(backfill) == 1


def test_list_alerts_returns_spec_fields(engine: Engine) -> None:
    with engine.begin() as conn:
        record_alerts(conn, [slo(T0)], now=T0 + timedelta(hours=2))
    with engine.connect() as conn:
        (alert,) = list_alerts(conn)
        assert list_alerts(conn, since=T0 + timedelta(hours=3)) == []
    assert list(alert) == [
        "id",
        "created_at",
        "kind",
        "severity",
        "flow",
        "feature_id",
        "model_id",
        "metric",
        "value",
        "threshold",
        "window_start",
        "window_end",
        "message",
        "details",
        "incident_id",
        "state",
    ]
    assert alert["window_start"] == "2026-11-01T10:00:00+00:00"
    assert alert["value"] == 9000.0


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown alert kind"):
        NewAlert(kind="vibes", flow="x", message="no")
