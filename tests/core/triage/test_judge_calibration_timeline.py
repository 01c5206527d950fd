"""A triage timeline shows the judge's calibration runs next to the alert, so a quality
alert raised while the judge drifted is read as the judge's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from llmwatch.judge.calibration import CalibrationOutcome, record_calibration
from llmwatch.judge.calibration_set import load_calibration_set
from llmwatch.judge.job import judge_setup
from llmwatch.judge.runner import JudgeRunReport
from llmwatch.settings import JudgeCalibrationSettings, Settings
from llmwatch.triage.timeline import timeline

T0 = datetime(2026, 5, 4, 2, 45, tzinfo=UTC)


def test_calibration_runs_and_the_drift_alert_are_on_the_timeline(engine: Engine) -> None:
    setup = judge_setup(Settings(judge_base_url="http://127.0.0.1:9/v1", judge_model="j-1"))
    cfg = JudgeCalibrationSettings()
    cal = load_calibration_set()
    flip = {"good": "bad", "bad": "good"}
    right = {i.id: i.expected for i in cal.items}
    # A judge that starts calling a third of the items wrong on the second day.
    wrong = {
        i.id: (flip[i.expected] if n % 3 == 0 else i.expected) for n, i in enumerate(cal.items)
    }
    for day, labels in enumerate((right, wrong)):
        outcome = CalibrationOutcome(dict(labels), JudgeRunReport(selected=len(cal.items)))
        record_calibration(engine, setup, cfg, cal, outcome, now=T0 + timedelta(days=day))

    with engine.connect() as conn:
        events = timeline(
            conn, T0 - timedelta(days=1), T0 + timedelta(days=2),
            alert_id=0, feature_id="support_chat", model_id="gpt-4o",
        )  # fmt: skip
    runs = [e.summary for e in events if e.kind == "judge_calibration"]
    assert runs[0] == (
        "judge calibration of j-1: accuracy 1.000, kappa 1.000 on 144/144 known verdicts, baseline"
    )
    assert runs[1].endswith("drift")
    assert "accuracy 0.667" in runs[1]
    (drift,) = [e for e in events if e.kind == "alert"]
    assert "judge_drift" in drift.summary
    assert drift.model_id == "j-1"
    assert not drift.related  # another model than the alert's: shown, not blamed
