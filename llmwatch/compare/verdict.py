"""Promote, hold or rollback: the verdict of a live comparison, with its evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine

from llmwatch.compare.checks import Check, run_checks
from llmwatch.compare.data import ArmData, ArmKind, ArmQuery, load_arm
from llmwatch.settings import Settings

Verdict = Literal["promote", "hold", "rollback"]
# Exit codes of `llmwatch run compare` (2 is click's own usage-error code).
EXIT_CODES: dict[str, int] = {"promote": 0, "rollback": 1, "hold": 3}


@dataclass(frozen=True)
class ArmSummary:
    name: str
    requests: int
    errors: int
    priced: int
    judged: int
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    by: ArmKind
    baseline: ArmSummary
    candidate: ArmSummary
    feature: str | None
    since: datetime
    until: datetime
    checks: list[Check]
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    # Caveats on reading the verdict (e.g. the arms serve different features).
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["until"] = self.until.isoformat()
        return data


def decide(
    baseline: ArmData, candidate: ArmData, checks: list[Check], settings: Settings
) -> tuple[Verdict, list[str]]:
    """Too few requests: hold; any regression: rollback; else promote (unless quality is
    required and could not be tested)."""
    cfg = settings.compare
    short = [a for a in (baseline, candidate) if a.n < cfg.min_requests]
    if short:
        return "hold", [
            f"not enough data: {arm.name} has {arm.n} request(s), {cfg.min_requests} needed"
            for arm in short
        ]
    regressed = [c for c in checks if c.status == "regressed"]
    if regressed:
        return "rollback", [_regression_reason(c) for c in regressed]
    quality = next(c for c in checks if c.name == "quality")
    if cfg.require_quality and not quality.tested:
        return "hold", [
            f"not enough judged requests: {quality.baseline_n} baseline and "
            f"{quality.candidate_n} candidate, {cfg.min_judged} needed on each side"
        ]
    untested = [c.name for c in checks if not c.tested]
    reasons = ["no check regressed"]
    if untested:
        reasons.append(f"not tested (no or too little data): {', '.join(untested)}")
    return "promote", reasons


def _regression_reason(check: Check) -> str:
    return (
        f"{check.name}: {check.effect_name} {_fmt(check.effect)} "
        f"(minimum {_fmt(check.min_effect)}), {check.test} p={check.p_value:.3g}"
    )


def compare_versions(
    engine: Engine,
    settings: Settings,
    *,
    baseline: str,
    candidate: str,
    since: datetime,
    until: datetime,
    by: ArmKind = "model",
    feature: str | None = None,
) -> Comparison:
    """Compare the candidate's live records with the baseline's in [since, until)."""
    if baseline == candidate:
        raise ValueError("baseline and candidate are the same version")
    if until <= since:
        raise ValueError(
            f"empty period: since {since.isoformat()} is not before {until.isoformat()}"
        )
    cfg = settings.compare
    arms = []
    with engine.connect() as conn:
        for value in (baseline, candidate):
            query = ArmQuery(by, value, since, until, feature, settings.judge.rubric_version)
            arms.append(load_arm(conn, query, max_samples=cfg.max_samples, seed=cfg.sample_seed))
    base, cand = arms
    checks = run_checks(base, cand, cfg)
    verdict, reasons = decide(base, cand, checks, settings)
    return Comparison(
        by=by,
        baseline=_summary(base),
        candidate=_summary(cand),
        feature=feature,
        since=since,
        until=until,
        checks=checks,
        verdict=verdict,
        reasons=reasons,
        warnings=feature_warnings(base, cand, feature),
    )


def feature_warnings(baseline: ArmData, candidate: ArmData, feature: str | None) -> list[str]:
    """A warning when the arms serve different features: their latency, cost and quality
    then differ by what they serve, not only by version (compare one with --feature)."""
    if feature is not None or not baseline.features or not candidate.features:
        return []
    if set(baseline.features) == set(candidate.features):
        return []
    return [
        f"the arms serve different features: baseline {', '.join(baseline.features)}; "
        f"candidate {', '.join(candidate.features)} - the checks mix them, compare one "
        "feature with --feature"
    ]


def _summary(arm: ArmData) -> ArmSummary:
    return ArmSummary(arm.name, arm.n, arm.errors, arm.cost_n, int(arm.scores.size), arm.features)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


def format_comparison(comparison: Comparison) -> str:
    """A plain-text table of the checks and the verdict with its reasons."""
    c = comparison
    scope = f" feature {c.feature}" if c.feature else ""
    lines = [
        f"{c.by} {c.candidate.name} (candidate) vs {c.baseline.name} (baseline){scope}, "
        f"{c.since.isoformat()} .. {c.until.isoformat()}",
        f"requests: baseline {c.baseline.requests} ({c.baseline.errors} errors, "
        f"{c.baseline.judged} judged), candidate {c.candidate.requests} "
        f"({c.candidate.errors} errors, {c.candidate.judged} judged)",
        *[f"WARNING: {warning}" for warning in c.warnings],
        "",
        f"{'check':<17}{'baseline':>12}{'candidate':>12}  {'effect':<26}{'test':<18}"
        f"{'p':>10}  status",
    ]
    for check in c.checks:
        effect = f"{check.effect_name} {_fmt(check.effect)} (min {_fmt(check.min_effect)})"
        p_value = f"{check.p_value:.3g}" if check.p_value is not None else "-"
        lines.append(
            f"{check.name:<17}{_fmt(check.baseline_value):>12}{_fmt(check.candidate_value):>12}"
            f"  {effect:<26}{check.test:<18}{p_value:>10}  {check.status}"
        )
    lines += ["", f"VERDICT: {c.verdict.upper()}"] + [f"  - {r}" for r in c.reasons]
    return "\n".join(lines)
