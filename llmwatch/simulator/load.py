"""When sessions start: diurnal and weekly load, sampled on a minute grid."""

from __future__ import annotations

from datetime import datetime

import numpy as np

MS_PER_MINUTE = 60_000
# Relative load by day of week, Monday first: weekends are quieter.
WEEKLY_LOAD = (1.0, 1.05, 1.05, 1.0, 0.9, 0.55, 0.5)
# Quietest around 04:00 UTC, busiest mid-afternoon; night load is a fifth of the peak.
TROUGH_HOUR = 4.0
NIGHT_FLOOR = 0.2


def diurnal_load(hour_of_day: np.ndarray) -> np.ndarray:
    """Relative load (peak 1) for fractional UTC hours."""
    phase = (1.0 - np.cos(2.0 * np.pi * (hour_of_day - TROUGH_HOUR) / 24.0)) / 2.0
    return NIGHT_FLOOR + (1.0 - NIGHT_FLOOR) * phase**1.5


def minute_weights(start: datetime, minutes: int) -> np.ndarray:
    """Probability of each minute in ``[start, start + minutes)`` receiving a session."""
    epoch_minute = int(start.timestamp() // 60) + np.arange(minutes, dtype=np.int64)
    hour = (epoch_minute % 1440) / 60.0
    # 1970-01-01 was a Thursday: shift so that 0 is Monday.
    weekday = ((epoch_minute // 1440) + 3) % 7
    weights = diurnal_load(hour) * np.asarray(WEEKLY_LOAD)[weekday]
    return weights / weights.sum()


def session_start_times(
    rng: np.random.Generator, start: datetime, days: float, sessions: int
) -> np.ndarray:
    """Sorted session start times in epoch milliseconds."""
    minutes = max(1, round(days * 1440))
    chosen = rng.choice(minutes, size=sessions, p=minute_weights(start, minutes))
    offsets = chosen.astype(np.int64) * MS_PER_MINUTE + rng.integers(
        0, MS_PER_MINUTE, size=sessions
    )
    return np.sort(int(start.timestamp() * 1000) + offsets)
