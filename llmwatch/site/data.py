"""What the reports site shows, read from the warehouse (same SQL on SQLite and PostgreSQL).

One query reads the hourly windows of the longest range; every page (home, per feature,
per model, each range) is cut from those rows in memory, so the site costs a handful of
queries however many pages it has.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from llmwatch.alerts import alert_to_dict
from llmwatch.warehouse.models import (
    Alert,
    ChartPoint,
    ChartState,
    DriftColumn,
    DriftRun,
    Incident,
    SloStatus,
    WindowMetrics,
    WindowTemplateSpend,
)

Points = list[tuple[datetime, float]]
LONGEST = timedelta(days=30)

WINDOW_COLUMNS = (
    "window_start", "feature_id", "model_id", "request_count", "error_count",
    "refusal_count", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p50_ms",
    "ttft_p95_ms", "input_tokens_sum", "output_tokens_sum", "cost_total_usd", "unpriced_count",
)  # fmt: skip


@dataclass
class QualityChart:
    chart_id: str
    feature_id: str
    metric: str
    mu0: float | None = None
    signalled: bool = False  # the newest point is outside the limits
    mean: Points = field(default_factory=list)
    ewma: Points = field(default_factory=list)
    lcl: Points = field(default_factory=list)
    ucl: Points = field(default_factory=list)
    signals: Points = field(default_factory=list)

    def since(self, start: datetime) -> QualityChart:
        def cut(points: Points) -> Points:
            return [(t, v) for t, v in points if t >= start]

        return QualityChart(
            self.chart_id, self.feature_id, self.metric, self.mu0, self.signalled,
            cut(self.mean), cut(self.ewma), cut(self.lcl), cut(self.ucl), cut(self.signals),
        )  # fmt: skip


@dataclass
class SiteData:
    newest: datetime | None  # start of the newest hourly window stored
    windows: list[dict[str, Any]]  # hourly rows of the last 30 days, one per feature x model
    quality: list[QualityChart]
    drift_runs: list[dict[str, Any]]
    drift_columns: dict[str, list[dict[str, Any]]]  # run_id -> columns
    alerts: list[dict[str, Any]]
    # feature_id -> the latest burn-rate evaluation of each of its SLOs (llmwatch.slo)
    slos: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Incidents not resolved (open or acknowledged), newest first (llmwatch.incidents)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    # Range start -> spend per feature x model x prompt template since then, summed in
    # the warehouse (llmwatch.aggregation.templates); most expensive first.
    template_spend: dict[datetime, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return sorted({w["feature_id"] for w in self.windows})

    @property
    def models(self) -> list[str]:
        return sorted({w["model_id"] for w in self.windows})


def load_site_data(
    conn: Connection,
    max_alerts: int = 200,
    range_starts: Iterable[Callable[[datetime], datetime]] = (),
) -> SiteData:
    """The last 30 days of windows up to the newest one stored, and the latest alerts.
    ``range_starts`` give the first window of each range from the newest one: spend by
    prompt template is summed per range."""
    newest = conn.execute(select(func.max(WindowMetrics.window_start))).scalar()
    windows: list[dict[str, Any]] = []
    if newest is not None:
        columns = [getattr(WindowMetrics, name) for name in WINDOW_COLUMNS]
        query = select(*columns).where(WindowMetrics.window_start > newest - LONGEST)
        windows = [dict(row) for row in conn.execute(query).mappings()]
    runs = _drift_runs(conn)
    return SiteData(
        newest=newest,
        windows=windows,
        quality=_quality(conn),
        drift_runs=runs,
        drift_columns=_drift_columns(conn, [r["run_id"] for r in runs]),
        alerts=_alerts(conn, max_alerts),
        slos=_slos(conn),
        incidents=_unresolved_incidents(conn),
        template_spend={
            start: _template_spend(conn, start)
            for start in ({f(newest) for f in range_starts} if newest is not None else ())
        },
    )


def _template_spend(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    t = WindowTemplateSpend
    cost = func.sum(t.cost_total_usd)
    query = (
        select(
            t.feature_id, t.model_id, t.prompt_template_id,
            func.sum(t.request_count).label("requests"), cost.label("cost"),
            func.sum(t.unpriced_count).label("unpriced"),
        )
        .where(t.window_start >= since)
        .group_by(t.feature_id, t.model_id, t.prompt_template_id)
    )  # fmt: skip
    rows = [
        {**row, "requests": int(row["requests"]), "unpriced": int(row["unpriced"]),
         "cost": float(row["cost"] or 0.0)}
        for row in conn.execute(query).mappings()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["cost"], r["feature_id"], r["model_id"],
                                       r["prompt_template_id"]))  # fmt: skip


def _unresolved_incidents(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    query = (
        select(Incident.__table__)
        .where(Incident.state != "resolved")
        .order_by(Incident.opened_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def _slos(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    query = select(SloStatus.__table__).order_by(SloStatus.feature_id, SloStatus.slo)
    for row in conn.execute(query).mappings():
        out[row["feature_id"]].append(dict(row))
    return dict(out)


def _quality(conn: Connection) -> list[QualityChart]:
    charts = {
        row.chart_id: QualityChart(row.chart_id, row.feature_id, row.metric, row.mu0)
        for row in conn.execute(
            select(ChartState.chart_id, ChartState.feature_id, ChartState.metric, ChartState.mu0)
        )
    }
    newest = conn.execute(select(func.max(ChartPoint.window_start))).scalar()
    if newest is None:
        return []
    query = (
        select(ChartPoint.__table__)
        .where(ChartPoint.window_start > newest - LONGEST)
        .order_by(ChartPoint.chart_id, ChartPoint.window_start)
    )
    for p in conn.execute(query).mappings():
        chart = charts.get(p["chart_id"])
        if chart is None:
            continue
        t = p["window_start"]
        chart.mean.append((t, float(p["mean"])))
        chart.signalled = bool(p["signal"])
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
    out = []
    for row in conn.execute(query).mappings():
        alert = alert_to_dict(row)
        # Keep datetimes (alert_to_dict gives ISO strings) for ages and chart bands.
        for name in ("created_at", "window_start", "window_end"):
            alert[name] = row[name]
        out.append(alert)
    return out


def _drift_runs(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    # Read here rather than through llmwatch.drift, which would import Evidently (slow)
    # into every flow that regenerates the site.
    query = select(DriftRun.__table__).order_by(DriftRun.report_date.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def _drift_columns(conn: Connection, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not run_ids:
        return out
    query = (
        select(DriftColumn.__table__)
        .where(DriftColumn.run_id.in_(run_ids))
        .order_by(DriftColumn.run_id, DriftColumn.drifted.desc(), DriftColumn.column_name)
    )
    for row in conn.execute(query).mappings():
        out[row["run_id"]].append(dict(row))
    return out
