"""Points in time as people type them: the one parser of every ``--since`` (and
``--until``, ``--start``, ``--end``) of the command line and of the flows' parameters.

A duration before now - ``90s``, ``30m``, ``2h``, ``7d``, ``1w`` - or an ISO-8601 date
or time; a time without an offset is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

FORMS = "a duration before now (30m, 2h, 7d) or an ISO-8601 time (UTC unless an offset is given)"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(value: str | datetime, now: datetime | None = None) -> datetime:
    """``value`` as an aware UTC datetime; a duration counts back from ``now``
    (default: the current time). Anything else raises ValueError saying what is accepted."""
    if isinstance(value, datetime):
        parsed = value
    else:
        match = _DURATION.match(value)
        if match:
            reference = (now or datetime.now(UTC)).astimezone(UTC)
            return reference - timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is neither a duration (30m, 2h, 7d) nor an ISO-8601 time"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
