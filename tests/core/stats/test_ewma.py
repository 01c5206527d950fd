from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from llmwatch.stats.ewma import (
    ChartConflictError,
    EwmaChart,
    PlottedWindow,
    limit_halfwidth,
    load_chart,
    save_chart,
    simulate_run_lengths,
)
from llmwatch.warehouse.models import ChartPoint

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_limits_follow_the_textbook_formula() -> None:
    lam, big_l, sigma = 0.1, 2.814, 0.5
    assert limit_halfwidth(1.0, lam, big_l, sigma) == pytest.approx(big_l * sigma * lam)
    asymptote = big_l * sigma * math.sqrt(lam / (2 - lam))
    assert limit_halfwidth(500.0, lam, big_l, sigma) == pytest.approx(asymptote)
    widths = limit_halfwidth(np.arange(1, 50, dtype=float), lam, big_l, sigma)
    assert np.all(np.diff(widths) > 0)


def test_warmup_freezes_baseline_then_charts_the_recursion() -> None:
    chart = EwmaChart("c", "f", "score", warmup_windows=4)
    for value in (4.0, 4.2, 3.8, 4.0):
        step = chart.update(value)
        assert step.z is None
        assert not step.signal
    assert chart.phase == "monitoring"
    assert chart.mu0 == pytest.approx(4.0)
    sigma0 = float(np.std([4.0, 4.2, 3.8, 4.0], ddof=1))
    assert chart.sigma0 == pytest.approx(sigma0)
    step = chart.update(4.5)
    assert step.z == pytest.approx(0.1 * 4.5 + 0.9 * 4.0)
    assert step.ucl == pytest.approx(4.0 + 2.814 * sigma0 * 0.1)
    step2 = chart.update(3.0)
    assert step2.z == pytest.approx(0.1 * 3.0 + 0.9 * step.z)
    # Frozen: later data does not move the baseline.
    assert chart.mu0 == pytest.approx(4.0)
    assert chart.t == 2


def test_sustained_drop_signals_below_the_lower_limit() -> None:
    chart = EwmaChart("c", "f", "score", warmup_windows=10)
    rng = np.random.default_rng(3)
    for value in 4.0 + 0.1 * rng.standard_normal(10):
        chart.update(float(value))
    steps = [chart.update(3.6) for _ in range(20)]
    first = next(i for i, s in enumerate(steps) if s.signal)
    assert steps[first].direction == -1
    assert steps[first].z < steps[first].lcl
    assert first < 10


def test_flat_warmup_uses_the_sigma_floor() -> None:
    chart = EwmaChart("c", "f", "score", warmup_windows=3, min_sigma=0.05)
    for _ in range(3):
        chart.update(4.0)
    assert chart.sigma0 == 0.05
    assert not chart.update(4.01).signal


def test_bad_parameters_and_values_are_refused() -> None:
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m", lam=0)
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m", warmup_windows=1)
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m").update(float("nan"))


def _window(i: int, chart: EwmaChart, mean: float) -> PlottedWindow:
    start = T0 + timedelta(hours=i)
    return PlottedWindow(start, start + timedelta(hours=1), 12, chart.update(mean))


def test_state_survives_a_save_and_load(engine: Engine) -> None:
    chart = EwmaChart("quality|rag", "rag", "judge_score", warmup_windows=3)
    windows = [_window(i, chart, m) for i, m in enumerate([4.0, 4.1, 3.9, 4.2])]
    chart.last_window_end = windows[-1].window_end
    with engine.begin() as conn:
        save_chart(conn, chart, windows, None, True, T0)
    with engine.connect() as conn:
        loaded = load_chart(conn, "quality|rag", warmup_windows=3, min_sigma=0.0)
        points = conn.execute(select(func.count()).select_from(ChartPoint)).scalar_one()
    assert loaded is not None
    assert (loaded.phase, loaded.t, loaded.mu0, loaded.sigma0, loaded.z) == (
        chart.phase,
        chart.t,
        chart.mu0,
        chart.sigma0,
        chart.z,
    )
    assert loaded.baseline_values == [4.0, 4.1, 3.9]
    assert loaded.last_window_end == windows[-1].window_end
    assert points == 4
    # The loaded chart continues exactly where the saved one would have.
    assert loaded.update(3.5) == chart.update(3.5)


def test_overlapping_runs_cannot_both_step_a_chart(engine: Engine) -> None:
    chart = EwmaChart("c1", "f", "judge_score", warmup_windows=2)
    first = [_window(0, chart, 4.0)]
    chart.last_window_end = first[0].window_end
    with engine.begin() as conn:
        save_chart(conn, chart, first, None, True, T0)
    # Two runs load the same state and both chart window 1.
    with engine.connect() as conn:
        a = load_chart(conn, "c1", 2, 0.0)
        b = load_chart(conn, "c1", 2, 0.0)
    assert a is not None
    assert b is not None
    end = first[0].window_end
    wa, wb = [_window(1, a, 4.1)], [_window(1, b, 4.1)]
    a.last_window_end = b.last_window_end = wa[0].window_end
    with engine.begin() as conn:
        save_chart(conn, a, wa, end, False, T0)
    with pytest.raises(ChartConflictError), engine.begin() as conn:
        save_chart(conn, b, wb, end, False, T0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChartPoint)).scalar_one() == 2


# --- Monte-Carlo: the defaults have the textbook run lengths -----------------------------


def test_in_control_average_run_length_is_about_500() -> None:
    rng = np.random.default_rng(20260301)
    lengths = simulate_run_lengths(lambda k, m: rng.standard_normal((k, m)), 10_000, 0.0, 1.0)
    assert (lengths > 0).all()
    # 10 000 charts: the standard error of the mean run length is about 5 windows.
    assert abs(lengths.mean() - 500) < 50, lengths.mean()


def test_one_sigma_shift_is_detected_in_about_10_windows() -> None:
    """A shift arriving while the chart runs (the realistic case: a model switch on a chart
    that has been in control for a while) is signalled ~10 windows later on average."""
    rng = np.random.default_rng(20260302)
    shift_at = 100
    clock = {"t": 0}

    def draw(k: int, m: int) -> np.ndarray:
        first, clock["t"] = clock["t"], clock["t"] + m
        means = rng.standard_normal((k, m))
        means[:, np.arange(first, first + m) >= shift_at] -= 1.0
        return means

    lengths = simulate_run_lengths(draw, 10_000, 0.0, 1.0, block=50)
    still_running = lengths > shift_at
    delay = (lengths[still_running] - shift_at).mean()
    assert 9.0 <= delay <= 11.5, delay
    # And from a cold start (shift from window 1) the narrow early limits catch it sooner.
    cold = simulate_run_lengths(lambda k, m: rng.standard_normal((k, m)) - 1.0, 10_000, 0.0, 1.0)
    assert 7.0 <= cold.mean() <= 10.5, cold.mean()
