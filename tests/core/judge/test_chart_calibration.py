"""Monte Carlo through the production chart on its defaults (bench/detection.py has the
full table): false alerts per 30 days and time to detect a 0.5-point drop at 50 judged
samples an hour, scores 1-5 with sd ~0.9 and an hour-to-hour component."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from llmwatch.judge.quality import new_chart
from llmwatch.settings import JudgeSettings
from llmwatch.stats.ewma import Point

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
PROBS = np.array([0.03, 0.07, 0.2, 0.38, 0.32])  # mean 3.89, sd 1.0
SCORES = np.arange(1, 6, dtype=float)


def _window(rng: np.random.Generator, hour: int, n: int, shift: float) -> Point:
    counts = rng.multinomial(n, PROBS)
    effect = 0.05 * rng.standard_normal() + shift
    scores = np.repeat(SCORES, counts) + effect
    start = T0 + hour * HOUR
    return Point(start, start + HOUR, n, float(scores.sum()), float((scores**2).sum()))


def _run(rng: np.random.Generator, hours: int, shift_at: int | None) -> tuple[int | None, list]:
    chart = new_chart(JudgeSettings(), "c", "f")
    monitoring_from, signals = None, []
    for hour in range(hours):
        shifted = shift_at is not None and hour >= shift_at
        step = chart.add(_window(rng, hour, int(rng.poisson(50)), -0.5 if shifted else 0.0))
        if step is None:
            continue
        if monitoring_from is None and chart.phase == "monitoring":
            monitoring_from = hour + 1
        if step.direction < 0:
            signals.append(hour)
    return monitoring_from, signals


def test_false_alerts_per_30_days_at_50_judged_an_hour() -> None:
    rng = np.random.default_rng(13)
    alerts = []
    for _ in range(60):
        start, signals = _run(rng, 48 + 30 * 24, None)
        assert start is not None
        # One alert per cool-down (6 h) of a signalling series, as record_alerts stores.
        stored: list[int] = []
        for h in signals:
            if h >= start and (not stored or h - stored[-1] >= 6):
                stored.append(h)
        alerts.append(len(stored))
    # The target is 0.3 (bench: ~0.2); the old chart (one sigma for every n, 20-window
    # warm-up) raised about 5 a month here.
    assert np.mean(alerts) < 0.6, alerts


def test_a_half_point_drop_at_50_judged_an_hour_is_seen_within_hours() -> None:
    rng = np.random.default_rng(14)
    delays = []
    for _ in range(40):
        shift_at = 48 + 72
        _, signals = _run(rng, shift_at + 48, shift_at)
        after = [h for h in signals if h >= shift_at]
        delays.append(after[0] + 1 - shift_at if after else 99)
    assert np.median(delays) <= 4, delays
    assert max(delays) <= 12, delays
