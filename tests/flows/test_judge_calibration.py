"""The judge-calibration flow and its CLI on the Prefect harness, against a judge served
over HTTP on 127.0.0.1 that answers well, then degrades, then refuses us."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from flows.judge_calibration import JudgeCalibrationIncomplete, judge_calibration
from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.settings import get_settings
from llmwatch.warehouse.models import JudgeCalibrationRun
from tests.core.judge.calibration_judge import CalibrationJudge
from tests.flows.conftest import read_artifacts

pytestmark = pytest.mark.flow

SECRET = "sk-calibration-flow-secret"


@pytest.fixture
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[CalibrationJudge]:
    server = CalibrationJudge().start()
    env = {
        "LLMWATCH_JUDGE_BASE_URL": server.base_url,
        "LLMWATCH_JUDGE_MODEL": "judge-flow-model",
        "LLMWATCH_JUDGE_API_KEY": SECRET,
        "LLMWATCH_JUDGE__REQUESTS_PER_SECOND": "1000",
        "LLMWATCH_JUDGE__BACKOFF_BASE_S": "0.01",
        "LLMWATCH_JUDGE__MAX_RETRIES": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield server
    server.stop()


def verdicts(engine: Engine) -> list[str]:
    table = JudgeCalibrationRun.__table__
    with engine.connect() as conn:
        return list(conn.execute(select(table.c.verdict).order_by(table.c.id)).scalars())


def test_the_flow_pins_a_baseline_then_raises_judge_drift_when_the_judge_degrades(
    engine: Engine, judge: CalibrationJudge
) -> None:
    first = asyncio.run(judge_calibration())
    assert first.verdict == "baseline"
    assert first.agreement.accuracy == 1.0
    (artifact,) = read_artifacts("judge-calibration")[:1]
    assert "Cohen's kappa" in artifact["data"]
    assert "| verdict | baseline |" in artifact["data"]

    judge.error_rate = 0.2
    drifted = asyncio.run(judge_calibration())
    assert drifted.verdict == "drift"
    assert len(drifted.alert_ids) == 1
    with engine.connect() as conn:
        assert [a["kind"] for a in list_alerts(conn)] == ["judge_drift"]
    # The reports site was rebuilt by the run and shows the new kind.
    assert "judge_drift" in Path("reports/index.html").read_text()
    assert verdicts(engine) == ["baseline", "drift"]

    judge.status = 401
    with pytest.raises(JudgeCalibrationIncomplete, match="fatal"):
        asyncio.run(judge_calibration())
    assert verdicts(engine) == ["baseline", "drift", "incomplete"]


def test_the_cli_prints_accuracy_kappa_n_p_and_verdict_with_gate_exit_codes(
    engine: Engine, judge: CalibrationJudge
) -> None:
    first = CliRunner().invoke(main, ["run", "judge-calibration"])
    assert first.exit_code == 0, first.output
    assert "accuracy 1.000, kappa 1.000, n 144/144" in first.output
    assert "p n/a; verdict baseline" in first.output

    same = CliRunner().invoke(main, ["run", "judge-calibration"])
    assert same.exit_code == 0, same.output
    assert "p 1; verdict ok" in same.output

    judge.garbage_rate = 0.25  # unusable answers: failures, never a default score
    worse = CliRunner().invoke(main, ["run", "judge-calibration"])
    assert worse.exit_code == 1, worse.output
    assert "unusable answer(s)" in worse.output
    assert "verdict drift" in worse.output

    pinned = CliRunner().invoke(main, ["run", "judge-calibration", "--pin"])
    assert pinned.exit_code == 0, pinned.output
    assert "verdict baseline" in pinned.output

    judge.status = 401
    refused = CliRunner().invoke(main, ["run", "judge-calibration"])
    assert refused.exit_code == 3, refused.output
    assert "incomplete" in refused.output
    outputs = first.output + same.output + worse.output + pinned.output + refused.output
    assert SECRET not in outputs


def test_the_cli_says_clearly_when_no_judge_is_configured(engine: Engine) -> None:
    outcome = CliRunner().invoke(main, ["run", "judge-calibration"])
    assert outcome.exit_code == 1
    assert "no judge endpoint configured" in outcome.output
