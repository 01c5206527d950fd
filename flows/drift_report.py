"""Daily drift report flow: SPEC 4.6.

Reference (trailing days, or a pinned baseline) and current day from the warehouse,
sampled to a bounded size; prompt embeddings (centroid distance and embedding drift)
join them when an embedding endpoint is configured; Evidently compares them; the HTML
report goes to reports/drift/<date>.html, the per-column verdicts to the warehouse, an input_drift
alert is raised when enough columns drifted, and the reports site is regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from prefect import flow

from llmwatch.drift import drift_windows, yesterday
from llmwatch.settings import get_settings
from tasks.alerts import deliver_pending_alerts
from tasks.drift import (
    compare,
    embed_prompts,
    load_frame,
    publish,
    raise_alerts,
    store_run,
    write_report,
)
from tasks.site import regenerate_site


@dataclass
class DriftRunSummary:
    report_date: date
    report_path: Path
    n_columns: int
    drifted_columns: list[str] = field(default_factory=list)
    drift_share: float | None = None
    alert_ids: list[int] = field(default_factory=list)
    site_index: Path | None = None


@flow(name="drift-report")
def drift_report_flow(report_date: date | None = None) -> DriftRunSummary:
    """Drift of day ``report_date`` (UTC; default: yesterday) against the reference."""
    day = report_date or yesterday()
    windows = drift_windows(day, get_settings().drift)

    reference = load_frame(windows, "reference")
    current = load_frame(windows, "current")
    frames = embed_prompts(windows, reference, current)  # as is unless embeddings are on
    result = compare(frames)
    report = write_report(windows, result)
    store_run(windows, result, reference, current, report)
    alert_ids = raise_alerts(windows, result, report)
    publish(day, result, report)
    index = regenerate_site()
    deliver_pending_alerts()

    return DriftRunSummary(
        report_date=day,
        report_path=report,
        n_columns=len(result.columns),
        drifted_columns=[c.column for c in result.drifted],
        drift_share=result.drift_share,
        alert_ids=alert_ids,
        site_index=index,
    )
