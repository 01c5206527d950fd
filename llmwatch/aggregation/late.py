"""Late data: windows that records reached after the windows were aggregated.

The look-back re-aggregates the last few hours on every run; a record (or a user
signal) older than that — a producer that buffered for a day, a file found late — would
otherwise never reach ``window_metrics``. Each scheduled run therefore also re-aggregates
every earlier window touched by requests or signals ingested since the previous run,
found by ``ingested_at`` against a mark the previous run left.

The mark is the latest ``ingested_at`` a run saw. An ingest transaction stamps its rows
when it starts and commits later, so rows stamped shortly before the mark may become
visible only after it was read: the next run looks ``margin`` before the mark, and
re-aggregating a window twice is harmless (windows are replaced whole).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, String, func, select

from llmwatch.aggregation.windows import floor_hour
from llmwatch.warehouse.marks import advance_mark, read_mark
from llmwatch.warehouse.models import Request, UserSignal

LATE_MARK = "cost_late_data"


def read_late_mark(conn: Connection) -> datetime | None:
    return read_mark(conn, LATE_MARK)


def latest_ingest(conn: Connection) -> datetime | None:
    """The newest ``ingested_at`` of any request or signal: the next mark."""
    requests = conn.execute(select(func.max(Request.ingested_at))).scalar()
    signals = conn.execute(select(func.max(UserSignal.ingested_at))).scalar()
    found = [_aware(v) for v in (requests, signals) if v is not None]
    return max(found) if found else None


def late_windows(
    conn: Connection, before: datetime, mark: datetime | None, margin: timedelta
) -> list[datetime]:
    """Starts of the hours before ``before`` holding requests, or requests with signals,
    ingested after ``mark - margin``; oldest first. No mark (the first run): none."""
    if mark is None:
        return []
    since = mark - margin
    hour = _hour_expression(conn, Request.ts)
    touched = select(hour).where(Request.ingested_at > since, Request.ts < before)
    signalled = (
        select(hour)
        .join(UserSignal, UserSignal.request_id == Request.request_id)
        .where(UserSignal.ingested_at > since, Request.ts < before)
    )
    hours = set(conn.execute(touched.union(signalled)).scalars())
    return sorted({floor_hour(_parse_hour(value)) for value in hours})


def advance_late_mark(conn: Connection, value: datetime) -> None:
    advance_mark(conn, LATE_MARK, value)


def _hour_expression(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        # In UTC whatever the session's time zone: hours of +05:30 zones differ.
        return func.date_trunc("hour", func.timezone("UTC", column), type_=DateTime())
    # SQLite stores UTC text "YYYY-MM-DD HH:MM:SS.ffffff": the first 13 characters.
    return func.substr(column, 1, 13, type_=String())


def _parse_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    return datetime.fromisoformat(f"{value}:00:00").replace(tzinfo=UTC)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
