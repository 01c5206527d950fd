"""Accuracy, Cohen's kappa and the drop test, and the drop test's error rates by Monte
Carlo through the production functions on the shipped set's known verdicts."""

from __future__ import annotations

import math
import random

import pytest

from llmwatch.judge.agreement import FAILED, agreement, cohens_kappa, drop_test
from llmwatch.judge.calibration_set import load_calibration_set


def test_kappa_matches_a_hand_computed_table() -> None:
    # 50 items: both say yes 20, both no 15, a yes/b no 10, a no/b yes 5.
    a = ["yes"] * 20 + ["no"] * 15 + ["yes"] * 10 + ["no"] * 5
    b = ["yes"] * 20 + ["no"] * 15 + ["no"] * 10 + ["yes"] * 5
    # p_o = 35/50 = 0.7; p_e = (30*25 + 20*25)/2500 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohens_kappa(a, b) == pytest.approx(0.4)
    assert cohens_kappa(a, a) == pytest.approx(1.0)


def test_a_judge_that_says_good_to_everything_has_no_skill() -> None:
    known = ["good", "bad"] * 50
    result = agreement(known, ["good"] * 100)
    assert result.accuracy == pytest.approx(0.5)
    assert result.kappa == pytest.approx(0.0)


def test_unusable_answers_are_failures_never_matches() -> None:
    known = ["good", "good", "bad", "bad"]
    result = agreement(known, ["good", None, "bad", None])
    assert (result.n, result.agreed, result.failures) == (4, 2, 2)
    assert result.accuracy == pytest.approx(0.5)
    assert result.confusion[("good", FAILED)] == 1
    assert result.confusion[("bad", FAILED)] == 1
    # A judge that fails on everything agrees with nothing.
    assert agreement(known, [None] * 4).accuracy == 0.0


def test_kappa_is_undefined_when_chance_agreement_is_certain() -> None:
    assert cohens_kappa(["good"] * 5, ["good"] * 5) is None
    assert cohens_kappa([], []) is None
    with pytest.raises(ValueError, match="3 known verdicts but 2"):
        agreement(["good"] * 3, ["good"] * 2)


def test_drop_test_matches_the_pooled_z_by_hand() -> None:
    base = agreement(["good"] * 100, ["good"] * 90 + ["bad"] * 10)
    cur = agreement(["good"] * 100, ["good"] * 75 + ["bad"] * 25)
    pooled = 165 / 200
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * 0.02)
    test = drop_test(base, cur, alpha=0.01, min_drop=0.05)
    assert test.z == pytest.approx(z)
    assert test.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    assert test.drifted
    assert test.drop == pytest.approx(0.15)
    # Significant but under the minimum effect: no drift.
    assert not drop_test(base, cur, alpha=0.01, min_drop=0.2).drifted
    # A rise is never a drift; equal perfect runs have nothing to test.
    assert drop_test(cur, base, alpha=0.01, min_drop=0.0).p_value > 0.99
    perfect = agreement(["good"] * 10, ["good"] * 10)
    assert drop_test(perfect, perfect, alpha=0.01, min_drop=0.0).p_value == 1.0


def _simulated_run(known: list[str], accuracy: float, rng: random.Random) -> list[str | None]:
    """A judge that gets each item right with probability ``accuracy``."""
    flip = {"good": "bad", "bad": "good"}
    return [k if rng.random() < accuracy else flip[k] for k in known]


def _drift_rate(base_acc: float, cur_acc: float, alpha: float, min_drop: float, runs: int) -> float:
    known = [item.expected for item in load_calibration_set().items]
    rng = random.Random(17)
    hits = 0
    for _ in range(runs):
        baseline = agreement(known, _simulated_run(known, base_acc, rng))
        current = agreement(known, _simulated_run(known, cur_acc, rng))
        hits += drop_test(baseline, current, alpha=alpha, min_drop=min_drop).drifted
    return hits / runs


RUNS = 4000


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_an_unchanged_judge_drifts_at_about_alpha(alpha: float) -> None:
    # Without a minimum effect the rate is the test's size; it must stay near alpha
    # (not above it, and not so conservative that it has thrown away its power).
    rate = _drift_rate(0.9, 0.9, alpha, 0.0, RUNS)
    se = math.sqrt(alpha * (1 - alpha) / RUNS)
    print(f"unchanged judge (accuracy 0.90, n=144): false drift rate {rate:.4f} at alpha {alpha}")
    assert alpha / 2 - 3 * se <= rate <= alpha + 3 * se
    # The shipped defaults (alpha 0.01, minimum drop 5 points) are quieter still.
    if alpha == 0.01:
        assert _drift_rate(0.9, 0.9, alpha, 0.05, RUNS) <= alpha + 3 * se


@pytest.mark.parametrize(("drop", "power_at_least"), [(0.20, 0.97), (0.15, 0.75)])
def test_a_degraded_judge_is_detected(drop: float, power_at_least: float) -> None:
    # Normal approximation at n=144 per run, one-sided alpha 0.01: 20 points ~0.99,
    # 15 points ~0.85.
    rate = _drift_rate(0.9, 0.9 - drop, 0.01, 0.05, 2000)
    print(f"judge accuracy 0.90 -> {0.9 - drop:.2f}: detected in {rate:.3f} of runs")
    assert rate >= power_at_least
