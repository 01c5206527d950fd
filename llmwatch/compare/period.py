"""The period a live comparison looks at: ``--since 30m`` or a timestamp, up to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmwatch.times import parse_time


def parse_point(value: str | datetime, now: datetime) -> datetime:
    """A duration before ``now`` ('30m', '2h', '1d', '90s', '1w') or an ISO-8601 time
    (no offset means UTC): the shared parser of ``llmwatch.times``."""
    return parse_time(value, now)


def resolve_period(
    since: str | datetime | None,
    until: str | datetime | None,
    *,
    default_minutes: float,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """[since, until): until defaults to now, since to ``default_minutes`` before until."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    end = parse_point(until, now) if until is not None else now
    start = (
        parse_point(since, end) if since is not None else end - timedelta(minutes=default_minutes)
    )
    if start >= end:
        raise ValueError(f"empty period: {start.isoformat()} is not before {end.isoformat()}")
    return start, end
