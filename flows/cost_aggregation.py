"""Cost and operational aggregation flow (hourly): SPEC 4.2.

For each complete hour to compute, oldest first: claim it (a concurrent run on another
worker takes the windows this one does not), aggregate it in the warehouse, replace the
stored window, then raise the alerts it calls for. Running windows in time order means
each window's alerts see the windows before it, so a back-fill alerts as the live
schedule would have (when two runs split a back-fill, a window's alerts may be
evaluated before the other run stored the window just before it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prefect import flow

from llmwatch.warehouse.claims import new_owner
from tasks.alerts import deliver_pending_alerts
from tasks.cost import (
    aggregate,
    claim_window,
    finish_window,
    late_windows_to_compute,
    publish_alerts,
    publish_metrics,
    raise_alerts,
    remember_late_mark,
    windows_to_compute,
    write_window,
)
from tasks.site import regenerate_site


@dataclass
class CostRunSummary:
    windows: list[datetime] = field(default_factory=list)
    rows_written: int = 0
    alert_ids: list[int] = field(default_factory=list)
    # Windows before the look-back aggregated again because late data reached them.
    revised: list[datetime] = field(default_factory=list)
    # Windows a concurrent run was aggregating (or had just aggregated): left to it.
    elsewhere: list[datetime] = field(default_factory=list)


@flow(name="cost-aggregation")
def cost_aggregation_flow(
    start: datetime | None = None, end: datetime | None = None
) -> CostRunSummary:
    """Aggregate the hours in ``[start, end)``; by default the configured look-back of
    complete hours (and any hour missed since the last run)."""
    summary = CostRunSummary(windows=windows_to_compute(start, end))
    # A scheduled run also re-aggregates older windows that late records reached.
    revised: list[datetime] = []
    late_mark = None
    if start is None:
        revised, late_mark = late_windows_to_compute(summary.windows[0])
    summary.windows = sorted(set(summary.windows) | set(revised))
    summary.revised = revised
    metrics: list[dict[str, Any]] = []
    owner, started = new_owner(), datetime.now(UTC)
    for window in summary.windows:
        if not claim_window(window, owner, started):
            summary.elsewhere.append(window)
            continue
        rows = aggregate(window)
        summary.rows_written += write_window(window, rows)
        summary.alert_ids += raise_alerts(window, revised=window in revised)
        finish_window(window, owner)
        metrics += rows
    remember_late_mark(late_mark)

    publish_metrics(metrics)
    publish_alerts(summary.alert_ids)
    # The alerts go out even when the reports folder cannot be written; the run still
    # fails then, after delivery.
    site = regenerate_site(return_state=True)
    deliver_pending_alerts()
    if not site.is_completed():
        site.result()  # raises the site's error
    return summary
