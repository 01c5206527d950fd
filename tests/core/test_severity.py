"""Severity from the effect (issue 14.4), through the rules that raise the alerts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from llmwatch.aggregation.rules import baseline_alerts, budget_alerts
from llmwatch.evals.compare import OVERALL, Counts, ProbeStats, compare_canary, compare_golden
from llmwatch.evals.evidence import Evidence, RunVerdict, run_alert
from llmwatch.evals.job import RunReport, regression_alerts
from llmwatch.judge.quality import _quality_alert
from llmwatch.settings import CostSettings, JudgeSettings
from llmwatch.severity import ewma_excursion_sigma, ewma_severity, share_severity
from llmwatch.stats.ewma import EwmaChart, Point
from tests.core.aggregation.test_rules import _history, row

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _monitoring_chart(rng: random.Random) -> EwmaChart:
    chart = EwmaChart("c1", "chat", "judge_score")
    hour = 0
    while chart.phase != "monitoring":
        scores = [rng.gauss(4.0, 0.5) for _ in range(20)]
        chart.add(Point.of(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, scores))
        hour += 1
    return chart


def _first_signal(chart: EwmaChart, drop: float, rng: random.Random) -> tuple[object, int]:
    for hour in range(100, 400):
        scores = [rng.gauss(4.0 - drop, 0.5) for _ in range(20)]
        step = chart.add(Point.of(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, scores))
        if step is not None and step.direction < 0:
            return step, hour
    raise AssertionError("no signal")


def test_an_ewma_alert_is_a_warning_at_the_limit_and_critical_far_beyond_it() -> None:
    rng = random.Random(7)
    small = _monitoring_chart(rng)
    step, _hour = _first_signal(small, 0.25, rng)
    alert = _quality_alert(JudgeSettings(), small, "chat", "m1", step, (T0, T0 + HOUR))  # type: ignore[arg-type]
    excursion = alert.details["excursion_sigma"]
    # A slow drift crosses the limit just: L (3.5) sigma, a little more, not 2 L.
    assert small.limit_l <= excursion < 2 * small.limit_l
    assert alert.severity == "warning"
    assert f"{excursion:.1f} sigma out" in alert.message

    big = _monitoring_chart(random.Random(7))
    # A collapse of the scores: the first point already lands far beyond the limit.
    step, _ = _first_signal(big, 2.5, rng)
    alert = _quality_alert(JudgeSettings(), big, "chat", "m1", step, (T0, T0 + HOUR))  # type: ignore[arg-type]
    assert alert.details["excursion_sigma"] >= 2 * big.limit_l
    assert alert.severity == "critical"


def test_ewma_excursion_in_sigma() -> None:
    assert ewma_excursion_sigma(-0.35, 0.35, 3.5) == 3.5
    assert ewma_excursion_sigma(-0.7, 0.35, 3.5) == 7.0
    assert ewma_severity(6.99, 3.5) == "warning"
    assert ewma_severity(7.0, 3.5) == "critical"


def test_a_spike_is_critical_only_at_three_times_its_median_and_budgets_likewise() -> None:
    cfg = CostSettings(min_history=12)
    history = _history([700 + (i % 5) * 10 for i in range(24)])
    [spike] = [
        a for a in baseline_alerts(row(total_tokens_p50=2000.0), history, cfg)
        if a.kind == "token_spike"
    ]  # fmt: skip
    assert (spike.severity, round(spike.details["ratio_to_median"], 2)) == ("warning", 2.78)
    [huge] = [
        a for a in baseline_alerts(row(total_tokens_p50=2200.0), history, cfg)
        if a.kind == "token_spike"
    ]  # fmt: skip
    assert huge.severity == "critical"

    budget = CostSettings(hourly_budget_usd=5.0)
    [over] = budget_alerts([row(cost_total_usd=6.0)], budget)
    assert (over.severity, over.details["ratio_to_budget"]) == ("warning", 1.2)
    [far_over] = budget_alerts([row(cost_total_usd=15.0)], budget)
    assert far_over.severity == "critical"


def probe(pid: str, passed: int, n: int = 5, fingerprint: str = "a") -> ProbeStats:
    return ProbeStats(pid, passed, n, 0, fingerprint, 1)


def _canary_alert(candidate: dict[str, ProbeStats], reference: dict[str, ProbeStats]):  # type: ignore[no-untyped-def]
    verdict = compare_canary(
        candidate, reference, candidate_name="prod", reference_name="previous run",
        against="previous", alpha=0.05, min_effect=0.2,
    )  # fmt: skip
    overall = next(r for r in verdict.rows if r.name == OVERALL)
    return run_alert(
        RunVerdict(
            kind="canary_regression",
            flow="canary-probes",
            target="prod",
            model_id="m1",
            run_id="r2",
            against="previous",
            reference="previous run",
            reference_run_id="r1",
            set_version="v1",
            started_at=T0,
            finished_at=T0 + HOUR,
            compared=len(reference),
            overall_regressed=overall.significant,
            evidence=[
                Evidence(
                    r.name,
                    r.significant,
                    r.reason,
                    r.test.test,
                    r.test.p_value,
                    r.test.candidate_rate,
                    r.test.reference_rate,
                    (r.test.candidate_passed, r.test.candidate_n),
                    (r.test.reference_passed, r.test.reference_n),
                    r.candidate_fingerprint,
                    r.reference_fingerprint,
                )
                for r in verdict.regressions
            ],
        )
    )


def test_one_canary_run_is_one_alert_and_changed_outputs_alone_are_info() -> None:
    before = {f"p{i}": probe(f"p{i}", 5) for i in range(10)}
    same = {f"p{i}": probe(f"p{i}", 5) for i in range(10)}
    assert _canary_alert(same, before) is None

    # Three probes answer differently, all still pass: evidence, nothing significant.
    changed = {**same, **{f"p{i}": probe(f"p{i}", 5, fingerprint="b") for i in range(3)}}
    alert = _canary_alert(changed, before)
    assert alert is not None
    assert alert.severity == "info"
    evidence = alert.details["evidence"]
    assert [e["name"] for e in evidence] == ["p0", "p1", "p2"]
    assert all(not e["significant"] for e in evidence)
    first = evidence[0]
    assert (first["candidate_fingerprint"], first["reference_fingerprint"]) == ("b", "a")
    assert (first["candidate"], first["reference"], first["p_value"]) == ([5, 5], [5, 5], 1.0)
    assert "changed behaviour with no significant change" in alert.message

    # One probe flipped from always passing to always failing: a warning.
    flipped = {**changed, "p5": probe("p5", 0, fingerprint="c")}
    alert = _canary_alert(flipped, before)
    assert alert is not None
    assert alert.severity == "warning"
    assert alert.details["significant"] == 1
    assert "1 of 10 probe(s) regressed" in alert.message

    # Most probes fail and the overall pass rate drops: critical.
    broken = {f"p{i}": probe(f"p{i}", 0, fingerprint="z") for i in range(10)}
    alert = _canary_alert(broken, before)
    assert alert is not None
    assert alert.severity == "critical"
    assert alert.series_key.endswith("prod|previous|previous run")


def test_golden_severity_follows_the_share_of_intents_that_regressed() -> None:
    reference = {"a": Counts(95, 100), "b": Counts(95, 100), OVERALL: Counts(190, 200)}
    one = {"a": Counts(60, 100), "b": Counts(95, 100), OVERALL: Counts(155, 200)}
    verdict = compare_golden(
        one, reference, candidate_name="prod", reference_name="previous run",
        against="previous", alpha=0.05, min_effect=0.05, min_n=20,
    )  # fmt: skip
    names = [r.name for r in verdict.regressions]
    assert names == ["a", OVERALL]
    report = RunReport(
        kind="golden", run_id="r2", target="prod", model_id="m1", status="ok", set_name="g",
        set_version="v1", started_at=T0, finished_at=T0 + HOUR, n_calls=200, n_errors=0,
        previous_run_id="r1",
    )  # fmt: skip
    [alert] = regression_alerts(report, verdict)
    assert (alert.kind, alert.severity, alert.model_id) == ("golden_regression", "critical", "m1")
    assert [e["name"] for e in alert.details["evidence"]] == ["a", OVERALL]
    assert alert.details["reference_run_id"] == "r1"
    assert "1 of 2 intent(s) regressed" in alert.message
    # 1 of 2 intents regressed and the overall rate dropped: half the intents -> critical.
    assert share_severity(1, 2, overall_regressed=True) == "critical"
    assert share_severity(1, 3, overall_regressed=True) == "warning"
    assert share_severity(2, 3, overall_regressed=False) == "warning"
    assert share_severity(0, 3, overall_regressed=False) == "info"


def test_monte_carlo_in_control_charts_never_page_and_a_small_shift_warns() -> None:
    """Through the production chart: 100 in-control charts of 30 days (hourly points of 20
    judgements) signal rarely and never reach critical; a small shift (0.3 of a score's
    spread) is caught as a warning first in most charts, not as a page."""
    rng = random.Random(2026)
    signals = criticals = 0
    for _ in range(100):
        chart = _monitoring_chart(rng)
        for hour in range(100, 100 + 30 * 24):
            scores = [rng.gauss(4.0, 0.5) for _ in range(20)]
            step = chart.add(Point.of(T0 + hour * HOUR, T0 + (hour + 1) * HOUR, scores))
            if step is not None and step.direction < 0:
                signals += 1
                excursion = ewma_excursion_sigma(step.statistic, step.limit, chart.limit_l)  # type: ignore[arg-type]
                criticals += ewma_severity(excursion, chart.limit_l) == "critical"
    assert criticals == 0
    assert signals <= 30  # about 0.3 false signals per chart-month, by design

    first_severity = []
    for _ in range(100):
        chart = _monitoring_chart(rng)
        step, _ = _first_signal(chart, 0.15, rng)
        excursion = ewma_excursion_sigma(step.statistic, step.limit, chart.limit_l)  # type: ignore[attr-defined]
        first_severity.append(ewma_severity(excursion, chart.limit_l))
    assert first_severity.count("warning") >= 95
