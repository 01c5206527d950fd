from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from llmwatch.stats.ewma import (
    TAU2_INFLATION,
    ChartConflictError,
    ChartParams,
    EwmaChart,
    Point,
    estimate_baseline,
    load_chart,
    save_chart,
)
from llmwatch.warehouse.models import ChartPoint

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
SMALL = ChartParams(min_point_n=4, baseline_min_points=4, baseline_min_n=16, baseline_min_hours=0)


def window(hour: int, scores: list[float]) -> Point:
    start = T0 + hour * HOUR
    return Point.of(start, start + HOUR, scores)


def small_chart(**kwargs: float) -> EwmaChart:
    return EwmaChart(
        "c",
        "f",
        "judge_score",
        min_point_n=SMALL.min_point_n,
        baseline_min_points=SMALL.baseline_min_points,
        baseline_min_n=SMALL.baseline_min_n,
        baseline_min_hours=SMALL.baseline_min_hours,
        **kwargs,  # type: ignore[arg-type]
    )


def test_point_moments() -> None:
    p = window(0, [4.0, 5.0, 3.0])
    assert (p.n, p.mean) == (3, 4.0)
    assert p.m2 == pytest.approx(2.0)
    merged = p.merged(window(1, [1.0]))
    assert (merged.start, merged.end, merged.n, merged.mean) == (p.start, T0 + 2 * HOUR, 4, 3.25)
    assert Point.from_json(merged.to_json()) == merged


def test_sparse_windows_are_merged_until_a_point_is_informative() -> None:
    chart = small_chart()
    assert chart.add(window(0, [4.0])) is None
    assert chart.add(window(3, [5.0, 4.0])) is None
    step = chart.add(window(7, [3.0]))
    assert step is not None
    assert (step.start, step.end, step.n, step.mean) == (T0, T0 + 8 * HOUR, 4, 4.0)
    assert chart.pending is None


def test_baseline_estimates_within_and_between_variance() -> None:
    rng = np.random.default_rng(5)
    tau, sigma = 0.2, 0.8
    points = []
    for hour in range(400):
        level = 4.0 + tau * rng.standard_normal()
        n = int(rng.choice([5, 50, 500]))
        points.append(window(hour, list(level + sigma * rng.standard_normal(n))))
    base = estimate_baseline(points, min_sigma=0.05)
    assert base.mu0 == pytest.approx(4.0, abs=0.03)
    assert math.sqrt(base.sigma2) == pytest.approx(sigma, rel=0.02)
    assert math.sqrt(base.tau2_estimate) == pytest.approx(tau, rel=0.12)
    assert base.tau2 > base.tau2_estimate  # the margin for estimating it


def test_baseline_is_robust_to_a_few_outlying_windows() -> None:
    rng = np.random.default_rng(6)
    points = [window(h, list(4.0 + 0.05 * rng.standard_normal() + 0.8 * rng.standard_normal(50)))
              for h in range(48)]  # fmt: skip
    clean = estimate_baseline(points, 0.05)
    # Two hours of a broken judge scoring everything 1.
    points[10] = window(10, [1.0] * 50)
    points[30] = window(30, [1.0] * 50)
    dirty = estimate_baseline(points, 0.05)
    assert dirty.mu0 == pytest.approx(clean.mu0, abs=0.03)
    assert math.sqrt(dirty.tau2) < 0.15  # a plain moment estimate: about 0.6
    plain_mean = np.mean([p.mean for p in points])
    assert abs(plain_mean - clean.mu0) > 0.1  # what a plain mean would have done


def test_each_point_is_standardised_by_its_own_n() -> None:
    chart = small_chart(lam=1.0, limit_l=3.0)
    for hour in range(4):
        chart.add(window(hour, [3.0, 5.0] * 200))
    assert chart.phase == "monitoring"
    assert chart.mu0 == pytest.approx(4.0)
    # Identical windows: no variation between them, so τ² is only the margin for its
    # own uncertainty (TAU2_INFLATION standard errors of the estimate).
    assert estimate_baseline(chart.baseline_points, 0.05).tau2_estimate == 0.0
    margin = TAU2_INFLATION * math.sqrt(2 / 4) * chart.sigma2 / 400  # type: ignore[operator]
    assert chart.tau2 == pytest.approx(margin)
    # lambda = 1: the statistic is the standardised point itself.
    big = chart.add(window(10, [3.8] * 400))
    assert big is not None
    assert big.statistic is not None
    sd = math.sqrt(chart.tau2 + chart.sigma2 / 400)  # type: ignore[operator]
    assert big.statistic == pytest.approx((3.8 - 4.0) / sd)
    assert big.signal  # 0.2 below with n = 400 is far outside the limits
    small = chart.add(window(11, [3.8] * 4))
    assert small is not None
    assert not small.signal


def test_limits_widen_with_the_uncertainty_of_mu0() -> None:
    chart = small_chart()
    for hour in range(4):
        chart.add(window(hour, [3.0, 5.0, 4.0, 4.0]))
    step = chart.add(window(5, [4.0] * 4))
    assert step is not None
    assert step.limit is not None
    lam = chart.lam
    textbook = chart.limit_l * lam  # t = 1: L * sqrt(lam / (2 - lam) * (1 - (1 - lam)^2))
    assert step.limit > textbook
    # Score units: the displayed EWMA and limits bracket mu0 the way the statistic does.
    assert step.lcl is not None
    assert step.ucl is not None
    assert step.z is not None
    assert step.lcl < chart.mu0 < step.ucl  # type: ignore[operator]


def test_a_sustained_drop_signals_below_and_rebaseline_starts_over() -> None:
    chart = small_chart()
    rng = np.random.default_rng(3)
    for hour in range(8):
        chart.add(window(hour, list(np.clip(np.round(4 + 0.8 * rng.standard_normal(20)), 1, 5))))
    steps = [chart.add(window(20 + h, [3.0] * 12 + [4.0] * 8)) for h in range(20)]
    signals = [s for s in steps if s is not None and s.signal]
    assert signals
    assert all(s.direction == -1 for s in signals)
    # A drop of a point: the CUSUM for a 0.5-point drop passes h first, the EWMA follows.
    first = signals[0]
    assert "cusum" in first.rule
    assert first.cusum is not None
    assert first.cusum > chart.cusum_h
    ewma = next(s for s in signals if "ewma" in s.rule)
    assert ewma.z is not None
    assert ewma.lcl is not None
    assert ewma.z < ewma.lcl
    chart.rebaseline(T0 + 40 * HOUR)
    assert (chart.phase, chart.baseline_points, chart.mu0, chart.t) == ("warmup", [], None, 0)
    assert chart.cusum == 0.0
    assert chart.last_window_end == T0 + 40 * HOUR


def test_bad_parameters_and_values_are_refused() -> None:
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m", lam=0)
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m", baseline_min_points=1)
    with pytest.raises(ValueError):
        EwmaChart("c", "f", "m").add(Point(T0, T0 + HOUR, 2, float("nan"), 1.0))


def _steps(chart: EwmaChart, first_hour: int, hours: int) -> list:
    steps = []
    for hour in range(first_hour, first_hour + hours):
        step = chart.add(window(hour, [4.0, 4.0, 5.0, 3.0, 4.0]))
        if step is not None:
            steps.append(step)
    return steps


def test_state_survives_a_save_and_load(engine: Engine) -> None:
    chart = small_chart()
    steps = _steps(chart, 0, 6)
    chart.add(window(6, [4.0]))  # pending: carried over to the next run
    chart.last_window_end = T0 + 7 * HOUR
    with engine.begin() as conn:
        save_chart(conn, chart, steps, None, True, T0)
    with engine.connect() as conn:
        loaded = load_chart(conn, "c", SMALL)
        points = conn.execute(select(func.count()).select_from(ChartPoint)).scalar_one()
    assert loaded is not None
    names = (
        "phase",
        "t",
        "mu0",
        "tau2",
        "mu0_var",
        "z",
        "e",
        "cusum",
        "pending",
        "last_window_end",
    )
    for name in names:
        assert getattr(loaded, name) == getattr(chart, name), name
    assert loaded.sigma2 == pytest.approx(chart.sigma2)
    assert loaded.baseline_points == chart.baseline_points
    assert points == 6
    # The loaded chart continues exactly where the saved one would have.
    # (σ is stored, σ² is its square: equal to the last bits.)
    after_load = asdict(loaded.add(window(7, [3.0, 3.0, 3.0])))  # type: ignore[arg-type]
    expected = asdict(chart.add(window(7, [3.0, 3.0, 3.0])))  # type: ignore[arg-type]
    for name, value in expected.items():
        if isinstance(value, float):
            assert after_load[name] == pytest.approx(value, rel=1e-12), name
        else:
            assert after_load[name] == value, name


def test_overlapping_runs_cannot_both_step_a_chart(engine: Engine) -> None:
    chart = small_chart()
    first = _steps(chart, 0, 1)
    chart.last_window_end = T0 + HOUR
    with engine.begin() as conn:
        save_chart(conn, chart, first, None, True, T0)
    with engine.connect() as conn:
        a = load_chart(conn, "c", SMALL)
        b = load_chart(conn, "c", SMALL)
    assert a is not None
    assert b is not None
    end = T0 + HOUR
    wa, wb = _steps(a, 1, 1), _steps(b, 1, 1)
    a.last_window_end = b.last_window_end = T0 + 2 * HOUR
    with engine.begin() as conn:
        save_chart(conn, a, wa, end, False, T0)
    with pytest.raises(ChartConflictError), engine.begin() as conn:
        save_chart(conn, b, wb, end, False, T0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChartPoint)).scalar_one() == 2


def test_the_cusum_threshold_is_per_hour_so_merged_points_get_a_lower_one() -> None:
    chart = small_chart()
    for hour in range(4):
        chart.add(window(hour, [3.0, 5.0, 4.0, 4.0]))
    hourly = chart.add(window(4, [4.0] * 4))
    assert hourly is not None
    assert hourly.cusum_h == pytest.approx(chart.cusum_h)
    # Four sparse hours merged into one point: fewer points a month, a lower threshold.
    for hour in range(5, 8):
        assert chart.add(window(hour, [4.0])) is None
    merged = chart.add(window(8, [4.0]))
    assert merged is not None
    assert merged.end - merged.start == 4 * HOUR
    assert merged.cusum_h == pytest.approx(chart.cusum_h - math.log(4))
