"""The ``input_drift`` alert rule: enough of the compared columns drifted on one day."""

from __future__ import annotations

from llmwatch.alerts import NewAlert
from llmwatch.drift.evidently_run import DriftResult
from llmwatch.drift.windows import DriftWindows

FLOW_NAME = "drift-report"


def input_drift_alerts(
    windows: DriftWindows, result: DriftResult, threshold: float, report_path: str | None
) -> list[NewAlert]:
    share = result.drift_share
    if share is None or share < threshold:
        return []
    drifted = result.drifted
    names = ", ".join(c.column for c in drifted)
    return [
        NewAlert(
            kind="input_drift",
            flow=FLOW_NAME,
            severity="warning",
            metric="drifted_column_share",
            value=share,
            threshold=threshold,
            window_start=windows.current_start,
            window_end=windows.current_end,
            message=(
                f"{len(drifted)} of {len(result.columns)} columns drifted on "
                f"{windows.report_date.isoformat()}: {names}"
            ),
            details={
                "drifted_columns": [
                    {
                        "column": c.column,
                        "method": c.method,
                        "score": c.score,
                        "threshold": c.threshold,
                    }
                    for c in drifted
                ],
                "reference_start": windows.reference_start.isoformat(),
                "reference_end": windows.reference_end.isoformat(),
                "report_path": report_path,
            },
        )
    ]
