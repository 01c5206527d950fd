"""The steps golden-set and canary flows share: run targets, compare, alert, publish,
rebuild the reports site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmwatch.evals.compare import Verdict
from llmwatch.evals.distribution import NO_REFERENCE
from llmwatch.evals.job import RunReport
from llmwatch.settings import get_settings
from tasks.alerts import deliver_pending_alerts
from tasks.evals import compare_with_baseline, publish_summary, raise_alerts
from tasks.site import regenerate_site


class NoTargetsError(RuntimeError):
    """Neither a target was given nor any configured."""


@dataclass
class EvalFlowResult:
    reports: list[RunReport] = field(default_factory=list)
    # Each target against its previous run, then the candidate against the baseline.
    verdicts: list[Verdict] = field(default_factory=list)
    gate: Verdict | None = None
    alert_ids: list[int] = field(default_factory=list)
    # The gate could not be decided (a run failed or had too many errors).
    inconclusive: bool = False

    @property
    def regressed(self) -> bool:
        """Against the baseline when one was given, else against previous runs."""
        if self.gate is not None:
            return self.gate.regressed
        return any(v.regressed for v in self.verdicts) or any(
            r.distribution is not None and r.distribution.confirmed for r in self.reports
        )


async def evaluate_targets(
    kind: str, run_task: Any, target: str | None, baseline: str | None, notify: bool = False
) -> EvalFlowResult:
    names = [target] if target else sorted(get_settings().targets)
    if not names:
        raise NoTargetsError("no target given and none configured under [targets]")
    result = EvalFlowResult()
    for name in names:
        result.reports.append(await run_task(name))
    pairs = [(r, r.vs_previous) for r in result.reports if r.vs_previous is not None]

    if baseline:
        base = await run_task(baseline)
        result.reports.append(base)
        if base.vs_previous is not None:
            pairs.append((base, base.vs_previous))
        result.gate = compare_with_baseline(result.reports[0], base)
        result.inconclusive = result.gate is None
        if result.gate is not None:
            pairs.append((result.reports[0], result.gate))
    else:
        result.inconclusive = not all(r.comparable for r in result.reports) or any(
            r.distribution is not None and r.distribution.state == NO_REFERENCE
            for r in result.reports
        )

    result.verdicts = [verdict for _, verdict in pairs]
    # A gate run by hand (--baseline) stores its findings in incidents but tells nobody
    # unless asked: the production on-call is not the audience of an upgrade check.
    result.alert_ids = raise_alerts(pairs, notify=notify or not baseline, reports=result.reports)
    publish_summary(kind, result.reports, result.verdicts, result.alert_ids)
    regenerate_site()
    deliver_pending_alerts()
    return result
