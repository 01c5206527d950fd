"""Verdicts: a candidate run against a reference run (previous run or baseline target).

Golden: per intent and overall, a one-sided proportion test with a minimum effect
(:mod:`llmwatch.evals.stats`). Canary: per probe and overall, the same test on the
repetitions, plus two rules for temperature-0 probes, whose repetitions are not
independent samples: a deterministic probe that always passed and now always fails has
regressed, and - against the previous run of the SAME target only - a deterministic
probe whose output changed has changed behaviour (a silent provider update). That rule
is right only for deterministic endpoints (the bundled simulator at temperature 0): real
providers vary at temperature 0 too, and their targets use the distributional canary
(``canary_test = "distribution"``, :mod:`llmwatch.evals.distribution`) instead.
Errors never count: the counts are of answered calls only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from llmwatch.evals.runner import ExampleResult, ProbeResult
from llmwatch.evals.stats import ProportionTest, proportion_test

OVERALL = "(overall)"


@dataclass(frozen=True)
class Counts:
    passed: int
    scored: int
    errors: int = 0


@dataclass(frozen=True)
class ProbeStats:
    probe_id: str
    passed: int
    scored: int
    errors: int
    output_fingerprint: str | None
    distinct_outputs: int

    @property
    def deterministic(self) -> bool:
        return self.scored > 0 and self.distinct_outputs == 1

    @classmethod
    def of(cls, result: ProbeResult) -> ProbeStats:
        return cls(
            result.probe_id,
            result.n_passed,
            result.n_scored,
            result.n_errors,
            result.output_fingerprint,
            result.distinct_outputs,
        )


@dataclass(frozen=True)
class Row:
    name: str
    test: ProportionTest
    regressed: bool
    reason: str = ""
    candidate_errors: int = 0
    reference_errors: int = 0
    # A regression the numbers vouch for (a significant drop, or a deterministic probe
    # that flipped from pass to fail); a changed output alone is evidence, not proof.
    significant: bool = False
    candidate_fingerprint: str | None = None
    reference_fingerprint: str | None = None


@dataclass
class Verdict:
    kind: str  # 'golden' or 'canary'
    candidate: str
    reference: str  # the baseline target's name, or "previous run"
    against: str  # 'baseline' or 'previous'
    rows: list[Row] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(row.regressed for row in self.rows)

    @property
    def regressions(self) -> list[Row]:
        return [row for row in self.rows if row.regressed]


GoldenVerdict = Verdict
CanaryVerdict = Verdict


def golden_counts(results: Iterable[ExampleResult]) -> dict[str, Counts]:
    """Counts per intent and overall; errors (passed is None) are counted apart."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for result in results:
        for key in (result.intent, OVERALL):
            if result.passed is None:
                tally[key][2] += 1
            else:
                tally[key][1] += 1
                tally[key][0] += int(result.passed)
    return {key: Counts(*values) for key, values in tally.items()}


def compare_golden(
    candidate: Mapping[str, Counts],
    reference: Mapping[str, Counts],
    *,
    candidate_name: str,
    reference_name: str,
    against: str,
    alpha: float,
    min_effect: float,
    min_n: int,
) -> Verdict:
    verdict = Verdict("golden", candidate_name, reference_name, against)
    names = sorted((set(candidate) | set(reference)) - {OVERALL})
    for name in [*names, OVERALL]:
        cand = candidate.get(name, Counts(0, 0))
        ref = reference.get(name, Counts(0, 0))
        test = proportion_test(
            cand.passed,
            cand.scored,
            ref.passed,
            ref.scored,
            alpha=alpha,
            min_effect=min_effect,
            min_n=min_n,
        )
        reason = "pass rate dropped" if test.regressed else ""
        verdict.rows.append(
            Row(name, test, test.regressed, reason, cand.errors, ref.errors, test.regressed)
        )
    return verdict


def compare_canary(
    candidate: Mapping[str, ProbeStats],
    reference: Mapping[str, ProbeStats],
    *,
    candidate_name: str,
    reference_name: str,
    against: str,
    alpha: float,
    min_effect: float,
) -> Verdict:
    verdict = Verdict("canary", candidate_name, reference_name, against)
    totals = [0, 0, 0, 0, 0, 0]
    for probe_id in sorted(set(candidate) & set(reference)):
        cand, ref = candidate[probe_id], reference[probe_id]
        test = proportion_test(
            cand.passed, cand.scored, ref.passed, ref.scored, alpha=alpha, min_effect=min_effect
        )
        reasons = []
        if test.regressed:
            reasons.append("pass rate dropped")
        both_deterministic = cand.deterministic and ref.deterministic
        flipped = (
            both_deterministic
            and ref.passed == ref.scored
            and cand.passed == 0
            and not test.regressed
        )
        if flipped:
            reasons.append("deterministic probe flipped from pass to fail")
        if (
            against == "previous"
            and both_deterministic
            and cand.output_fingerprint != ref.output_fingerprint
        ):
            reasons.append("deterministic output changed")
        verdict.rows.append(
            Row(
                probe_id,
                test,
                bool(reasons),
                "; ".join(reasons),
                cand.errors,
                ref.errors,
                significant=test.regressed or flipped,
                candidate_fingerprint=cand.output_fingerprint,
                reference_fingerprint=ref.output_fingerprint,
            )
        )
        for i, value in enumerate(
            (cand.passed, cand.scored, ref.passed, ref.scored, cand.errors, ref.errors)
        ):
            totals[i] += value
    overall = proportion_test(
        totals[0], totals[1], totals[2], totals[3], alpha=alpha, min_effect=min_effect
    )
    verdict.rows.append(
        Row(
            OVERALL,
            overall,
            overall.regressed,
            "pass rate dropped" if overall.regressed else "",
            totals[4],
            totals[5],
            significant=overall.regressed,
        )
    )
    return verdict


def _rate(passed: int, n: int) -> str:
    return f"{passed}/{n} {100 * passed / n:5.1f}%" if n else f"{passed}/{n}    n/a"


def format_verdict(verdict: Verdict) -> str:
    """A side-by-side table for the terminal and for artifacts."""
    label = "intent" if verdict.kind == "golden" else "probe"
    ref_label = verdict.reference if verdict.against == "baseline" else "previous run"
    width = max([len(label), *(len(r.name) for r in verdict.rows)]) + 2
    header = (
        f"{label:<{width}}{verdict.candidate[:18]:>18}  {ref_label[:18]:>18}  "
        f"{'diff':>7}  {'test':<18}{'p':>8}  verdict"
    )
    lines = [header, "-" * len(header)]
    for row in verdict.rows:
        t = row.test
        diff = f"{100 * t.difference:+6.1f}" if t.difference is not None else "    n/a"
        p = "    n/a" if t.p_value is None else f"{t.p_value:8.3g}"
        state = "REGRESSED" if row.regressed else "ok"
        if t.test == "insufficient_data" and not row.regressed:
            state = "no data"
        note = f" ({row.reason})" if row.reason else ""
        errs = ""
        if row.candidate_errors or row.reference_errors:
            errs = f" [errors excluded: {row.candidate_errors}/{row.reference_errors}]"
        lines.append(
            f"{row.name:<{width}}{_rate(t.candidate_passed, t.candidate_n):>18}  "
            f"{_rate(t.reference_passed, t.reference_n):>18}  {diff:>7}  {t.test:<18}{p:>8}  "
            f"{state}{note}{errs}"
        )
    return "\n".join(lines)
