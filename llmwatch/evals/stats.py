"""Is the candidate's pass rate lower than the reference's? (SPEC 5: proportions)

One-sided test of H0: p_candidate >= p_reference against H1: p_candidate < p_reference.
Fisher's exact test is used when any expected cell count is below 5 (small intents,
probes), otherwise the pooled two-proportion z-test. A regression needs both
significance (p < alpha) and a drop of at least ``min_effect`` in absolute pass rate:
with hundreds of examples a 0.5-point drop can be significant and still not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class ProportionTest:
    test: str  # 'fisher_exact', 'two_proportion_z' or 'insufficient_data'
    candidate_passed: int
    candidate_n: int
    reference_passed: int
    reference_n: int
    p_value: float | None
    regressed: bool

    @property
    def candidate_rate(self) -> float | None:
        return self.candidate_passed / self.candidate_n if self.candidate_n else None

    @property
    def reference_rate(self) -> float | None:
        return self.reference_passed / self.reference_n if self.reference_n else None

    @property
    def difference(self) -> float | None:
        if self.candidate_rate is None or self.reference_rate is None:
            return None
        return self.candidate_rate - self.reference_rate


def proportion_test(
    candidate_passed: int,
    candidate_n: int,
    reference_passed: int,
    reference_n: int,
    *,
    alpha: float = 0.05,
    min_effect: float = 0.05,
    min_n: int = 1,
) -> ProportionTest:
    for passed, n in ((candidate_passed, candidate_n), (reference_passed, reference_n)):
        if n < 0 or not 0 <= passed <= n:
            raise ValueError(f"invalid counts: {passed} passed of {n}")
    if candidate_n < min_n or reference_n < min_n:
        return ProportionTest(
            "insufficient_data",
            candidate_passed,
            candidate_n,
            reference_passed,
            reference_n,
            None,
            False,
        )
    total_n = candidate_n + reference_n
    total_passed = candidate_passed + reference_passed
    expected = [
        n * share
        for n in (candidate_n, reference_n)
        for share in (total_passed / total_n, 1 - total_passed / total_n)
    ]
    if min(expected) < 5:
        table = [
            [candidate_passed, candidate_n - candidate_passed],
            [reference_passed, reference_n - reference_passed],
        ]
        p_value = float(stats.fisher_exact(table, alternative="less").pvalue)
        name = "fisher_exact"
    else:
        pooled = total_passed / total_n
        se = math.sqrt(pooled * (1 - pooled) * (1 / candidate_n + 1 / reference_n))
        z = (candidate_passed / candidate_n - reference_passed / reference_n) / se
        p_value = float(stats.norm.cdf(z))
        name = "two_proportion_z"
    drop = reference_passed / reference_n - candidate_passed / candidate_n
    regressed = p_value < alpha and drop >= min_effect - 1e-12
    return ProportionTest(
        name, candidate_passed, candidate_n, reference_passed, reference_n, p_value, regressed
    )
