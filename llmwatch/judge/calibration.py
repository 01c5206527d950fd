"""The judge judged: the configured judge scores the calibration set, its agreement with
the known verdicts is stored per run and tested against the pinned run (issue 17.5).

A series is one judge model under one rubric version on one version of the set. Its
first complete run is pinned as the baseline (so is any run made with ``pin``); every
later complete run is tested against the newest pinned run, never against the previous
run, so a slow slide is not absorbed run by run. A significant drop of at least
``min_drop`` raises ``judge_drift`` for the judge model: the quality charts of the
application are judged by this judge, so their alerts are suspect while it is open.

A run that did not judge every item (the endpoint went down, the budget ran out) is
stored as ``incomplete`` and tested against nothing: an outage is not a drift, and
``judge_failure`` covers a judge that cannot answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.judge.agreement import Agreement, DropTest, agreement, drop_test
from llmwatch.judge.calibration_set import CalibrationSet, load_calibration_set
from llmwatch.judge.job import JudgeSetup
from llmwatch.judge.runner import JudgeRunReport, judge_selection
from llmwatch.judge.store import Sample, Selection
from llmwatch.llm import ChatClient
from llmwatch.settings import JudgeCalibrationSettings
from llmwatch.warehouse.models import JudgeCalibrationRun

FLOW = "judge-calibration"
METRIC = "judge_calibration_accuracy"
FEATURE = "judge_calibration"


@dataclass
class CalibrationOutcome:
    """What the judge said about each item: 'good', 'bad' or None (unusable answer);
    items missing from ``labels`` were never judged (the run stopped)."""

    labels: dict[str, str | None]
    report: JudgeRunReport
    # Why each unusable answer was unusable, by item id.
    failure_reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class CalibrationResult:
    run_id: int
    judge_model: str
    rubric_version: str
    set_version: str
    n_items: int
    agreement: Agreement
    verdict: str  # 'baseline', 'ok', 'drift' or 'incomplete'
    baseline_run_id: int | None = None
    test: DropTest | None = None
    alert_ids: list[int] = field(default_factory=list)
    stopped: str | None = None


def label_of(row: dict[str, Any], pass_score: float) -> str | None:
    """The judge's verdict on one item from its judgement row; None if it was unusable."""
    if row["status"] != "ok":
        return None
    good = row["score"] >= pass_score and not row["hallucination"]
    return "good" if good else "bad"


async def judge_calibration_set(
    setup: JudgeSetup,
    cfg: JudgeCalibrationSettings,
    cal_set: CalibrationSet,
    now: datetime,
) -> CalibrationOutcome:
    """Every item of the set through the same runner, rubric and parser as production
    judging (one shared client, bounded concurrency, retries, budget, early stop)."""
    samples = [
        Sample(item.id, FEATURE, setup.judge_model, now, now, item.question, item.answer)
        for item in cal_set.items
    ]
    rows: list[dict[str, Any]] = []

    def sink(batch: list[dict[str, Any]], _watermark: datetime | None) -> int:
        rows.extend(batch)
        return len(batch)

    async with ChatClient(setup.endpoint, setup.limits, setup.budget()) as client:
        report = await judge_selection(
            client,
            setup.rubric,
            Selection(samples=samples, mode="range"),
            sink,
            judge_model=setup.judge_model,
            # The set holds no personal data; redaction would only alter the facts.
            redact_pii=False,
            commit_every=len(samples) + 1,
            formats=setup.formats,
            endpoint_key=setup.endpoint_key,
        )
    labels = {row["request_id"]: label_of(row, cfg.pass_score) for row in rows}
    reasons = {
        row["request_id"]: str(row["failure_reason"]) for row in rows if row["status"] != "ok"
    }
    return CalibrationOutcome(labels, report, reasons)


def record_calibration(
    engine: Engine,
    setup: JudgeSetup,
    cfg: JudgeCalibrationSettings,
    cal_set: CalibrationSet,
    outcome: CalibrationOutcome,
    *,
    pin: bool = False,
    now: datetime | None = None,
) -> CalibrationResult:
    """Store the run, test it against the pinned run and raise ``judge_drift`` on a
    drop, all in one transaction."""
    now = now or datetime.now(UTC)
    judged = [item for item in cal_set.items if item.id in outcome.labels]
    agreed = agreement(
        [item.expected for item in judged], [outcome.labels[item.id] for item in judged]
    )
    complete = len(judged) == len(cal_set.items)
    result = CalibrationResult(
        run_id=0,
        judge_model=setup.judge_model,
        rubric_version=setup.rubric.version,
        set_version=cal_set.version,
        n_items=len(cal_set.items),
        agreement=agreed,
        verdict="incomplete",
        stopped=outcome.report.stopped,
    )
    with engine.begin() as conn:
        baseline = _pinned_run(conn, result) if complete else None
        if complete and (pin or baseline is None):
            result.verdict = "baseline"
        elif complete and baseline is not None:
            result.baseline_run_id = baseline.id
            result.test = drop_test(
                _stored_agreement(baseline), agreed, alpha=cfg.alpha, min_drop=cfg.min_drop
            )
            result.verdict = "drift" if result.test.drifted else "ok"
        result.run_id = conn.execute(
            insert(JudgeCalibrationRun).returning(JudgeCalibrationRun.id),
            _row(result, now, cal_set, outcome),
        ).scalar_one()
        if result.verdict == "drift":
            assert baseline is not None
            assert result.test is not None
            result.alert_ids = record_alerts(
                conn, [_drift_alert(result, baseline, cfg, now)], now=now
            )
            if result.alert_ids:
                conn.execute(
                    update(JudgeCalibrationRun)
                    .where(JudgeCalibrationRun.id == result.run_id)
                    .values(alert_id=result.alert_ids[0])
                )
    return result


async def run_calibration(
    engine: Engine,
    setup: JudgeSetup,
    cfg: JudgeCalibrationSettings,
    *,
    pin: bool = False,
    cal_set: CalibrationSet | None = None,
) -> CalibrationResult:
    """Judge the shipped set now and record the run (no Prefect: a notebook can call it)."""
    cal_set = cal_set or load_calibration_set()
    now = datetime.now(UTC)
    outcome = await judge_calibration_set(setup, cfg, cal_set, now)
    return record_calibration(engine, setup, cfg, cal_set, outcome, pin=pin, now=now)


def format_result(result: CalibrationResult) -> str:
    """One line a person reads: accuracy, kappa, n, p and the verdict."""
    a = result.agreement
    kappa = "n/a" if a.kappa is None else f"{a.kappa:.3f}"
    line = (
        f"judge {result.judge_model} (rubric {result.rubric_version}, set "
        f"{result.set_version}): accuracy {a.accuracy:.3f}, kappa {kappa}, "
        f"n {a.n}/{result.n_items}, {a.failures} unusable answer(s)"
    )
    if result.test is not None:
        t = result.test
        line += (
            f"; vs pinned run #{result.baseline_run_id} accuracy {t.baseline_accuracy:.3f}: "
            f"drop {t.drop:+.3f}, p {t.p_value:.4g}"
        )
    else:
        line += "; p n/a"
    line += f"; verdict {result.verdict}"
    if result.verdict == "incomplete" and result.stopped:
        line += f" (run stopped: {result.stopped})"
    return line


def _pinned_run(conn: Any, result: CalibrationResult) -> Any:
    query = (
        select(JudgeCalibrationRun.__table__)
        .where(JudgeCalibrationRun.judge_model == result.judge_model)
        .where(JudgeCalibrationRun.rubric_version == result.rubric_version)
        .where(JudgeCalibrationRun.set_version == result.set_version)
        .where(JudgeCalibrationRun.pinned.is_(True))
        .order_by(JudgeCalibrationRun.run_at.desc(), JudgeCalibrationRun.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def _stored_agreement(run: Any) -> Agreement:
    return Agreement(
        n=run.n_judged,
        agreed=run.n_agreed,
        failures=run.n_failures,
        kappa=run.kappa,
        confusion={},
    )


def _row(
    result: CalibrationResult, now: datetime, cal_set: CalibrationSet, outcome: CalibrationOutcome
) -> dict[str, Any]:
    a = result.agreement
    constructions = {item.id: item.construction for item in cal_set.items}
    wrong_by_construction = Counter(
        constructions[item.id]
        for item in cal_set.items
        if item.id in outcome.labels and outcome.labels[item.id] != item.expected
    )
    return {
        "run_at": now,
        "judge_model": result.judge_model,
        "rubric_version": result.rubric_version,
        "set_version": result.set_version,
        "n_items": result.n_items,
        "n_judged": a.n,
        "n_agreed": a.agreed,
        "n_failures": a.failures,
        "accuracy": a.accuracy if a.n else None,
        "kappa": a.kappa,
        "pinned": result.verdict == "baseline",
        "baseline_run_id": result.baseline_run_id,
        "p_value": result.test.p_value if result.test else None,
        "verdict": result.verdict,
        "alert_id": None,
        "details": {
            "confusion": {f"{k}->{j}": n for (k, j), n in sorted(a.confusion.items())},
            "disagreements_by_construction": dict(sorted(wrong_by_construction.items())),
            "failure_reasons": dict(sorted(outcome.failure_reasons.items())[:20]),
            "stopped": outcome.report.stopped,
            "client": outcome.report.client,
        },
    }


def _drift_alert(
    result: CalibrationResult,
    baseline: Any,
    cfg: JudgeCalibrationSettings,
    now: datetime,
) -> NewAlert:
    test = result.test
    assert test is not None
    a = result.agreement
    severity = "critical" if test.drop >= cfg.critical_drop else "warning"
    return NewAlert(
        kind="judge_drift",
        flow=FLOW,
        severity=severity,
        model_id=result.judge_model,
        metric=METRIC,
        value=round(test.accuracy, 4),
        threshold=round(test.baseline_accuracy, 4),
        window_start=now,
        window_end=now,
        message=(
            f"judge {result.judge_model} agrees with the calibration set's known verdicts "
            f"less than its pinned run #{baseline.id}: accuracy {test.accuracy:.3f} vs "
            f"{test.baseline_accuracy:.3f} (p {test.p_value:.3g}, kappa "
            f"{'n/a' if a.kappa is None else f'{a.kappa:.3f}'}); quality alerts judged by "
            f"it may reflect the judge, not the application"
        ),
        details={
            "run_id": result.run_id,
            "baseline_run_id": baseline.id,
            "rubric_version": result.rubric_version,
            "set_version": result.set_version,
            "n": a.n,
            "accuracy": test.accuracy,
            "baseline_accuracy": test.baseline_accuracy,
            "kappa": a.kappa,
            "baseline_kappa": baseline.kappa,
            "p_value": test.p_value,
            "unusable_answers": a.failures,
        },
    )
