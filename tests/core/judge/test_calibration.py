"""The judge's calibration run against a real HTTP judge on 127.0.0.1, on both
backends: a judge that answers well, then degrades, raises one judge_drift."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from llmwatch.alerts import list_alerts
from llmwatch.incidents import list_incidents
from llmwatch.judge import job
from llmwatch.judge.calibration import CalibrationResult, format_result, run_calibration
from llmwatch.settings import JudgeCalibrationSettings, JudgeSettings, Settings
from llmwatch.warehouse.models import JudgeCalibrationRun
from tests.core.judge.calibration_judge import CalibrationJudge

JUDGE_MODEL = "judge-mini-2025-01-01"


@pytest.fixture
def judge() -> Iterator[CalibrationJudge]:
    server = CalibrationJudge().start()
    yield server
    server.stop()


def run(engine: Engine, judge: CalibrationJudge, pin: bool = False) -> CalibrationResult:
    settings = Settings(
        judge_base_url=judge.base_url,
        judge_model=JUDGE_MODEL,
        judge_api_key=SecretStr("sk-cal-secret"),
        judge=JudgeSettings(requests_per_second=None, max_retries=1, backoff_base_s=0.01),
    )
    setup = job.judge_setup(settings)
    return asyncio.run(run_calibration(engine, setup, JudgeCalibrationSettings(), pin=pin))


def stored_runs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        table = JudgeCalibrationRun.__table__
        return list(conn.execute(select(table).order_by(table.c.id)))


def test_a_good_judge_then_a_degraded_one_raises_one_judge_drift(
    engine: Engine, judge: CalibrationJudge
) -> None:
    first = run(engine, judge)
    assert first.verdict == "baseline"
    assert first.test is None
    assert first.agreement.n == 144
    assert first.agreement.accuracy == 1.0
    assert first.agreement.kappa == pytest.approx(1.0)
    assert judge.calls == 144

    same = run(engine, judge)
    assert same.verdict == "ok"
    assert same.baseline_run_id == first.run_id
    assert same.test is not None
    assert same.test.p_value == 1.0

    judge.error_rate = 0.25  # a quarter of the items now get the opposite verdict
    drifted = run(engine, judge)
    line = format_result(drifted)
    print(line)
    assert drifted.verdict == "drift"
    assert len(drifted.alert_ids) == 1
    assert drifted.test is not None
    assert drifted.test.p_value < 0.001
    assert 0.6 < drifted.agreement.accuracy < 0.9
    assert "accuracy" in line
    assert "kappa" in line
    assert "n 144/144" in line
    assert " p " in line
    assert line.endswith("verdict drift")

    # Still drifting the next run: the same incident, no second alert in the cool-down.
    again = run(engine, judge)
    assert again.verdict == "drift"
    assert again.alert_ids == []

    with engine.connect() as conn:
        alerts = list_alerts(conn)
        incidents = list_incidents(conn)
    assert [a["kind"] for a in alerts] == ["judge_drift"]
    (alert,) = alerts
    assert alert["model_id"] == JUDGE_MODEL
    assert alert["feature_id"] is None
    assert alert["severity"] == "critical"  # a drop of over 15 points
    assert alert["value"] == pytest.approx(drifted.agreement.accuracy, abs=1e-4)
    assert alert["threshold"] == 1.0
    assert alert["details"]["baseline_run_id"] == first.run_id
    assert [(i["kind"], i["state"]) for i in incidents] == [("judge_drift", "open")]

    runs = stored_runs(engine)
    assert [r.verdict for r in runs] == ["baseline", "ok", "drift", "drift"]
    assert [r.pinned for r in runs] == [True, False, False, False]
    assert runs[2].alert_id == alert["id"]
    assert runs[3].alert_id is None
    assert runs[2].details is not None
    assert sum(runs[2].details["disagreements_by_construction"].values()) == 144 - runs[2].n_agreed


def test_unusable_answers_count_as_disagreements_and_pinning_moves_the_baseline(
    engine: Engine, judge: CalibrationJudge
) -> None:
    run(engine, judge)
    judge.garbage_rate = 0.3
    broken = run(engine, judge)
    a = broken.agreement
    assert a.failures > 20
    assert a.n == 144
    assert a.agreed == 144 - a.failures  # every usable answer was right
    assert broken.verdict == "drift"
    runs = stored_runs(engine)
    assert runs[-1].n_failures == a.failures
    assert runs[-1].details is not None
    assert runs[-1].details["failure_reasons"]

    # Pinned by hand: the degraded judge is the new reference and no longer drifts.
    pinned = run(engine, judge, pin=True)
    assert pinned.verdict == "baseline"
    follow = run(engine, judge)
    assert follow.verdict == "ok"
    assert follow.baseline_run_id == pinned.run_id


def test_a_judge_that_refuses_us_leaves_an_incomplete_run_and_no_drift(
    engine: Engine, judge: CalibrationJudge
) -> None:
    run(engine, judge)
    judge.status = 401
    refused = run(engine, judge)
    assert refused.verdict == "incomplete"
    assert refused.stopped == "fatal"
    assert refused.agreement.n < 144
    assert refused.test is None
    with engine.connect() as conn:
        assert list_alerts(conn) == []
    assert [r.verdict for r in stored_runs(engine)] == ["baseline", "incomplete"]
