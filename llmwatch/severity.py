"""Severity from the size of the effect (SPEC 4.7), one rule per kind of evidence.

``critical`` pages someone, so it is kept for effects far past the line that raised the
alert; crossing the line is a ``warning``; a change without a significant effect (a canary
whose outputs changed while its pass rates held) is ``info``. The README's table "How
severe is an alert" lists the same mapping.

* EWMA control chart (``quality_regression``): the excursion of the EWMA statistic in its
  own standard deviations, ``L * |z| / limit``; a signal needs ``L`` (4.0). Critical from
  ``2 L``: twice as far out as the control limit.
* SLO burn rate (``slo_breach``): the fast-burn page rule is critical (a 30-day budget
  gone in about two days), the slow-burn ticket rule a warning (``llmwatch.slo.rules``).
* Ratio to a reference (``cost_anomaly``, ``token_spike``): critical from
  ``CRITICAL_RATIO`` times the trailing median, or times the hourly budget.
* Share changed (``canary_regression``, ``golden_regression``): info when no probe or
  intent moved significantly; warning when some did; critical when the overall pass
  rate dropped significantly and at least ``CRITICAL_SHARE`` of them regressed.
"""

from __future__ import annotations

INFO, WARNING, CRITICAL = "info", "warning", "critical"
CRITICAL_EXCURSION_IN_LIMITS = 2.0
CRITICAL_RATIO = 3.0
CRITICAL_SHARE = 0.5


def ewma_excursion_sigma(statistic: float, limit: float, limit_l: float) -> float:
    """How far the EWMA statistic is from its centre, in its own standard deviations."""
    if limit <= 0:
        raise ValueError("an EWMA control limit is positive")
    return limit_l * abs(statistic) / limit


def ewma_severity(excursion_sigma: float, limit_l: float) -> str:
    return CRITICAL if excursion_sigma >= CRITICAL_EXCURSION_IN_LIMITS * limit_l else WARNING


def ratio_severity(ratio: float) -> str:
    """A value ``ratio`` times its reference (trailing median, budget) that already
    crossed its alert threshold."""
    return CRITICAL if ratio >= CRITICAL_RATIO else WARNING


def share_severity(significant: int, total: int, overall_regressed: bool) -> str:
    """``significant`` of ``total`` probes or intents regressed significantly."""
    if significant == 0:
        return INFO
    if overall_regressed and total and significant / total >= CRITICAL_SHARE:
        return CRITICAL
    return WARNING
