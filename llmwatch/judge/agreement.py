"""Agreement of a judge with known verdicts, and the test for a drop between two runs.

Agreement: accuracy (the share of items whose verdict matches the known one) and
Cohen's kappa (1960), which discounts the agreement a judge would reach by chance with
its own label frequencies: a judge that calls everything ``good`` on a balanced set has
an accuracy of 0.5 and a kappa of 0. A judge answer that could not be used (a parse
failure or a refused call) is its own label, ``failed``: it never matches a known
verdict, so it lowers both figures and is never read as a default score.

Drop: a one-sided two-proportion z-test (pooled) of "the current run's accuracy is
lower than the pinned run's", with a minimum effect (SPEC 5: a regression of a pass
rate needs both significance and a minimum size). The two runs judge the same items,
so their outcomes are positively correlated; the unpaired test ignores that and is
conservative for it (its false-alarm rate stays at or under alpha, checked by Monte
Carlo in tests/core/judge/test_agreement.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

FAILED = "failed"


@dataclass(frozen=True)
class Agreement:
    n: int
    agreed: int
    failures: int
    kappa: float | None
    # (known verdict, judge label) -> count; the judge label may be FAILED.
    confusion: dict[tuple[str, str], int]

    @property
    def accuracy(self) -> float:
        return self.agreed / self.n if self.n else 0.0


def agreement(known: Sequence[str], judged: Sequence[str | None]) -> Agreement:
    """Agreement of ``judged`` (None: the judge's answer was unusable) with ``known``."""
    if len(known) != len(judged):
        raise ValueError(f"{len(known)} known verdicts but {len(judged)} judge labels")
    labels = [FAILED if label is None else label for label in judged]
    n = len(known)
    agreed = sum(1 for k, j in zip(known, labels, strict=True) if k == j)
    confusion = Counter(zip(known, labels, strict=True))
    return Agreement(
        n=n,
        agreed=agreed,
        failures=labels.count(FAILED),
        kappa=cohens_kappa(known, labels),
        confusion=dict(confusion),
    )


def cohens_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two labellings of the same items; None when chance agreement is
    certain (both gave one and the same label to everything), where it is undefined."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(1 for a, b in zip(first, second, strict=True) if a == b) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[label] * counts_b[label] for label in counts_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class DropTest:
    baseline_accuracy: float
    accuracy: float
    z: float
    p_value: float
    drifted: bool

    @property
    def drop(self) -> float:
        return self.baseline_accuracy - self.accuracy


def drop_test(
    baseline: Agreement, current: Agreement, *, alpha: float, min_drop: float
) -> DropTest:
    """Has the accuracy dropped from ``baseline`` to ``current``? Significant at ``alpha``
    (one-sided) and at least ``min_drop`` (in accuracy points, 0..1)."""
    if baseline.n == 0 or current.n == 0:
        raise ValueError("a drop test needs judged items on both sides")
    p1, p2 = baseline.accuracy, current.accuracy
    pooled = (baseline.agreed + current.agreed) / (baseline.n + current.n)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / baseline.n + 1.0 / current.n))
    if se == 0.0:
        # Both runs all right or all wrong: the same accuracy, nothing to test.
        z, p_value = 0.0, 1.0
    else:
        z = (p1 - p2) / se
        p_value = 0.5 * math.erfc(z / math.sqrt(2.0))
    # The tolerance keeps a drop of exactly min_drop (in float arithmetic) a drop.
    drifted = p_value < alpha and (p1 - p2) >= min_drop - 1e-12
    return DropTest(baseline_accuracy=p1, accuracy=p2, z=z, p_value=p_value, drifted=drifted)
