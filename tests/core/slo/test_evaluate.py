from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, select

from llmwatch.alerts import list_alerts
from llmwatch.settings import SloSettings
from llmwatch.slo.evaluate import evaluate_slos, evaluation_times
from llmwatch.warehouse.models import SloStatus
from tests.core.judge.helpers import insert_requests, request_row

T0 = datetime(2026, 5, 4, tzinfo=UTC)


def _traffic(per_hour: float, hours: int, seed: int, feature: str = "notes") -> list[dict]:
    """Clean traffic: lognormal latency (0.9 % over 10 s), 1 % errors."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(per_hour * hours)
    offsets = np.sort(rng.uniform(0, hours * 3600, n))
    rows = []
    for i, offset in enumerate(offsets):
        row = request_row(f"{feature}-{seed}-{i}", ts=T0 + timedelta(seconds=float(offset)))
        row.update(
            feature_id=feature,
            latency_ms=float(1500 * np.exp(0.8 * rng.standard_normal())),
            ttft_ms=float(300 * np.exp(0.3 * rng.standard_normal())),
            error="HTTP 500" if rng.random() < 0.01 else None,
        )
        rows.append(row)
    return rows


def _run(
    engine: Engine, start: datetime, end: datetime, cfg: SloSettings, minutes: int = 15
) -> None:
    for at in evaluation_times(start, end, timedelta(minutes=minutes)):
        evaluate_slos(engine, cfg, at, store_status=False)


def test_slow_night_of_a_low_volume_feature_pages_within_the_hour(engine: Engine) -> None:
    rows = _traffic(8, 30, seed=1)
    # From 02:00 on the second night every request is slow (40 s against the 10 s SLO).
    slow_from = T0 + timedelta(hours=26)
    for row in rows:
        if slow_from <= row["ts"] < slow_from + timedelta(hours=2) and row["error"] is None:
            row["latency_ms"] = 40_000.0
    insert_requests(engine, rows)
    cfg = SloSettings()
    _run(engine, T0 + timedelta(hours=20), T0 + timedelta(hours=30), cfg)
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["kind"] == "slo_breach"]
    pages = [a for a in alerts if a["severity"] == "critical"]
    assert pages, alerts
    page = pages[0]
    assert page["metric"] == "latency_slo_burn"
    assert page["feature_id"] == "notes"
    paged_at = datetime.fromisoformat(page["window_end"])
    assert slow_from < paged_at <= slow_from + timedelta(hours=1)
    assert page["details"]["long_bad"] >= 3
    # One page for the stretch (cool-down), not one per evaluation.
    assert len(pages) == 1


def test_status_holds_burn_rates_and_remaining_budget(engine: Engine) -> None:
    rows = _traffic(60, 4, seed=2)
    errors = sum(r["error"] is not None for r in rows)
    insert_requests(engine, rows)
    at = T0 + timedelta(hours=4)
    report = evaluate_slos(engine, SloSettings(), at)
    assert report.features == 1
    with engine.connect() as conn:
        rows_ = conn.execute(select(SloStatus.__table__)).mappings().all()
        status = {r["slo"]: r for r in rows_}
    assert set(status) == {"latency", "ttft", "errors"}
    err = status["errors"]
    assert err["events"] == len(rows)
    assert err["bad_events"] == errors
    assert err["remaining_budget"] is not None
    assert abs(err["remaining_budget"] - (1 - errors / (0.01 * len(rows)))) < 1e-9
    assert set(err["burn_rates"]) == {"5m", "30m", "1h", "6h", "30d"}
    assert err["paging"] is False
    # Re-evaluating replaces the status instead of adding rows.
    evaluate_slos(engine, SloSettings(), at)
    with engine.connect() as conn:
        assert len(conn.execute(select(SloStatus)).all()) == 3


def test_clean_week_at_three_volumes_raises_nothing(engine: Engine) -> None:
    for seed, (feature, per_hour) in enumerate((("low", 5), ("mid", 50), ("high", 300))):
        insert_requests(engine, _traffic(per_hour, 7 * 24, seed=10 + seed, feature=feature))
    _run(engine, T0, T0 + timedelta(days=7), SloSettings(), minutes=30)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
