"""One golden or canary verdict, one alert: the probes or intents it rests on are the
alert's evidence rows, not alerts of their own (SPEC 4.7).

Any verdict type fills the same shape: a list of ``Evidence`` (what was compared, the
test and its p-value, rates and counts before/after, fingerprints before/after, and
whether the row is *significant*: a drop the test vouches for, or a deterministic probe
that flipped from always passing to always failing). A row that is not significant (a
deterministic output that changed while its pass rate held, "100.0 % vs 100.0 %, p = 1")
stays evidence; the alert's severity follows the share of significant rows
(``llmwatch.severity.share_severity``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from llmwatch.alerts import NewAlert
from llmwatch.evals.compare import OVERALL
from llmwatch.severity import share_severity

MAX_EVIDENCE_IN_MESSAGE = 3


@dataclass(frozen=True)
class Evidence:
    name: str  # a probe or an intent, or "(overall)"
    significant: bool
    reason: str
    test: str
    p_value: float | None
    candidate_rate: float | None
    reference_rate: float | None
    candidate: tuple[int, int]  # (passed, scored)
    reference: tuple[int, int]
    candidate_fingerprint: str | None = None
    reference_fingerprint: str | None = None
    # Whatever else a verdict type measures (a distance, a statistic).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["candidate"] = list(self.candidate)
        out["reference"] = list(self.reference)
        return out

    def describe(self) -> str:
        def rate(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1%}"

        p = "n/a" if self.p_value is None else f"{self.p_value:.3g}"
        return (
            f"{self.name}: {self.reason} ({rate(self.candidate_rate)} vs "
            f"{rate(self.reference_rate)}; {self.test}, p={p})"
        )


@dataclass(frozen=True)
class RunVerdict:
    """What a verdict says about one run of one target, as the alert needs it."""

    kind: str  # 'golden_regression' or 'canary_regression'
    flow: str
    target: str
    model_id: str
    run_id: str
    against: str  # 'baseline' or 'previous'
    reference: str
    reference_run_id: str | None
    set_version: str
    started_at: datetime
    finished_at: datetime
    # Every row compared (significant or not); OVERALL counts in ``overall_regressed``.
    compared: int
    overall_regressed: bool
    evidence: list[Evidence]


def run_alert(verdict: RunVerdict) -> NewAlert | None:
    """The run's one alert, or None when nothing changed."""
    if not verdict.evidence:
        return None
    # The overall row is evidence too, but the share is of probes or intents.
    significant = [e for e in verdict.evidence if e.significant and e.name != OVERALL]
    subject = "intent" if verdict.kind == "golden_regression" else "probe"
    vs = f"baseline {verdict.reference}" if verdict.against == "baseline" else "previous run"
    listed = significant or verdict.evidence
    shown = listed[:MAX_EVIDENCE_IN_MESSAGE]
    more = len(listed) - len(shown)
    if significant:
        head = f"{len(significant)} of {verdict.compared} {subject}(s) regressed"
    else:
        head = (
            f"{len(verdict.evidence)} {subject}(s) changed behaviour with no significant "
            "change in pass rate"
        )
    message = (
        f"{verdict.kind.split('_')[0]} run on target {verdict.target} vs the {vs}: {head}: "
        + "; ".join(e.describe() for e in shown)
        + (f"; and {more} more" if more > 0 else "")
    )
    return NewAlert(
        kind=verdict.kind,
        flow=verdict.flow,
        severity=share_severity(len(significant), verdict.compared, verdict.overall_regressed),
        model_id=verdict.model_id,
        metric="regressed_share",
        value=len(significant) / verdict.compared if verdict.compared else None,
        window_start=verdict.started_at,
        window_end=verdict.finished_at,
        message=message,
        details={
            "target": verdict.target,
            "run_id": verdict.run_id,
            "against": verdict.against,
            "reference": verdict.reference,
            "reference_run_id": verdict.reference_run_id,
            "set_version": verdict.set_version,
            "compared": verdict.compared,
            "significant": len(significant),
            "overall_regressed": verdict.overall_regressed,
            "evidence": [e.to_dict() for e in verdict.evidence],
        },
        series_suffix=f"{verdict.target}|{verdict.against}|{verdict.reference}",
    )
