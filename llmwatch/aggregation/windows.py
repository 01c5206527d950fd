"""Hourly windows: which ones a run computes.

A window is the half-open hour ``[start, start + 1h)`` in UTC. A run computes complete
windows only (the current hour is still filling up).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

WINDOW = timedelta(hours=1)


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding ``moment`` (which must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    start = floor_hour(moment)
    return start if start == moment else start + WINDOW


def last_complete_window(now: datetime | None = None) -> datetime:
    """The start of the latest hour that has fully ended at ``now``."""
    return floor_hour(now or datetime.now(UTC)) - WINDOW


def windows_between(start: datetime, end: datetime) -> list[datetime]:
    """Starts of the hours that meet ``[start, end)``, oldest first.

    A bound inside an hour widens the range to the whole hour, since a window is only
    ever written whole.
    """
    first, stop = floor_hour(start), ceil_hour(end)
    if end <= start:
        raise ValueError(f"empty range: start {start.isoformat()} is not before {end.isoformat()}")
    out = []
    current = first
    while current < stop:
        out.append(current)
        current += WINDOW
    return out


def default_windows(
    lookback_hours: int,
    watermark: datetime | None,
    now: datetime | None = None,
    max_catchup_hours: int = 48,
    *,
    first_record: datetime | None = None,
    max_backfill_hours: int = 168,
) -> list[datetime]:
    """The windows of a scheduled run: the last ``lookback_hours`` complete hours, and
    the hours since the watermark when runs were missed (so an outage is caught up),
    but no more than ``max_catchup_hours`` back: a watermark left far behind (a history
    back-filled by hand, a warehouse restored from an old backup) must not turn one
    scheduled run into months of windows.

    Before any window was written (no watermark), the run starts at the hour of
    ``first_record``, the oldest request stored, but no more than ``max_backfill_hours``
    back: a warehouse that already holds history gets its recent days aggregated by the
    first scheduled run, not only the look-back."""
    last = last_complete_window(now)
    first = last - (lookback_hours - 1) * WINDOW
    if watermark is not None and watermark < first:
        first = max(
            floor_hour(watermark),
            last - (max_catchup_hours - 1) * WINDOW,
        )
        first = min(first, last - (lookback_hours - 1) * WINDOW)
    elif watermark is None and first_record is not None and first_record < first:
        first = max(floor_hour(first_record), last - (max_backfill_hours - 1) * WINDOW)
        first = min(first, last - (lookback_hours - 1) * WINDOW)
    return windows_between(first, last + WINDOW)
