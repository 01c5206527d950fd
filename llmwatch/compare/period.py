"""The period a live comparison looks at: ``--since 30m`` or a timestamp, up to now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_point(value: str | datetime, now: datetime) -> datetime:
    """A duration before ``now`` ('30m', '2h', '1d', '90s', '1w') or an ISO-8601 time
    (no offset means UTC)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        match = _DURATION.match(value)
        if match:
            return now - timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is neither a duration (30m, 2h, 1d) nor an ISO-8601 time"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


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
