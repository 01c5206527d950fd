"""The statistical checks of a live comparison: is the candidate worse than the baseline?

Every check is one-sided (H1: the candidate is worse) and needs two things to call a
regression: a p-value below the per-check alpha AND an effect at least the configured
minimum. The tests:

* latency, TTFT: Mann-Whitney U on the (bounded, seeded) samples of successful requests,
  H1 "candidate values tend to be larger"; effect = p95(candidate) / p95(baseline), with
  the project's nearest-rank percentile (``llmwatch.stats.percentiles``). The
  Kolmogorov-Smirnov distance is reported too, as evidence of a change of shape.
* error rate: Fisher's exact test when an expected cell count is below 5, else the
  pooled two-proportion z-test; effect = absolute rise of the error rate.
* judged quality: Welch's t-test on judged scores (1-5), H1 "candidate mean is lower";
  effect = drop of the mean score.
* cost per request: Welch's t-test from SQL moments (count, sum, sum of squares) of the
  priced requests, H1 "candidate mean is higher"; effect = ratio of the means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy import stats

from llmwatch.compare.data import ArmData
from llmwatch.settings import CompareSettings
from llmwatch.stats.percentiles import nearest_rank

# 'regressed': significant and large enough; 'ok': tested, no regression;
# 'insufficient': too few values to test; 'unavailable': no such data at all (e.g. no
# TTFT on non-streaming calls, no price known).
Status = Literal["regressed", "ok", "insufficient", "unavailable"]
CHECKS = ("latency", "ttft", "error_rate", "quality", "cost_per_request")


@dataclass(frozen=True)
class Check:
    name: str
    test: str
    status: Status
    baseline_value: float | None
    candidate_value: float | None
    # What the effect is (e.g. 'p95 ratio') and its value and minimum for a regression.
    effect_name: str
    effect: float | None
    min_effect: float
    p_value: float | None
    baseline_n: int
    candidate_n: int
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        return self.status in ("regressed", "ok")


def _decide(p_value: float, effect: float | None, min_effect: float, alpha: float) -> Status:
    if effect is None:
        return "ok"
    return "regressed" if p_value < alpha and effect >= min_effect - 1e-12 else "ok"


def distribution_check(
    name: str,
    baseline: np.ndarray,
    candidate: np.ndarray,
    *,
    min_ratio: float,
    min_samples: int,
    alpha: float,
    populations: tuple[int, int],
) -> Check:
    """Latency-like values: larger is worse."""
    base_sorted, cand_sorted = np.sort(baseline).tolist(), np.sort(candidate).tolist()
    base_p95, cand_p95 = nearest_rank(base_sorted, 0.95), nearest_rank(cand_sorted, 0.95)
    check = Check(
        name=name,
        test="not_tested",
        status="insufficient",
        baseline_value=base_p95,
        candidate_value=cand_p95,
        effect_name="p95 ratio",
        effect=_ratio(cand_p95, base_p95),
        min_effect=min_ratio,
        p_value=None,
        baseline_n=len(base_sorted),
        candidate_n=len(cand_sorted),
        details={"baseline_population": populations[0], "candidate_population": populations[1]},
    )
    if not base_sorted and not cand_sorted:
        return replace(check, status="unavailable")
    if min(len(base_sorted), len(cand_sorted)) < min_samples:
        return check
    mwu = stats.mannwhitneyu(candidate, baseline, alternative="greater", method="asymptotic")
    ks = stats.ks_2samp(candidate, baseline)
    p_value = float(mwu.pvalue)
    return replace(
        check,
        test="mann_whitney_u",
        status=_decide(p_value, check.effect, min_ratio, alpha),
        p_value=p_value,
        details={
            **check.details,
            "baseline_p50": nearest_rank(base_sorted, 0.5),
            "candidate_p50": nearest_rank(cand_sorted, 0.5),
            "u_statistic": float(mwu.statistic),
            "ks_statistic": float(ks.statistic),
            "ks_p_value": float(ks.pvalue),
        },
    )


def error_rate_check(
    baseline: ArmData, candidate: ArmData, *, min_increase: float, min_n: int, alpha: float
) -> Check:
    base_rate, cand_rate = baseline.error_rate, candidate.error_rate
    check = Check(
        name="error_rate",
        test="not_tested",
        status="insufficient",
        baseline_value=base_rate,
        candidate_value=cand_rate,
        effect_name="error rate increase",
        effect=cand_rate - base_rate if base_rate is not None and cand_rate is not None else None,
        min_effect=min_increase,
        p_value=None,
        baseline_n=baseline.n,
        candidate_n=candidate.n,
        details={"baseline_errors": baseline.errors, "candidate_errors": candidate.errors},
    )
    if min(baseline.n, candidate.n) < min_n:
        return check
    test, p_value = _errors_greater(candidate.errors, candidate.n, baseline.errors, baseline.n)
    return replace(
        check,
        test=test,
        status=_decide(p_value, check.effect, min_increase, alpha),
        p_value=p_value,
    )


def _errors_greater(cand_k: int, cand_n: int, base_k: int, base_n: int) -> tuple[str, float]:
    """One-sided p-value of H1: the candidate's error proportion is higher."""
    pooled = (cand_k + base_k) / (cand_n + base_n)
    expected = [n * share for n in (cand_n, base_n) for share in (pooled, 1 - pooled)]
    if min(expected) < 5:
        table = [[cand_k, cand_n - cand_k], [base_k, base_n - base_k]]
        return "fisher_exact", float(stats.fisher_exact(table, alternative="greater").pvalue)
    se = math.sqrt(pooled * (1 - pooled) * (1 / cand_n + 1 / base_n))
    z = (cand_k / cand_n - base_k / base_n) / se
    return "two_proportion_z", float(stats.norm.sf(z))


def quality_check(
    baseline: np.ndarray, candidate: np.ndarray, *, min_drop: float, min_judged: int, alpha: float
) -> Check:
    base_mean = float(baseline.mean()) if baseline.size else None
    cand_mean = float(candidate.mean()) if candidate.size else None
    check = Check(
        name="quality",
        test="not_tested",
        status="insufficient",
        baseline_value=base_mean,
        candidate_value=cand_mean,
        effect_name="mean score drop",
        effect=base_mean - cand_mean if base_mean is not None and cand_mean is not None else None,
        min_effect=min_drop,
        p_value=None,
        baseline_n=int(baseline.size),
        candidate_n=int(candidate.size),
    )
    if base_mean is None and cand_mean is None:
        return replace(check, status="unavailable")
    if base_mean is None or cand_mean is None or min(baseline.size, candidate.size) < min_judged:
        return check
    p_value = _welch_less(
        cand_mean, _var(candidate), candidate.size, base_mean, _var(baseline), baseline.size
    )
    return replace(
        check,
        test="welch_t",
        status=_decide(p_value, check.effect, min_drop, alpha),
        p_value=p_value,
    )


def cost_check(
    baseline: ArmData, candidate: ArmData, *, min_ratio: float, min_n: int, alpha: float
) -> Check:
    base_mean, cand_mean = baseline.cost_mean, candidate.cost_mean
    check = Check(
        name="cost_per_request",
        test="not_tested",
        status="insufficient",
        baseline_value=base_mean,
        candidate_value=cand_mean,
        effect_name="mean cost ratio",
        effect=_ratio(cand_mean, base_mean),
        min_effect=min_ratio,
        p_value=None,
        baseline_n=baseline.cost_n,
        candidate_n=candidate.cost_n,
        details={
            "baseline_unpriced": baseline.n - baseline.cost_n,
            "candidate_unpriced": candidate.n - candidate.cost_n,
        },
    )
    if base_mean is None and cand_mean is None:
        return replace(check, status="unavailable")
    if base_mean is None or cand_mean is None or min(baseline.cost_n, candidate.cost_n) < min_n:
        return check
    # H1 "the candidate costs more" is H1 "the baseline's mean is below the candidate's".
    p_value = _welch_less(
        base_mean,
        baseline.cost_var or 0.0,
        baseline.cost_n,
        cand_mean,
        candidate.cost_var or 0.0,
        candidate.cost_n,
    )
    return replace(
        check,
        test="welch_t",
        status=_decide(p_value, check.effect, min_ratio, alpha),
        p_value=p_value,
    )


def _var(values: np.ndarray) -> float:
    return float(values.var(ddof=1)) if values.size > 1 else 0.0


def _welch_less(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int
) -> float:
    """One-sided Welch p-value of H1: mean a < mean b, from summary statistics."""
    result = stats.ttest_ind_from_stats(
        mean_a,
        math.sqrt(var_a),
        n_a,
        mean_b,
        math.sqrt(var_b),
        n_b,
        equal_var=False,
        alternative="less",
    )
    p_value = float(result.pvalue)
    if math.isnan(p_value):
        # Both sides constant: no evidence either way unless the means differ.
        return 0.0 if mean_a < mean_b else 1.0
    return p_value


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def run_checks(baseline: ArmData, candidate: ArmData, settings: CompareSettings) -> list[Check]:
    """All checks, each at the Bonferroni-corrected alpha / CHECKS."""
    alpha = settings.alpha / len(CHECKS)
    return [
        distribution_check(
            "latency",
            baseline.latency_ms,
            candidate.latency_ms,
            min_ratio=settings.latency_p95_min_ratio,
            min_samples=settings.min_latency_samples,
            alpha=alpha,
            populations=(baseline.latency_population, candidate.latency_population),
        ),
        distribution_check(
            "ttft",
            baseline.ttft_ms,
            candidate.ttft_ms,
            min_ratio=settings.ttft_p95_min_ratio,
            min_samples=settings.min_latency_samples,
            alpha=alpha,
            populations=(baseline.ttft_population, candidate.ttft_population),
        ),
        error_rate_check(
            baseline,
            candidate,
            min_increase=settings.error_rate_min_increase,
            min_n=settings.min_requests,
            alpha=alpha,
        ),
        quality_check(
            baseline.scores,
            candidate.scores,
            min_drop=settings.quality_min_drop,
            min_judged=settings.min_judged,
            alpha=alpha,
        ),
        cost_check(
            baseline,
            candidate,
            min_ratio=settings.cost_min_ratio,
            min_n=settings.min_latency_samples,
            alpha=alpha,
        ),
    ]
