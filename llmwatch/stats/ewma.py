"""The EWMA control chart of judged quality, standardised by each point's sample size.

The textbook chart (Roberts 1959; Lucas & Saccucci 1990) plots
``z_t = λ·x_t + (1 − λ)·z_{t−1}`` against ``μ0 ± L·σ0·sqrt(λ/(2 − λ)·(1 − (1 − λ)^{2t}))``
with known μ0, σ0 and equal subgroups. Judged quality has neither (SPEC 5):

* **Points carry their n.** A point is the mean of the scores judged in one or more
  consecutive time windows. Its variance is ``v = τ² + σ²/n``: τ² the between-window
  variation of the true mean (topics, hours, users change), σ² the spread of single
  scores. The chart runs on standardised points ``x = (mean − μ0)/sqrt(v)``, so a point
  of 500 judgements and one of 10 are each judged against their own noise.
* **Sparse windows are merged.** A window with fewer than ``min_point_n`` judgements is
  held and merged with the following ones until they reach it, so a feature judged a few
  times a day still gets points (time windows rather than count batches: a point still
  belongs to a period people can read, and a busy hour is never split).
* **The baseline covers a daily cycle.** μ0, σ² and τ² are estimated from the first
  points: at least ``baseline_min_points`` of them, ``baseline_min_n`` judgements and
  ``baseline_min_hours`` of time, then frozen. σ² is the pooled within-point variance;
  μ0 and τ² a Huber M-estimate (each point weighted by 1/v, standardised residuals beyond
  ``HUBER_C`` down-weighted, τ² solving the Huber moment equation), so a few odd
  windows in the baseline move neither.
* **Limits account for estimating μ0 and τ².** An error δ in μ0 adds ``δ·e_t`` to z_t,
  with ``e_t`` the same EWMA of 1/sqrt(v): the limits are
  ``± L·sqrt(λ/(2 − λ)·(1 − (1 − λ)^{2t}) + Var(μ0)·e_t²)``. τ² from m points has a
  relative standard error of about sqrt(2/m); an underestimate makes every later point of
  a busy feature look too far out, so the chart uses the estimate plus
  ``TAU2_INFLATION`` of its standard errors.
* **A CUSUM beside the EWMA for a drop of a given size.** The EWMA (λ = 0.15) is good at
  small, slow drops but needs several points for a large one. The lower-side CUSUM of the
  log-likelihood ratio of "the mean dropped by ``cusum_shift`` (0.5 points)" against "in
  control" (Page 1954; the normal-mean form with each point's own variance) adds
  ``d·(−x) − d²/2`` per point, ``d = cusum_shift/sqrt(v)``: a busy hour weighs more than a
  quiet one, so the same threshold ``h`` catches the drop in two or three points at 50
  judged/h and within about a day at 5/h. It restarts at 0 after a signal. ``h`` is for
  hourly points; a merged point of T hours is tested against ``h − ln T`` (fewer points
  a month, fewer chances to cross), so false alarms are bounded per month at any volume.
* **Calibrated through this code.** λ = 0.15, L = 4.0, h = 6.6 (hourly points) and a
  72-point baseline are set with ``bench/detection.py`` so that a feature has at most 0.3
  false alerts in 30 days at 5, 50, 500 judged/h and on a daily cycle (with estimated μ0,
  σ², τ²) and a 0.5-point drop is caught within 24 h at 5 judged/h and 3 h at 50/h (95th
  percentile).
  The textbook chart (λ 0.1, L 2.814: an ARL of 500 points) would raise 1.4 false alerts
  a month charted hourly.

For display the statistic is turned back into score units: ``μ0 + z_t/e_t`` is an EWMA
of the point means weighted by their precision, and the limits ``μ0 ± half_t/e_t`` cross
it exactly when the standardised statistic crosses its limits.

The chart's state lives in ``chart_state`` and its plotted points in ``chart_points``, so
a chart continues across scheduled runs (the pending merge included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from llmwatch.warehouse.models import ChartPoint, ChartState

DEFAULT_LAMBDA = 0.15
DEFAULT_L = 4.0
DEFAULT_MIN_POINT_N = 10
DEFAULT_BASELINE_MIN_POINTS = 72
DEFAULT_BASELINE_MIN_N = 300
DEFAULT_BASELINE_MIN_HOURS = 24.0
DEFAULT_CUSUM_SHIFT = 0.5
DEFAULT_CUSUM_H = 6.6
HUBER_C = 2.0
TAU2_INFLATION = 0.5


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _big_phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# E[min(Z², c²)] for standard normal Z: the Huber scale equation's target.
_HUBER_KAPPA = (
    (2 * _big_phi(HUBER_C) - 1)
    - 2 * HUBER_C * _phi(HUBER_C)
    + HUBER_C**2 * 2 * (1 - _big_phi(HUBER_C))
)
# Asymptotic variance of the Huber location estimate relative to the weighted mean's.
_HUBER_EFFICIENCY = _HUBER_KAPPA / (2 * _big_phi(HUBER_C) - 1) ** 2


@dataclass
class Point:
    """Judged scores of one or more consecutive windows: count, sum and sum of squares."""

    start: datetime
    end: datetime
    n: int
    total: float
    sumsq: float

    @classmethod
    def of(cls, start: datetime, end: datetime, scores: Sequence[float]) -> Point:
        return cls(start, end, len(scores), float(sum(scores)), float(sum(s * s for s in scores)))

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def m2(self) -> float:
        """Sum of squared deviations from the point's mean."""
        return max(self.sumsq - self.total * self.total / self.n, 0.0)

    def merged(self, later: Point) -> Point:
        return Point(
            self.start,
            later.end,
            self.n + later.n,
            self.total + later.total,
            self.sumsq + later.sumsq,
        )

    def to_json(self) -> list[Any]:
        return [self.start.isoformat(), self.end.isoformat(), self.n, self.total, self.sumsq]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> Point:
        start, end, n, total, sumsq = value
        return cls(datetime.fromisoformat(start), datetime.fromisoformat(end), int(n), total, sumsq)


@dataclass(frozen=True)
class Baseline:
    mu0: float
    sigma2: float  # variance of single scores (within a point)
    tau2: float  # variance of the true mean between points, as the chart uses it
    mu0_var: float  # variance of the estimate of mu0
    tau2_estimate: float = 0.0  # the Huber estimate of tau2, before the margin


def estimate_baseline(points: Sequence[Point], min_sigma: float) -> Baseline:
    """μ0, σ², τ² and Var(μ0) of baseline points (module docstring)."""
    if len(points) < 2:
        raise ValueError("a baseline needs at least 2 points")
    dof = sum(p.n - 1 for p in points)
    pooled = sum(p.m2 for p in points) / dof if dof > 0 else 0.0
    sigma2 = max(pooled, min_sigma**2)
    means = [p.mean for p in points]
    ns = [p.n for p in points]
    mu = _weighted_median(means, ns)
    tau2 = 0.0
    for _ in range(100):
        v = [tau2 + sigma2 / n for n in ns]
        resid = [(m - mu) / math.sqrt(vi) for m, vi in zip(means, v, strict=True)]
        weights = [
            (min(1.0, HUBER_C / abs(r)) if r else 1.0) / vi for r, vi in zip(resid, v, strict=True)
        ]
        new_mu = sum(w * m for w, m in zip(weights, means, strict=True)) / sum(weights)
        new_tau2 = _huber_tau2(means, ns, new_mu, sigma2)
        done = abs(new_mu - mu) < 1e-10 and abs(new_tau2 - tau2) < 1e-12
        mu, tau2 = new_mu, new_tau2
        if done:
            break
    mu0_var = _HUBER_EFFICIENCY / sum(1.0 / (tau2 + sigma2 / n) for n in ns)
    # τ² from m points is uncertain (relative standard error about sqrt(2/m) of the
    # points' variance); an underestimate makes every later point look too far out, which
    # is where false alarms of busy features come from. The chart uses the estimate plus
    # TAU2_INFLATION standard errors of it.
    mean_v = sum(tau2 + sigma2 / n for n in ns) / len(ns)
    margin = TAU2_INFLATION * math.sqrt(2.0 / len(ns)) * mean_v
    return Baseline(mu0=mu, sigma2=sigma2, tau2=tau2 + margin, mu0_var=mu0_var, tau2_estimate=tau2)


def _huber_tau2(means: list[float], ns: list[int], mu: float, sigma2: float) -> float:
    """τ² ≥ 0 solving mean(min(r², c²)) = E[min(Z², c²)] for r = (m − μ)/sqrt(τ² + σ²/n)."""

    def excess(tau2: float) -> float:
        total = 0.0
        for m, n in zip(means, ns, strict=True):
            r2 = (m - mu) ** 2 / (tau2 + sigma2 / n)
            total += min(r2, HUBER_C**2)
        return total / len(means) - _HUBER_KAPPA

    if excess(0.0) <= 0:
        return 0.0
    lo, hi = 0.0, max((m - mu) ** 2 for m in means) + sigma2
    for _ in range(80):
        mid = (lo + hi) / 2
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _weighted_median(values: list[float], weights: list[int]) -> float:
    pairs = sorted(zip(values, weights, strict=True))
    half = sum(weights) / 2
    running = 0.0
    for value, weight in pairs:
        running += weight
        if running >= half:
            return value
    return pairs[-1][0]


@dataclass(frozen=True)
class ChartStep:
    """One point put on the chart; z and limits (score units) are None in the baseline."""

    start: datetime
    end: datetime
    n: int
    mean: float
    z: float | None
    lcl: float | None
    ucl: float | None
    signal: bool = False
    # -1 below the lower limit, +1 above the upper one, 0 no signal.
    direction: int = 0
    # The standardised statistic and its limit (the chart's own scale).
    statistic: float | None = None
    limit: float | None = None
    # The lower-side CUSUM of the log-likelihood ratio, its threshold, and which rule
    # signalled ("ewma", "cusum" or "ewma+cusum"; "" without a signal).
    cusum: float | None = None
    cusum_h: float | None = None
    rule: str = ""


@dataclass
class EwmaChart:
    chart_id: str
    feature_id: str
    metric: str
    lam: float = DEFAULT_LAMBDA
    limit_l: float = DEFAULT_L
    min_point_n: int = DEFAULT_MIN_POINT_N
    baseline_min_points: int = DEFAULT_BASELINE_MIN_POINTS
    baseline_min_n: int = DEFAULT_BASELINE_MIN_N
    baseline_min_hours: float = DEFAULT_BASELINE_MIN_HOURS
    min_sigma: float = 0.05
    cusum_shift: float = DEFAULT_CUSUM_SHIFT
    cusum_h: float = DEFAULT_CUSUM_H
    phase: str = "warmup"
    baseline_points: list[Point] = field(default_factory=list)
    pending: Point | None = None
    mu0: float | None = None
    sigma2: float | None = None
    tau2: float | None = None
    mu0_var: float | None = None
    z: float = 0.0
    e: float = 0.0
    t: int = 0
    cusum: float = 0.0
    last_window_end: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 < self.lam <= 1:
            raise ValueError("lambda must be in (0, 1]")
        if self.limit_l <= 0:
            raise ValueError("L must be positive")
        if self.min_point_n < 2:
            raise ValueError("a point needs at least 2 judgements")
        if self.baseline_min_points < 2:
            raise ValueError("the baseline needs at least 2 points to estimate a variance")

    @property
    def sigma0(self) -> float | None:
        """The spread of single scores in the baseline (for messages)."""
        return math.sqrt(self.sigma2) if self.sigma2 is not None else None

    def add(self, window: Point) -> ChartStep | None:
        """Add one window's judgements; a step when they complete a point, else None."""
        if window.n <= 0:
            raise ValueError("a window without judgements is not added")
        if not math.isfinite(window.total) or not math.isfinite(window.sumsq):
            raise ValueError(f"window scores must be finite, got {window}")
        point = self.pending.merged(window) if self.pending else window
        if point.n < self.min_point_n:
            self.pending = point
            return None
        self.pending = None
        if self.phase == "warmup":
            self.baseline_points.append(point)
            if self._baseline_complete():
                self._freeze_baseline()
            return ChartStep(point.start, point.end, point.n, point.mean, None, None, None)
        return self._monitor(point)

    def _baseline_complete(self) -> bool:
        points = self.baseline_points
        span = points[-1].end - points[0].start
        return (
            len(points) >= self.baseline_min_points
            and sum(p.n for p in points) >= self.baseline_min_n
            and span >= timedelta(hours=self.baseline_min_hours)
        )

    def _freeze_baseline(self) -> None:
        baseline = estimate_baseline(self.baseline_points, self.min_sigma)
        self.mu0, self.sigma2 = baseline.mu0, baseline.sigma2
        self.tau2, self.mu0_var = baseline.tau2, baseline.mu0_var
        self.z, self.e, self.t = 0.0, 0.0, 0
        self.cusum = 0.0
        self.phase = "monitoring"

    def _monitor(self, point: Point) -> ChartStep:
        if self.mu0 is None or self.sigma2 is None or self.tau2 is None or self.mu0_var is None:
            raise ValueError(f"chart {self.chart_id} is monitoring without a frozen baseline")
        sd = math.sqrt(self.tau2 + self.sigma2 / point.n)
        lam = self.lam
        self.t += 1
        self.z = lam * (point.mean - self.mu0) / sd + (1.0 - lam) * self.z
        self.e = lam / sd + (1.0 - lam) * self.e
        variance = lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2 * self.t))
        half = self.limit_l * math.sqrt(variance + self.mu0_var * self.e**2)
        # The CUSUM of the log-likelihood ratio "mean dropped by cusum_shift" against "in
        # control": its increment for a point of this n is d·(−x) − d²/2 with d the shift in
        # the point's own standard deviations, so the threshold h bounds false alarms about
        # e^−h per point whatever n is, and a busy hour weighs more than a quiet one.
        d = self.cusum_shift / sd
        x = (point.mean - self.mu0) / sd
        self.cusum = max(0.0, self.cusum - d * x - d * d / 2.0)
        # h is set for hourly points; a chart of longer (merged) points has fewer chances
        # to cross it a month, so its threshold is lower by the log of the point's length
        # in hours: false alarms stay bounded per 30 days, not per point.
        hours = max((point.end - point.start).total_seconds() / 3600.0, 1e-9)
        threshold = self.cusum_h - math.log(hours)
        cusum_signal = self.cusum > threshold
        cusum_value = self.cusum
        if cusum_signal:
            self.cusum = 0.0  # restart after a signal; a lasting drop signals again
        ewma_low = self.z < -half
        direction = -1 if ewma_low or cusum_signal else (1 if self.z > half else 0)
        rule = "+".join(
            name for name, hit in (("ewma", ewma_low), ("cusum", cusum_signal)) if hit
        ) or ("ewma" if direction else "")
        return ChartStep(
            point.start,
            point.end,
            point.n,
            point.mean,
            z=self.mu0 + self.z / self.e,
            lcl=self.mu0 - half / self.e,
            ucl=self.mu0 + half / self.e,
            signal=direction != 0,
            direction=direction,
            statistic=self.z,
            limit=half,
            cusum=cusum_value,
            cusum_h=threshold,
            rule=rule,
        )

    def rebaseline(self, since: datetime) -> None:
        """Start a new baseline from ``since`` (after an accepted change of quality)."""
        self.phase = "warmup"
        self.baseline_points = []
        self.pending = None
        self.mu0 = self.sigma2 = self.tau2 = self.mu0_var = None
        self.z, self.e, self.t = 0.0, 0.0, 0
        self.cusum = 0.0
        self.last_window_end = since


@dataclass(frozen=True)
class ChartParams:
    """The chart settings that are not stored with a chart (they apply to every chart)."""

    min_point_n: int = DEFAULT_MIN_POINT_N
    baseline_min_points: int = DEFAULT_BASELINE_MIN_POINTS
    baseline_min_n: int = DEFAULT_BASELINE_MIN_N
    baseline_min_hours: float = DEFAULT_BASELINE_MIN_HOURS
    min_sigma: float = 0.05
    cusum_shift: float = DEFAULT_CUSUM_SHIFT
    cusum_h: float = DEFAULT_CUSUM_H


def load_chart(conn: Connection, chart_id: str, params: ChartParams) -> EwmaChart | None:
    """The stored chart, or None. λ and L come from the stored state: a chart keeps the
    parameters it was started with (change them by re-baselining)."""
    query = select(ChartState.__table__).where(ChartState.chart_id == chart_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    pending = row["pending"]
    return EwmaChart(
        chart_id=row["chart_id"],
        feature_id=row["feature_id"],
        metric=row["metric"],
        lam=row["lam"],
        limit_l=row["limit_l"],
        min_point_n=params.min_point_n,
        baseline_min_points=params.baseline_min_points,
        baseline_min_n=params.baseline_min_n,
        baseline_min_hours=params.baseline_min_hours,
        min_sigma=params.min_sigma,
        cusum_shift=params.cusum_shift,
        cusum_h=params.cusum_h,
        phase=row["phase"],
        baseline_points=[Point.from_json(p) for p in row["baseline_values"] or []],
        pending=Point.from_json(pending) if pending else None,
        mu0=row["mu0"],
        sigma2=row["sigma0"] ** 2 if row["sigma0"] is not None else None,
        tau2=row["tau2"],
        mu0_var=row["mu0_var"],
        z=row["z"] or 0.0,
        e=row["e_weight"] or 0.0,
        t=row["t"],
        cusum=row["cusum"] or 0.0,
        last_window_end=row["last_window_end"],
    )


class ChartConflictError(Exception):
    """Another run advanced the same chart meanwhile: this run's update is dropped."""


def _state_values(chart: EwmaChart, now: datetime) -> dict[str, Any]:
    return {
        "feature_id": chart.feature_id,
        "metric": chart.metric,
        "lam": chart.lam,
        "limit_l": chart.limit_l,
        "phase": chart.phase,
        "baseline_values": [p.to_json() for p in chart.baseline_points],
        "pending": chart.pending.to_json() if chart.pending else None,
        "mu0": chart.mu0,
        "sigma0": chart.sigma0,
        "tau2": chart.tau2,
        "mu0_var": chart.mu0_var,
        "z": chart.z,
        "e_weight": chart.e,
        "t": chart.t,
        "cusum": chart.cusum,
        "last_window_end": chart.last_window_end,
        "updated_at": now,
    }


def save_chart(
    conn: Connection,
    chart: EwmaChart,
    steps: list[ChartStep],
    previous_end: datetime | None,
    is_new: bool,
    now: datetime,
) -> None:
    """Store the chart's state and its new points, in the caller's transaction.

    The state row is only updated if it still ends where this run found it, so two
    overlapping runs cannot both step the chart over the same windows.
    """
    values = _state_values(chart, now)
    state = cast(Table, ChartState.__table__)
    if is_new:
        conn.execute(insert(state).values(chart_id=chart.chart_id, **values))
    else:
        condition = (
            state.c.last_window_end.is_(None)
            if previous_end is None
            else state.c.last_window_end == previous_end
        )
        result = conn.execute(
            update(state)
            .where(state.c.chart_id == chart.chart_id)
            .where(condition)
            .values(**values)
        )
        if result.rowcount != 1:
            raise ChartConflictError(f"chart {chart.chart_id} was updated by another run")
    if steps:
        conn.execute(
            insert(cast(Table, ChartPoint.__table__)),
            [
                {
                    "chart_id": chart.chart_id,
                    "window_start": s.start,
                    "window_end": s.end,
                    "n": s.n,
                    "mean": s.mean,
                    "z": s.z,
                    "lcl": s.lcl,
                    "ucl": s.ucl,
                    "signal": s.signal,
                }
                for s in steps
            ],
        )


def save_rebaseline(conn: Connection, chart: EwmaChart, now: datetime) -> None:
    """Store a re-baselined chart: its points from the new baseline on are dropped (they
    will be charted again against the new baseline)."""
    assert chart.last_window_end is not None
    state = cast(Table, ChartState.__table__)
    conn.execute(
        update(state).where(state.c.chart_id == chart.chart_id).values(**_state_values(chart, now))
    )
    points = cast(Table, ChartPoint.__table__)
    conn.execute(
        delete(points)
        .where(points.c.chart_id == chart.chart_id)
        .where(points.c.window_end > chart.last_window_end)
    )
