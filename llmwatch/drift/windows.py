"""Which requests are the reference and which the current window of a daily report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from llmwatch.settings import DriftSettings


@dataclass(frozen=True)
class DriftWindows:
    report_date: date
    reference_start: datetime
    reference_end: datetime
    current_start: datetime
    current_end: datetime
    # "trailing" (the days before the report day) or "pinned" (a configured baseline).
    reference_kind: str


def drift_windows(report_date: date, settings: DriftSettings) -> DriftWindows:
    """Current = the UTC day; reference = the pinned baseline, else the trailing days.
    A day whose windows leave the calendar (year 1 or 9999) is a ValueError."""
    current_start = datetime.combine(report_date, time(), tzinfo=UTC)
    try:
        current_end = current_start + timedelta(days=1)
        trailing_start = current_start - timedelta(days=settings.reference_days)
    except OverflowError:
        raise ValueError(
            f"{report_date.isoformat()} is out of range: its day and the "
            f"{settings.reference_days} reference days before it must lie within years 1-9999"
        ) from None
    if settings.baseline_start is not None and settings.baseline_end is not None:
        return DriftWindows(
            report_date,
            settings.baseline_start.astimezone(UTC),
            settings.baseline_end.astimezone(UTC),
            current_start,
            current_end,
            "pinned",
        )
    return DriftWindows(
        report_date,
        trailing_start,
        current_start,
        current_start,
        current_end,
        "trailing",
    )


def yesterday(now: datetime | None = None) -> date:
    """The last complete UTC day: what the daily schedule reports on."""
    return ((now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=1)).date()
