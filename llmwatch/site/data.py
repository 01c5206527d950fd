"""What the reports site shows, read from the warehouse (same SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from llmwatch.alerts import alert_to_dict
from llmwatch.warehouse.models import Alert, ChartPoint, ChartState, DriftRun, WindowMetrics

Points = list[tuple[datetime, float]]


@dataclass
class QualityChart:
    chart_id: str
    feature_id: str
    metric: str
    mean: Points = field(default_factory=list)
    ewma: Points = field(default_factory=list)
    lcl: Points = field(default_factory=list)
    ucl: Points = field(default_factory=list)
    signals: Points = field(default_factory=list)


@dataclass
class SiteData:
    cost_per_hour: Points
    # feature -> points; p95 is not additive, so it is shown per feature (worst model).
    latency_p95: dict[str, Points]
    error_rate: Points
    quality: list[QualityChart]
    drift_runs: list[dict[str, Any]]
    alerts: list[dict[str, Any]]


def load_site_data(conn: Connection, days: int = 7, max_alerts: int = 50) -> SiteData:
    """The last ``days`` of windows up to the newest one stored, and the latest alerts."""
    newest = conn.execute(select(func.max(WindowMetrics.window_start))).scalar()
    since = newest - timedelta(days=days) if newest is not None else None
    return SiteData(
        cost_per_hour=_cost(conn, since),
        latency_p95=_latency(conn, since),
        error_rate=_errors(conn, since),
        quality=_quality(conn, days),
        drift_runs=_drift_runs(conn),
        alerts=_alerts(conn, max_alerts),
    )


def _windowed(query: Any, since: datetime | None) -> Any:
    return query.where(WindowMetrics.window_start > since) if since is not None else query


def _cost(conn: Connection, since: datetime | None) -> Points:
    query = _windowed(
        select(WindowMetrics.window_start, func.sum(WindowMetrics.cost_total_usd)), since
    ).group_by(WindowMetrics.window_start)
    return [(t, float(v)) for t, v in conn.execute(query) if v is not None]


def _errors(conn: Connection, since: datetime | None) -> Points:
    query = _windowed(
        select(
            WindowMetrics.window_start,
            func.sum(WindowMetrics.error_count),
            func.sum(WindowMetrics.request_count),
        ),
        since,
    ).group_by(WindowMetrics.window_start)
    return [(t, float(e) / float(n)) for t, e, n in conn.execute(query) if n]


def _latency(conn: Connection, since: datetime | None) -> dict[str, Points]:
    query = _windowed(
        select(
            WindowMetrics.window_start,
            WindowMetrics.feature_id,
            func.max(WindowMetrics.latency_p95_ms),
        ),
        since,
    ).group_by(WindowMetrics.window_start, WindowMetrics.feature_id)
    out: dict[str, Points] = defaultdict(list)
    for t, feature, value in conn.execute(query):
        if value is not None:
            out[feature].append((t, float(value)))
    return dict(sorted(out.items()))


def _quality(conn: Connection, days: int) -> list[QualityChart]:
    charts = {
        row.chart_id: QualityChart(row.chart_id, row.feature_id, row.metric)
        for row in conn.execute(
            select(ChartState.chart_id, ChartState.feature_id, ChartState.metric)
        )
    }
    newest = conn.execute(select(func.max(ChartPoint.window_start))).scalar()
    if newest is None:
        return []
    query = (
        select(ChartPoint.__table__)
        .where(ChartPoint.window_start > newest - timedelta(days=days))
        .order_by(ChartPoint.chart_id, ChartPoint.window_start)
    )
    for p in conn.execute(query).mappings():
        chart = charts.get(p["chart_id"])
        if chart is None:
            continue
        t = p["window_start"]
        chart.mean.append((t, float(p["mean"])))
        if p["z"] is not None:
            chart.ewma.append((t, float(p["z"])))
            if p["signal"]:
                chart.signals.append((t, float(p["z"])))
        if p["lcl"] is not None and p["ucl"] is not None:
            chart.lcl.append((t, float(p["lcl"])))
            chart.ucl.append((t, float(p["ucl"])))
    return [c for c in sorted(charts.values(), key=lambda c: c.chart_id) if c.mean]


def _alerts(conn: Connection, limit: int) -> list[dict[str, Any]]:
    query = select(Alert.__table__).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
    return [alert_to_dict(row) for row in conn.execute(query).mappings()]


def _drift_runs(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    # Read here rather than through llmwatch.drift, which would import Evidently (slow)
    # into every flow that regenerates the site.
    query = select(DriftRun.__table__).order_by(DriftRun.report_date.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]
