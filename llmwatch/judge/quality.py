"""Quality control charts of the judged score per feature, and the alerts they raise.

Each feature has one EWMA chart (llmwatch.stats.ewma) per rubric version and judge
model, fed with the scored judgements of fixed windows (``chart_window_minutes``). A
window is added once it is closed: it ended ``chart_settle_minutes`` ago and no sample
from it is still waiting to be judged. The chart merges windows until they hold
``chart_min_window_n`` judgements, so sparse features get points too; windows without a
scored judgement move the chart past them.

A point below the lower limit raises ``quality_regression``. The chart's new state, its
points and the alerts are written in one transaction. Judge health (``judge_failure``)
is judged per run and per trailing day in ``llmwatch.judge.health``, not per window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.judge.drift_flag import flag_judge_drift, open_judge_drift
from llmwatch.settings import JudgeSettings
from llmwatch.severity import ewma_excursion_sigma, ewma_severity
from llmwatch.stats.ewma import (
    ChartConflictError,
    ChartParams,
    ChartStep,
    EwmaChart,
    Point,
    load_chart,
    save_chart,
)
from llmwatch.warehouse.models import Judgement

FLOW_NAME = "sample-and-judge"
METRIC = "judge_score"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class ChartUpdate:
    feature_id: str
    chart_id: str
    phase: str
    windows: int = 0
    last_z: float | None = None
    last_lcl: float | None = None
    last_ucl: float | None = None
    mu0: float | None = None
    signals: int = 0
    alert_ids: list[int] = field(default_factory=list)
    conflict: bool = False


def chart_id_for(feature_id: str, rubric_version: str, judge_model: str) -> str:
    return f"{METRIC}|{feature_id}|{rubric_version}|{judge_model}"


def window_floor(ts: datetime, width: timedelta) -> datetime:
    return EPOCH + ((ts - EPOCH) // width) * width


def chart_params(cfg: JudgeSettings) -> ChartParams:
    return ChartParams(
        min_point_n=cfg.chart_min_window_n,
        baseline_min_points=cfg.chart_warmup_windows,
        baseline_min_n=cfg.chart_baseline_min_n,
        baseline_min_hours=cfg.chart_baseline_hours,
        min_sigma=cfg.chart_min_sigma,
        cusum_shift=cfg.chart_cusum_shift,
        cusum_h=cfg.chart_cusum_h,
    )


def new_chart(cfg: JudgeSettings, chart_id: str, feature_id: str) -> EwmaChart:
    """A chart with the configured parameters (the benchmark builds its charts here too)."""
    params = chart_params(cfg)
    return EwmaChart(
        chart_id,
        feature_id,
        METRIC,
        lam=cfg.chart_lambda,
        limit_l=cfg.chart_l,
        min_point_n=params.min_point_n,
        baseline_min_points=params.baseline_min_points,
        baseline_min_n=params.baseline_min_n,
        baseline_min_hours=params.baseline_min_hours,
        min_sigma=params.min_sigma,
        cusum_shift=params.cusum_shift,
        cusum_h=params.cusum_h,
    )


@dataclass
class _Window:
    scores: list[float] = field(default_factory=list)
    models: Counter[str] = field(default_factory=Counter)


def update_quality_charts(
    engine: Engine,
    cfg: JudgeSettings,
    *,
    judge_model: str,
    closed_before: datetime,
    now: datetime | None = None,
) -> list[ChartUpdate]:
    """Chart every closed window not charted yet, for every feature with judgements."""
    now = now or datetime.now(UTC)
    width = timedelta(minutes=cfg.chart_window_minutes)
    horizon = window_floor(closed_before, width)
    with engine.connect() as conn:
        features = list(
            conn.execute(
                select(Judgement.feature_id)
                .distinct()
                .where(Judgement.rubric_version == cfg.rubric_version)
                .where(Judgement.judge_model == judge_model)
                .order_by(Judgement.feature_id)
            ).scalars()
        )
    return [
        _update_feature(engine, cfg, feature, judge_model, width, horizon, now)
        for feature in features
    ]


def _update_feature(
    engine: Engine,
    cfg: JudgeSettings,
    feature_id: str,
    judge_model: str,
    width: timedelta,
    horizon: datetime,
    now: datetime,
) -> ChartUpdate:
    chart_id = chart_id_for(feature_id, cfg.rubric_version, judge_model)
    base = (
        select(Judgement.request_ts, Judgement.score, Judgement.model_id)
        .where(Judgement.feature_id == feature_id)
        .where(Judgement.status == "ok")
        .where(Judgement.score.is_not(None))
        .where(Judgement.rubric_version == cfg.rubric_version)
        .where(Judgement.judge_model == judge_model)
        .where(Judgement.request_ts < horizon)
    )
    with engine.connect() as conn:
        chart = load_chart(conn, chart_id, chart_params(cfg))
        is_new = chart is None
        if chart is None:
            chart = new_chart(cfg, chart_id, feature_id)
        previous_end = chart.last_window_end
        query = base if previous_end is None else base.where(Judgement.request_ts >= previous_end)
        rows = conn.execute(query).all()
    update = ChartUpdate(feature_id, chart_id, chart.phase)
    if not rows:
        return update

    windows: dict[datetime, _Window] = defaultdict(_Window)
    for ts, score, model_id in rows:
        window = windows[window_floor(ts, width)]
        window.scores.append(float(score))
        window.models[model_id] += 1

    plotted: list[ChartStep] = []
    alerts: list[NewAlert] = []
    models: Counter[str] = Counter()
    for start in sorted(windows):
        window = windows[start]
        models.update(window.models)
        step = chart.add(Point.of(start, start + width, window.scores))
        if step is None:
            continue
        plotted.append(step)
        if step.direction < 0:
            span = (start, start + width)
            alerts.append(_quality_alert(cfg, chart, feature_id, _dominant(models), step, span))
        models = Counter()
    chart.last_window_end = horizon

    try:
        with engine.begin() as conn:
            save_chart(conn, chart, plotted, previous_end, is_new, now)
            drifting = open_judge_drift(conn, judge_model) if alerts else None
            if drifting is not None:
                alerts = [flag_judge_drift(a, judge_model, drifting) for a in alerts]
            update.alert_ids = record_alerts(
                conn, alerts, cooldown=timedelta(hours=cfg.alert_cooldown_hours), now=now
            )
    except ChartConflictError:
        update.conflict = True
        return update
    update.phase = chart.phase
    update.windows = len(plotted)
    update.mu0 = chart.mu0
    update.signals = sum(p.signal for p in plotted)
    if plotted:
        last = plotted[-1]
        update.last_z, update.last_lcl, update.last_ucl = last.z, last.lcl, last.ucl
    return update


def _dominant(models: Counter[str]) -> str | None:
    if not models:
        return None
    return min(models.items(), key=lambda item: (-item[1], item[0]))[0]


def _quality_alert(
    cfg: JudgeSettings,
    chart: EwmaChart,
    feature_id: str,
    model_id: str | None,
    step: ChartStep,
    window: tuple[datetime, datetime],
) -> NewAlert:
    """The alert's window is the one whose judgements completed the signalling point (a
    point merged from sparse windows starts earlier: its span is in the details)."""
    if step.statistic is None or step.limit is None:
        raise ValueError(f"chart {chart.chart_id} signalled without a statistic and limit")
    excursion = ewma_excursion_sigma(step.statistic, step.limit, chart.limit_l)
    return NewAlert(
        kind="quality_regression",
        flow=FLOW_NAME,
        severity=ewma_severity(excursion, chart.limit_l),
        feature_id=feature_id,
        model_id=model_id,
        metric=METRIC,
        value=step.z,
        threshold=step.lcl,
        window_start=window[0],
        window_end=window[1],
        message=_quality_message(feature_id, chart, step, excursion),
        details={
            "window_mean": step.mean,
            "n": step.n,
            "point_start": step.start.isoformat(),
            "point_end": step.end.isoformat(),
            "mu0": chart.mu0,
            "sigma0": chart.sigma0,
            "tau": chart.tau2**0.5 if chart.tau2 is not None else None,
            "statistic": step.statistic,
            "limit": step.limit,
            "ucl": step.ucl,
            "lambda": chart.lam,
            "L": chart.limit_l,
            "t": chart.t,
            "rubric_version": cfg.rubric_version,
            "chart_id": chart.chart_id,
            "excursion_sigma": excursion,
            "rule": step.rule,
            "cusum": step.cusum,
            "cusum_h": step.cusum_h,
            "cusum_shift": chart.cusum_shift,
        },
    )


def _quality_message(feature_id: str, chart: EwmaChart, step: ChartStep, excursion: float) -> str:
    tail = f"(baseline {chart.mu0:.3f}, point mean {step.mean:.3f}, n={step.n})"
    ewma = f"EWMA {step.z:.3f} < LCL {step.lcl:.3f}, {excursion:.1f} sigma out"
    if step.rule == "cusum":
        return (
            f"judged quality of {feature_id} dropped: the CUSUM for a "
            f"{chart.cusum_shift:g}-point drop reached {step.cusum:.1f} > {step.cusum_h:g} "
            f"({ewma.replace('<', 'vs')}) {tail}"
        )
    return f"judged quality of {feature_id} fell below its control limit: {ewma} {tail}"
