"""The comparison period: durations, timestamps, defaults, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmwatch.compare.period import resolve_period

NOW = datetime(2025, 6, 5, 12, tzinfo=UTC)


def test_durations_and_timestamps() -> None:
    assert resolve_period("30m", None, default_minutes=60, now=NOW) == (
        NOW - timedelta(minutes=30),
        NOW,
    )
    assert resolve_period("1d", "2h", default_minutes=60, now=NOW) == (
        NOW - timedelta(hours=26),
        NOW - timedelta(hours=2),
    )
    since, until = resolve_period("2025-06-05T07:00", "2025-06-05T10:00+02:00", default_minutes=1)
    assert since == datetime(2025, 6, 5, 7, tzinfo=UTC)
    assert until == datetime(2025, 6, 5, 8, tzinfo=UTC)


def test_default_window_and_errors() -> None:
    assert resolve_period(None, None, default_minutes=90, now=NOW) == (
        NOW - timedelta(minutes=90),
        NOW,
    )
    with pytest.raises(ValueError, match="neither a duration"):
        resolve_period("yesterday", None, default_minutes=60, now=NOW)
    with pytest.raises(ValueError, match="empty period"):
        resolve_period("2025-06-05T13:00", None, default_minutes=60, now=NOW)
