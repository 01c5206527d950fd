"""Detection on default settings (issue 13): a low-volume feature's quality drop and its
slow night both alert; a clean week at three volumes raises nothing. Requests are
sampled for judging by the product's own deterministic sampling at its default rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, insert, select

from llmwatch.alerts import list_alerts
from llmwatch.judge.quality import update_quality_charts
from llmwatch.judge.sampling import is_sampled
from llmwatch.settings import JudgeSettings, SloSettings
from llmwatch.slo.evaluate import evaluate_slos, evaluation_times
from llmwatch.warehouse.models import ChartState, Judgement
from tests.core.judge.helpers import insert_requests, request_row

T0 = datetime(2026, 4, 6, tzinfo=UTC)
DAY = timedelta(days=1)
JUDGE = "judge-m"
CFG = JudgeSettings()  # the defaults: 5 % sampled, hourly windows, default chart


def _day_profile(hours: np.ndarray) -> np.ndarray:
    """Relative traffic by hour of day: quiet nights, busy afternoons."""
    return 0.25 + (1 - np.cos(2 * np.pi * (hours % 24 - 3) / 24)) / 2


def traffic(
    feature: str, per_day: int, days: int, seed: int, drop_from: datetime | None = None,
    slow: tuple[datetime, datetime] | None = None,
) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """Requests (lognormal latency, 1 % errors) and the judgements of the sampled ones
    (scores 1-5 with sd ~0.9; after ``drop_from`` most answers lose a point or two)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    counts = rng.poisson(per_day * days * _day_profile(hours) / _day_profile(hours).sum())
    requests, judgements = [], []
    for hour, count in zip(hours, counts, strict=True):
        for offset in np.sort(rng.uniform(0, 3600, count)):
            ts = T0 + timedelta(hours=int(hour), seconds=float(offset))
            i = len(requests)
            row = request_row(f"{feature}-{i}", ts=ts, feature_id=feature)
            row.update(
                latency_ms=float(1200 * np.exp(0.7 * rng.standard_normal())),
                error="HTTP 500" if rng.random() < 0.01 else None,
            )
            if slow and slow[0] <= ts < slow[1]:
                row["latency_ms"] = float(rng.uniform(20_000, 60_000))
            requests.append(row)
            if row["error"] or not is_sampled(row["request_id"], CFG.default_sample_rate):
                continue
            score = float(np.clip(np.round(4.0 + 0.9 * rng.standard_normal()), 1, 5))
            if drop_from and ts >= drop_from and rng.random() < 0.7:
                score = max(1.0, score - float(rng.choice([1, 2])))
            judgements.append(
                {
                    "request_id": row["request_id"], "feature_id": feature, "model_id": "m1",
                    "request_ts": ts, "rubric_version": CFG.rubric_version,
                    "judge_model": JUDGE, "status": "ok", "score": score,
                    "judged_at": ts + timedelta(minutes=5),
                }
            )  # fmt: skip
    return requests, judgements


def load(engine: Engine, requests: list[dict], judgements: list[dict]) -> None:
    insert_requests(engine, requests)
    with engine.begin() as conn:
        conn.execute(insert(Judgement.__table__), judgements)


def chart_daily(engine: Engine, days: int) -> None:
    """The judge flow's charting step, run once a day (a few runs, not one per window)."""
    for day in range(1, days + 1):
        at = T0 + day * DAY
        update_quality_charts(engine, CFG, judge_model=JUDGE, closed_before=at, now=at)


def test_low_volume_feature_quality_drop_and_slow_night_both_alert(engine: Engine) -> None:
    # ~40 judged a day make 4 chart points a day: the default baseline (72 points) is
    # complete after 18 days; the drop starts on day 20.
    days = 24
    drop_from = T0 + 20 * DAY
    slow = (T0 + 21 * DAY + timedelta(hours=1), T0 + 21 * DAY + timedelta(hours=4))
    requests, judgements = traffic("notes", 800, days, seed=1, drop_from=drop_from, slow=slow)
    assert 750 < len(judgements) < 1200  # ~40 judged a day: one or two an hour
    load(engine, requests, judgements)
    chart_daily(engine, days)
    for at in evaluation_times(slow[0] - timedelta(hours=2), slow[1], timedelta(minutes=5)):
        evaluate_slos(engine, SloSettings(), at, store_status=False)
    with engine.connect() as conn:
        alerts = list_alerts(conn)
    quality = [a for a in alerts if a["kind"] == "quality_regression"]
    assert quality, alerts
    first = min(datetime.fromisoformat(a["window_end"]) for a in quality)
    assert drop_from < first <= drop_from + 2 * DAY
    pages = [a for a in alerts if a["kind"] == "slo_breach" and a["severity"] == "critical"]
    assert len(pages) == 1, alerts
    paged_at = datetime.fromisoformat(pages[0]["window_end"])
    assert slow[0] < paged_at <= slow[0] + timedelta(hours=1)
    assert {a["kind"] for a in alerts} == {"quality_regression", "slo_breach"}


def test_a_clean_week_at_three_volumes_raises_nothing(engine: Engine) -> None:
    # Ten days: the default 72-point baseline takes ~3 days at 12,000 requests a day and
    # ~6 at 3,000, so both busy charts then watch clean traffic for days (the quiet
    # feature's chart is still collecting its baseline; its SLOs are evaluated).
    days = 10
    for seed, (feature, per_day) in enumerate((("low", 300), ("mid", 3_000), ("high", 12_000))):
        load(engine, *traffic(feature, per_day, days, seed=10 + seed))
    chart_daily(engine, days)
    for at in evaluation_times(T0, T0 + days * DAY, timedelta(hours=1)):
        evaluate_slos(engine, SloSettings(), at, store_status=False)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        phases = dict(conn.execute(select(ChartState.feature_id, ChartState.phase)).all())
        monitored = dict(
            conn.execute(select(ChartState.feature_id, ChartState.t).where(ChartState.t > 0)).all()
        )
    assert phases["high"] == phases["mid"] == "monitoring"
    assert monitored["high"] >= 100, monitored  # charted against the frozen baseline
    assert monitored["mid"] >= 20
