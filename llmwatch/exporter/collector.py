"""Warehouse metrics in Prometheus form, read afresh on every scrape (SPEC 4.11).

Names follow the seeds' instrumentation where it has one (``llm_requests_total``,
``llm_tokens_total``, ``llm_request_duration_seconds``); every series carries the labels
``feature`` and ``model``. Mapping from the warehouse:

======================================  =======  =============================================
metric                                  type     source
======================================  =======  =============================================
llm_requests_total{status}              counter  sum of window_metrics.request_count over all
                                                 aggregated windows, split into
                                                 status="success" / "error" (error_count)
llm_tokens_total{type}                  counter  sums of the *_tokens_sum columns over all
                                                 windows; type = input, output, cached_input,
                                                 cache_write, reasoning (cached_input and
                                                 cache_write are part of input, reasoning of
                                                 output, as in the records)
llm_cost_usd_total                      counter  sum of cost_total_usd (priced requests only)
llm_request_duration_seconds{quantile}  gauge    latest window's latency_p50/p95/p99_ms / 1000
llm_time_to_first_token_seconds         gauge    latest window's ttft_p50/p95_ms / 1000
  {quantile}
llm_window_requests                     gauge    latest window's request_count
llm_window_error_ratio                  gauge    latest window's error_rate
llm_window_refusal_ratio                gauge    latest window's refusal_rate
llm_window_cost_usd                     gauge    latest window's cost_total_usd
llm_window_cost_per_request_usd         gauge    latest window's cost_mean_usd
llm_window_unpriced_requests            gauge    latest window's unpriced_count
llm_window_start_timestamp_seconds      gauge    latest window's start (to see staleness)
llm_window_end_timestamp_seconds        gauge    latest window's end
llm_alerts_total{kind,severity}         counter  alerts stored, by kind and severity (feature
                                                 and model are "" for alerts without one)
llm_quality_chart{metric,chart,         gauge    latest point of each EWMA control chart
  statistic}                                     (chart_points + chart_state): statistic =
                                                 window_mean, window_n, ewma, lcl, ucl;
                                                 labels feature, metric (judge_score ...)
                                                 and chart (its id: rubric and judge model);
                                                 no model label (charts are per feature)
llm_slo_error_budget_remaining{slo}     gauge    slo_status.remaining_budget: share of the
                                                 budget period's error budget left (below
                                                 0: overspent); labels feature and slo
llm_slo_burn_rate{slo,window}           gauge    slo_status.burn_rates at the last
                                                 evaluation (window = 5m, 30m, 1h, 6h, 30d)
llm_slo_objective{slo}                  gauge    the objective (share of good events)
llm_slo_alerting{slo,rule}              gauge    1 while the page / ticket rule fires
llm_judge_calibration{judge_model,      gauge    latest complete run of the judge on its
  rubric,statistic}                              calibration set (judge_calibration_runs):
                                                 statistic = accuracy, kappa, n, drifted
                                                 (1 when that run raised judge_drift); no
                                                 feature or model label (it is the judge's)
======================================  =======  =============================================

The "latest window" is the newest ``window_metrics`` row of each feature x model. The
seed instruments latency as a histogram; the warehouse keeps the window's nearest-rank
quantiles instead, so ``llm_request_duration_seconds`` is exported as one gauge per
quantile (the ``quantile`` label, as a summary would have). A quantile or cost that is
NULL in the warehouse (no TTFT recorded, no price known) is left out, never exported as 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, func, select

from llmwatch.aggregation.queries import OTHER
from llmwatch.warehouse.models import (
    Alert,
    ChartPoint,
    ChartState,
    JudgeCalibrationRun,
    SloStatus,
    WindowMetrics,
)

LABELS = ["feature", "model"]
TOKEN_TYPES = {
    "input": "input_tokens_sum",
    "output": "output_tokens_sum",
    "cached_input": "cached_input_tokens_sum",
    "cache_write": "cache_write_tokens_sum",
    "reasoning": "reasoning_tokens_sum",
}
LATENCY_QUANTILES = {"0.5": "latency_p50_ms", "0.95": "latency_p95_ms", "0.99": "latency_p99_ms"}
TTFT_QUANTILES = {"0.5": "ttft_p50_ms", "0.95": "ttft_p95_ms"}
# Latest-window gauges: metric name, help, window_metrics column.
WINDOW_GAUGES = (
    ("llm_window_requests", "Requests in the latest aggregated window", "request_count"),
    ("llm_window_error_ratio", "Share of failed requests in the latest window", "error_rate"),
    ("llm_window_refusal_ratio", "Share of refusals in the latest window", "refusal_rate"),
    ("llm_window_cost_usd", "Cost of the priced requests of the latest window", "cost_total_usd"),
    (
        "llm_window_cost_per_request_usd",
        "Mean cost per priced request in the latest window",
        "cost_mean_usd",
    ),
    ("llm_window_unpriced_requests", "Requests without a known price", "unpriced_count"),
)


class WarehouseCollector(Collector):
    """A prometheus_client collector that queries the warehouse on each ``collect``.

    Series honour the same cap as the windows (``cost.max_distinct_per_window``): over
    all windows, the features (and models) with the most requests keep their labels and
    the rest are summed into ``__other__`` in the counters; their latest-window gauges
    are left out (the windows' own ``__other__`` rows are exported).
    """

    def __init__(self, engine: Engine, max_distinct: int | None = None) -> None:
        self.engine = engine
        if max_distinct is None:
            from llmwatch.settings import get_settings

            max_distinct = get_settings().cost.max_distinct_per_window
        self.max_distinct = max_distinct

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            latest = conn.execute(_latest_windows()).mappings().all()
            totals = conn.execute(_totals()).mappings().all()
            alerts = conn.execute(_alert_counts()).all()
            charts = conn.execute(_latest_chart_points()).mappings().all()
            calibrations = conn.execute(_latest_calibrations()).mappings().all()
            slos = (
                conn.execute(
                    select(SloStatus.__table__).order_by(SloStatus.feature_id, SloStatus.slo)
                )
                .mappings()
                .all()
            )
        label = _Labels(totals, self.max_distinct)
        kept_latest = [r for r in latest if label.kept(r["feature_id"], r["model_id"])]
        charts = [r for r in charts if label.feature(r["feature_id"]) != OTHER]
        slos = [r for r in slos if label.feature(r["feature_id"]) != OTHER]
        yield from _counters(label.fold_totals(totals))
        yield from _window_gauges(kept_latest)
        alerts_total = CounterMetricFamily(
            "llm_alerts",
            "Alerts stored in the warehouse, by kind and severity",
            labels=["kind", "severity", *LABELS],
        )
        for kind, severity, feature, model, count in label.fold_alerts(alerts):
            alerts_total.add_metric([kind, severity, feature or "", model or ""], count)
        yield alerts_total
        yield _quality_charts(charts)
        yield from _slo_gauges(slos)
        yield _calibration_gauge(calibrations)


def _slo_gauges(rows: Any) -> Iterator[Metric]:
    remaining = GaugeMetricFamily(
        "llm_slo_error_budget_remaining",
        "Share of the SLO's error budget left over its budget period (below 0: overspent)",
        labels=["feature", "slo"],
    )
    burn = GaugeMetricFamily(
        "llm_slo_burn_rate",
        "Error-budget burn rate (bad share / allowed share) per alert window",
        labels=["feature", "slo", "window"],
    )
    objective = GaugeMetricFamily(
        "llm_slo_objective", "The SLO's objective (share of good events)", labels=["feature", "slo"]
    )
    alerting = GaugeMetricFamily(
        "llm_slo_alerting",
        "1 while the SLO's fast-burn page or slow-burn ticket rule fires",
        labels=["feature", "slo", "rule"],
    )
    for row in rows:
        key = [row["feature_id"], row["slo"]]
        if row["remaining_budget"] is not None:
            remaining.add_metric(key, float(row["remaining_budget"]))
        for window, value in sorted((row["burn_rates"] or {}).items()):
            if value is not None:
                burn.add_metric([*key, window], float(value))
        objective.add_metric(key, float(row["objective"]))
        alerting.add_metric([*key, "page"], 1.0 if row["paging"] else 0.0)
        alerting.add_metric([*key, "ticket"], 1.0 if row["ticketing"] else 0.0)
    yield from (remaining, burn, objective, alerting)


class _Labels:
    """The feature and model labels kept under the cap, by requests over all windows."""

    def __init__(self, totals: Any, cap: int) -> None:
        self.features = self._top(totals, "feature_id", cap)
        self.models = self._top(totals, "model_id", cap)

    @staticmethod
    def _top(totals: Any, column: str, cap: int) -> set[str] | None:
        requests: dict[str, int] = defaultdict(int)
        for row in totals:
            requests[row[column]] += int(row["requests"] or 0)
        if len(requests) <= cap:
            return None
        ranked = sorted(requests, key=lambda v: (-requests[v], v))
        return {v for v in ranked[: cap - 1] if v != OTHER}

    def feature(self, value: str | None) -> str | None:
        if value is None or self.features is None or value in self.features:
            return value
        return OTHER

    def model(self, value: str | None) -> str | None:
        if value is None or self.models is None or value in self.models:
            return value
        return OTHER

    def kept(self, feature: str, model: str) -> bool:
        """Whether a row keeps its own labels (a window's own OTHER row does too)."""
        return self.feature(feature) == feature and self.model(model) == model

    def fold_totals(self, totals: Any) -> list[dict[str, Any]]:
        if self.features is None and self.models is None:
            return [dict(row) for row in totals]
        folded: dict[tuple[Any, Any], dict[str, Any]] = {}
        for row in totals:
            key = (self.feature(row["feature_id"]), self.model(row["model_id"]))
            into = folded.setdefault(key, {"feature_id": key[0], "model_id": key[1]})
            for column, value in row.items():
                if column in ("feature_id", "model_id") or value is None:
                    continue
                into[column] = (into.get(column) or 0) + value
        for row in folded.values():
            for column in ("requests", "errors", "cost", *TOKEN_TYPES.values()):
                row.setdefault(column, None)
        return [folded[key] for key in sorted(folded, key=str)]

    def fold_alerts(self, alerts: Any) -> list[tuple[Any, ...]]:
        counts: dict[tuple[Any, ...], int] = defaultdict(int)
        for kind, severity, feature, model, count in alerts:
            counts[(kind, severity, self.feature(feature), self.model(model))] += count
        return [(*key, count) for key, count in counts.items()]


def _latest_windows() -> Any:
    newest = (
        select(
            WindowMetrics.feature_id,
            WindowMetrics.model_id,
            func.max(WindowMetrics.window_start).label("window_start"),
        )
        .group_by(WindowMetrics.feature_id, WindowMetrics.model_id)
        .subquery()
    )
    return (
        select(WindowMetrics.__table__)
        .join(
            newest,
            and_(
                WindowMetrics.feature_id == newest.c.feature_id,
                WindowMetrics.model_id == newest.c.model_id,
                WindowMetrics.window_start == newest.c.window_start,
            ),
        )
        .order_by(WindowMetrics.feature_id, WindowMetrics.model_id)
    )


def _totals() -> Any:
    wm = WindowMetrics
    sums = [
        func.sum(wm.request_count).label("requests"),
        func.sum(wm.error_count).label("errors"),
        func.sum(wm.cost_total_usd).label("cost"),
        *[func.sum(getattr(wm, column)).label(column) for column in TOKEN_TYPES.values()],
    ]
    return (
        select(wm.feature_id, wm.model_id, *sums)
        .group_by(wm.feature_id, wm.model_id)
        .order_by(wm.feature_id, wm.model_id)
    )


def _alert_counts() -> Any:
    return (
        select(Alert.kind, Alert.severity, Alert.feature_id, Alert.model_id, func.count())
        .group_by(Alert.kind, Alert.severity, Alert.feature_id, Alert.model_id)
        .order_by(Alert.kind, Alert.severity, Alert.feature_id, Alert.model_id)
    )


def _counters(totals: Any) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "llm_requests", "LLM requests in aggregated windows", labels=[*LABELS, "status"]
    )
    tokens = CounterMetricFamily(
        "llm_tokens", "Tokens of requests in aggregated windows", labels=[*LABELS, "type"]
    )
    cost = CounterMetricFamily(
        "llm_cost_usd", "Cost of priced requests in aggregated windows (USD)", labels=LABELS
    )
    for row in totals:
        key = [row["feature_id"], row["model_id"]]
        errors = int(row["errors"] or 0)
        requests.add_metric([*key, "success"], int(row["requests"] or 0) - errors)
        requests.add_metric([*key, "error"], errors)
        for token_type, column in TOKEN_TYPES.items():
            tokens.add_metric([*key, token_type], int(row[column] or 0))
        if row["cost"] is not None:
            cost.add_metric(key, float(row["cost"]))
    yield from (requests, tokens, cost)


def _window_gauges(latest: Any) -> Iterator[Metric]:
    duration = GaugeMetricFamily(
        "llm_request_duration_seconds",
        "End-to-end latency quantiles of the latest aggregated window (nearest rank)",
        labels=[*LABELS, "quantile"],
    )
    ttft = GaugeMetricFamily(
        "llm_time_to_first_token_seconds",
        "Time-to-first-token quantiles of the latest aggregated window (nearest rank)",
        labels=[*LABELS, "quantile"],
    )
    gauges = [(GaugeMetricFamily(n, h, labels=LABELS), column) for n, h, column in WINDOW_GAUGES]
    start = GaugeMetricFamily(
        "llm_window_start_timestamp_seconds", "Start of the latest window", labels=LABELS
    )
    end = GaugeMetricFamily(
        "llm_window_end_timestamp_seconds", "End of the latest window", labels=LABELS
    )
    for row in latest:
        key = [row["feature_id"], row["model_id"]]
        for family, quantiles in ((duration, LATENCY_QUANTILES), (ttft, TTFT_QUANTILES)):
            for quantile, column in quantiles.items():
                if row[column] is not None:
                    family.add_metric([*key, quantile], row[column] / 1000.0)
        for family, column in gauges:
            if row[column] is not None:
                family.add_metric(key, float(row[column]))
        start.add_metric(key, row["window_start"].timestamp())
        end.add_metric(key, row["window_end"].timestamp())
    yield from (duration, ttft, *(family for family, _ in gauges), start, end)


CHART_STATISTICS = {"window_mean": "mean", "window_n": "n", "ewma": "z", "lcl": "lcl", "ucl": "ucl"}


def _latest_calibrations() -> Any:
    runs = JudgeCalibrationRun.__table__
    latest = (
        select(func.max(runs.c.id).label("id"))
        .where(runs.c.verdict != "incomplete")
        .group_by(runs.c.judge_model, runs.c.rubric_version)
        .subquery()
    )
    return (
        select(runs)
        .join(latest, latest.c.id == runs.c.id)
        .order_by(runs.c.judge_model, runs.c.rubric_version)
    )


def _calibration_gauge(rows: Any) -> Metric:
    gauge = GaugeMetricFamily(
        "llm_judge_calibration",
        "The judge's agreement with the calibration set's known verdicts (latest complete run)",
        labels=["judge_model", "rubric", "statistic"],
    )
    for row in rows:
        key = [row["judge_model"], row["rubric_version"]]
        if row["accuracy"] is not None:
            gauge.add_metric([*key, "accuracy"], float(row["accuracy"]))
        if row["kappa"] is not None:
            gauge.add_metric([*key, "kappa"], float(row["kappa"]))
        gauge.add_metric([*key, "n"], float(row["n_judged"]))
        gauge.add_metric([*key, "drifted"], 1.0 if row["verdict"] == "drift" else 0.0)
    return gauge


def _latest_chart_points() -> Any:
    newest = (
        select(ChartPoint.chart_id, func.max(ChartPoint.window_start).label("window_start"))
        .group_by(ChartPoint.chart_id)
        .subquery()
    )
    return (
        select(ChartState.feature_id, ChartState.metric, ChartPoint.__table__)
        .join(
            newest,
            and_(
                ChartPoint.chart_id == newest.c.chart_id,
                ChartPoint.window_start == newest.c.window_start,
            ),
        )
        .join(ChartState, ChartState.chart_id == ChartPoint.chart_id)
        .order_by(ChartPoint.chart_id)
    )


def _quality_charts(points: Any) -> Metric:
    family = GaugeMetricFamily(
        "llm_quality_chart",
        "Latest window of each EWMA control chart (judged quality): the window mean and "
        "size, the EWMA statistic and its control limits",
        labels=["feature", "metric", "chart", "statistic"],
    )
    for row in points:
        for statistic, column in CHART_STATISTICS.items():
            if row[column] is not None:
                family.add_metric(
                    [row["feature_id"], row["metric"], row["chart_id"], statistic],
                    float(row[column]),
                )
    return family
