from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func, insert, select

from llmwatch.judge.quality import update_quality_charts
from llmwatch.settings import JudgeSettings
from llmwatch.warehouse.models import Alert, ChartPoint, ChartState, Judgement
from tests.core.judge.helpers import T0

JUDGE = "judge-m"
CFG = JudgeSettings(
    chart_warmup_windows=10,
    chart_min_window_n=5,
    chart_baseline_min_n=50,
    chart_baseline_hours=0,
)
HOUR = timedelta(hours=1)


def judgements(
    feature: str, hour: int, scores: list[float], failures: int = 0, model: str = "m1"
) -> list[dict]:
    rows = []
    for i, score in enumerate([*scores, *([None] * failures)]):
        rows.append(
            {
                "request_id": f"{feature}-{hour}-{i}",
                "feature_id": feature,
                "model_id": model,
                "request_ts": T0 + hour * HOUR + timedelta(minutes=i % 60),
                "rubric_version": CFG.rubric_version,
                "judge_model": JUDGE,
                "status": "ok" if score is not None else "failure",
                "score": score,
                "judged_at": T0,
            }
        )
    return rows


def store(engine: Engine, rows: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Judgement.__table__), rows)


def history(engine: Engine, hours: int, drop_from: int | None = None) -> None:
    rng = np.random.default_rng(11)
    rows: list[dict] = []
    for hour in range(hours):
        for feature in ("support_chat", "rag_qa"):
            level = 4.2 - (
                0.6 if feature == "rag_qa" and drop_from is not None and hour >= drop_from else 0
            )
            scores = np.clip(np.round(level + 0.8 * rng.standard_normal(12)), 1, 5)
            model = "m2" if drop_from is not None and hour >= drop_from else "m1"
            rows += judgements(feature, hour, [float(s) for s in scores], model=model)
    store(engine, rows)


def run(engine: Engine, until: datetime) -> list:
    return update_quality_charts(engine, CFG, judge_model=JUDGE, closed_before=until, now=until)


def alerts(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Alert.__table__).order_by(Alert.id)).mappings().all()


def test_quality_drop_raises_quality_regression_for_that_feature_only(engine: Engine) -> None:
    history(engine, 30, drop_from=18)
    updates = {u.feature_id: u for u in run(engine, T0 + 30 * HOUR)}
    assert updates["rag_qa"].phase == "monitoring"
    assert updates["support_chat"].signals == 0
    raised = alerts(engine)
    assert raised
    assert {a["kind"] for a in raised} == {"quality_regression"}
    assert {a["feature_id"] for a in raised} == {"rag_qa"}
    first = raised[0]
    assert first["model_id"] == "m2"
    details = first["details"]
    # Either rule may signal first: the EWMA below its limit, or the CUSUM past h.
    assert details["rule"] in {"ewma", "cusum", "ewma+cusum"}
    if "ewma" in details["rule"]:
        assert first["value"] < first["threshold"]
    if "cusum" in details["rule"]:
        assert details["cusum"] > details["cusum_h"]
    assert first["window_start"] >= T0 + 18 * HOUR


def test_rerun_adds_nothing_and_charts_continue_across_runs(engine: Engine) -> None:
    history(engine, 30, drop_from=18)
    # Two runs (the chart state is persisted in between) ...
    run(engine, T0 + 14 * HOUR)
    run(engine, T0 + 30 * HOUR)
    with engine.connect() as conn:
        split = conn.execute(
            select(ChartPoint.window_start, ChartPoint.z).order_by(
                ChartPoint.chart_id, ChartPoint.window_start
            )
        ).all()
    split_alerts = len(alerts(engine))
    # ... and a third finds nothing new.
    updates = run(engine, T0 + 30 * HOUR)
    assert all(u.windows == 0 for u in updates)
    assert len(alerts(engine)) == split_alerts
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChartPoint)).scalar_one() == len(split)
        states = conn.execute(select(ChartState.t, ChartState.phase)).all()
    assert all(phase == "monitoring" and t == 20 for t, phase in states)
    assert len(split) == 60


def test_sparse_windows_are_merged_and_failures_are_not_charted(engine: Engine) -> None:
    rows = []
    for hour in range(12):
        rows += judgements("extraction", hour, [4.0, 5.0, 4.0, 3.0, 4.0, 5.0])
    rows += judgements("extraction", 12, [4.0, 4.0])  # too few: merged with hour 13
    rows += judgements("extraction", 13, [4.0] * 3, failures=4)
    rows += judgements("extraction", 14, [5.0])  # pending: waits for later judgements
    store(engine, rows)
    (update,) = run(engine, T0 + 15 * HOUR)
    assert update.windows == 13  # 12 full hours + hours 12-13 merged
    with engine.connect() as conn:
        merged = conn.execute(
            select(ChartPoint.window_start, ChartPoint.window_end, ChartPoint.n)
            .order_by(ChartPoint.window_start.desc())
            .limit(1)
        ).one()
        pending = conn.execute(select(ChartState.pending)).scalar_one()
    assert tuple(merged) == (T0 + 12 * HOUR, T0 + 14 * HOUR, 5)
    assert pending is not None
    assert pending[2] == 1
    assert alerts(engine) == []


def test_open_windows_wait(engine: Engine) -> None:
    history(engine, 12)
    updates = run(engine, T0 + 5 * HOUR + timedelta(minutes=30))
    assert all(u.windows == 5 for u in updates)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(ChartPoint.window_end))).scalar_one()
    assert last == T0 + 5 * HOUR


def test_a_quality_alert_names_its_judges_open_drift_incident(engine: Engine) -> None:
    from llmwatch.alerts import NewAlert, record_alerts

    with engine.begin() as conn:
        (drift_id,) = record_alerts(
            conn,
            [NewAlert(kind="judge_drift", flow="judge-calibration", model_id=JUDGE, message="x")],
            now=T0,
        )
    history(engine, 30, drop_from=18)
    run(engine, T0 + 30 * HOUR)
    quality = [a for a in alerts(engine) if a["kind"] == "quality_regression"]
    assert quality
    incident = next(a for a in alerts(engine) if a["id"] == drift_id)["incident_id"]
    for alert in quality:
        assert alert["details"]["judge_drift_incident"] == incident
        assert f"judge_drift incident #{incident}" in alert["message"]


def test_a_quality_alert_of_an_undisturbed_judge_has_no_drift_note(engine: Engine) -> None:
    from llmwatch.alerts import NewAlert, record_alerts

    with engine.begin() as conn:  # another judge model drifts: not this chart's judge
        record_alerts(
            conn,
            [NewAlert(kind="judge_drift", flow="judge-calibration", model_id="other", message="x")],
            now=T0,
        )
    history(engine, 30, drop_from=18)
    run(engine, T0 + 30 * HOUR)
    quality = [a for a in alerts(engine) if a["kind"] == "quality_regression"]
    assert quality
    assert all("judge_drift_incident" not in a["details"] for a in quality)
