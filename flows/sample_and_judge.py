"""Sample-and-judge (continuous, every 5 minutes): SPEC 4.3 and 5.

1. pick the requests to judge: ingested since the watermark (or timestamped in
   [start, end)), in the deterministic sample, not yet judged under this rubric and judge;
2. judge them concurrently over one HTTP client, committing judgements and the watermark
   together as they come;
3. put every closed window on its feature's EWMA quality chart, raising
   quality_regression alerts;
4. check the judge's health over this run and the trailing day (judge_failure);
5. publish scores, failures and alerts as artifacts, and rebuild the reports site.

A run stopped by its budget completes; one stopped because the judge endpoint is down or
refuses us fails, after storing what it judged and updating the charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow

from tasks.alerts import deliver_pending_alerts
from tasks.judge import (
    check_judge_health,
    judge_samples,
    publish_summary,
    select_samples,
    update_charts,
)
from tasks.site import regenerate_site


class JudgeEndpointError(RuntimeError):
    """The judge endpoint is down or refuses every call; the run stopped early."""


@dataclass
class JudgeFlowSummary:
    selected: int = 0
    judged_ok: int = 0
    failures: int = 0
    deferred: int = 0
    # Samples a concurrent run (another worker) held: judged there.
    claimed_elsewhere: int = 0
    stored: int = 0
    stopped: str | None = None
    alert_ids: list[int] = field(default_factory=list)
    client: dict[str, int] = field(default_factory=dict)


@flow(name="sample-and-judge")
async def sample_and_judge(
    start: datetime | None = None, end: datetime | None = None
) -> JudgeFlowSummary:
    selection = select_samples(start, end)
    report = await judge_samples(selection)
    charts = update_charts(report, until=end)
    health_ids = check_judge_health(report)
    publish_summary(report, charts)
    regenerate_site()  # also when the endpoint failed: what was judged is stored
    deliver_pending_alerts()

    if report.stopped in ("circuit_open", "fatal"):
        raise JudgeEndpointError(report.stop_message)
    return JudgeFlowSummary(
        selected=report.selected,
        judged_ok=report.judged_ok,
        failures=report.failures,
        deferred=report.deferred,
        claimed_elsewhere=report.claimed_elsewhere,
        stored=report.stored,
        stopped=report.stopped,
        alert_ids=[i for chart in charts for i in chart.alert_ids] + health_ids,
        client=report.client,
    )
