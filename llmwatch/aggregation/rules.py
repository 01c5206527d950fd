"""Alert rules over written windows (SPEC 4.2, 4.7).

Every rule looks at one window (already stored) and at stored earlier windows, so a
back-fill run window by window in time order raises the same alerts a live schedule
would have, and re-running a window only meets the cool-down of ``record_alerts``.

SLOs are not judged here: ``llmwatch.slo`` alerts on their error-budget burn rates, on
the raw records every few minutes (a p99 over a threshold in two consecutive hours never
fires at a few requests an hour, and at best two hours late).

* ``cost_anomaly`` (budget): the hour's spend over the hourly budget, in total and per
  feature. Unpriced requests make the total a lower bound, which the message says.
* ``token_spike`` / ``cost_anomaly`` (baseline): the window's median tokens per request
  (input + output), or median cost per priced request, far above the same feature x
  model's trailing windows. Medians, not means, because one very long session (a
  twenty-turn chat dragging its context along) lifts an hour's mean of a small series
  1.8x in the simulator's clean traffic, while a real spike moves the bulk of requests;
  the budget rule still watches total spend. The baseline is the
  median and the MAD (scaled by 1.4826 to estimate a standard deviation under
  normality) of the trailing windows, which one noisy hour cannot move; the value must
  exceed ``robust_z`` robust standard deviations *and* ``min_ratio`` times the median
  (so a nearly constant history, MAD ~ 0, cannot page on a trifle), and there must be
  ``min_history`` trailing windows with enough requests.
* ``survivorship_bias``: the window's survivorship flag (see ``metrics``).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from llmwatch.aggregation.store import read_window, read_windows
from llmwatch.alerts import NewAlert
from llmwatch.settings import CostSettings
from llmwatch.severity import ratio_severity

FLOW = "cost_aggregation"
MAD_TO_SIGMA = 1.4826
# A floor on the robust scale, as a fraction of the median, for histories with MAD 0.
MIN_RELATIVE_SCALE = 0.01

Row = dict[str, Any]


@dataclass(frozen=True)
class RobustBaseline:
    median: float
    mad: float
    n: int

    @property
    def scale(self) -> float:
        return max(MAD_TO_SIGMA * self.mad, MIN_RELATIVE_SCALE * abs(self.median))

    def z(self, value: float) -> float:
        scale = self.scale
        if scale == 0:
            return 0.0 if value == self.median else float("inf")
        return (value - self.median) / scale


def robust_baseline(values: Sequence[float]) -> RobustBaseline:
    """Median and median absolute deviation of ``values`` (at least one)."""
    if not values:
        raise ValueError("a baseline needs at least one value")
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return RobustBaseline(median=median, mad=mad, n=len(values))


def evaluate_window(
    conn: Connection, window_start: datetime, settings: CostSettings, *, revised: bool = False
) -> list[NewAlert]:
    """The alerts the stored window starting at ``window_start`` calls for.

    ``revised``: the window was aggregated before and is aggregated again because late
    records reached it; its alerts say so (``details["revised"]``).
    """
    alerts = _window_alerts(conn, window_start, settings)
    if revised:
        alerts = [
            dataclasses.replace(
                a, message=f"{a.message} (window revised by late data)",
                details={**a.details, "revised": True},
            )
            for a in alerts
        ]  # fmt: skip
    return alerts


def _window_alerts(
    conn: Connection, window_start: datetime, settings: CostSettings
) -> list[NewAlert]:
    rows = read_window(conn, window_start)
    if not rows:
        return []
    history = _history(conn, window_start, settings)
    alerts: list[NewAlert] = []
    for row in rows:
        key = (row["feature_id"], row["model_id"])
        alerts += baseline_alerts(row, history.get(key, []), settings)
        alerts += survivorship_alerts(row, settings)
    alerts += budget_alerts(rows, settings)
    return alerts


def baseline_alerts(row: Row, history: list[Row], settings: CostSettings) -> list[NewAlert]:
    if row["request_count"] < settings.anomaly_min_requests:
        return []
    checks = [
        ("token_spike", "total_tokens_p50", row["total_tokens_p50"],
         [h["total_tokens_p50"] for h in history]),
        ("cost_anomaly", "cost_p50_usd", row["cost_p50_usd"],
         [h["cost_p50_usd"] for h in history if h["cost_p50_usd"] is not None]),
    ]  # fmt: skip
    out = []
    for kind, metric, value, past in checks:
        if value is None or len(past) < settings.min_history:
            continue
        baseline = robust_baseline(past)
        z = baseline.z(value)
        floor = settings.min_ratio * baseline.median
        if z <= settings.robust_z or value <= floor:
            continue
        threshold = max(baseline.median + settings.robust_z * baseline.scale, floor)
        ratio = value / baseline.median if baseline.median else float("inf")
        out.append(
            NewAlert(
                kind=kind,
                flow=FLOW,
                severity=ratio_severity(ratio),
                feature_id=row["feature_id"],
                model_id=row["model_id"],
                metric=metric,
                value=value,
                threshold=threshold,
                window_start=row["window_start"],
                window_end=row["window_end"],
                message=(
                    f"{metric} {_fmt(value)} for {row['feature_id']}/{row['model_id']} is "
                    f"{value / baseline.median:.1f}x its trailing median {_fmt(baseline.median)}"
                    f" (robust z {z:.1f} over {baseline.n} windows)"
                    if baseline.median
                    else f"{metric} {_fmt(value)} for {row['feature_id']}/{row['model_id']} "
                    f"against a trailing median of 0"
                ),
                details={
                    "baseline_median": baseline.median,
                    "baseline_mad": baseline.mad,
                    "baseline_windows": baseline.n,
                    "robust_z": z if z != float("inf") else None,
                    "request_count": row["request_count"],
                    "unpriced_count": row["unpriced_count"],
                    "ratio_to_median": ratio if baseline.median else None,
                },
            )
        )
    return out


def survivorship_alerts(row: Row, settings: CostSettings) -> list[NewAlert]:
    if not row["survivorship_bias"]:
        return []
    return [
        NewAlert(
            kind="survivorship_bias",
            flow=FLOW,
            feature_id=row["feature_id"],
            model_id=row["model_id"],
            metric="abandonment_rate",
            value=row["abandonment_rate"],
            threshold=settings.survivorship_abandonment_rate,
            window_start=row["window_start"],
            window_end=row["window_end"],
            message=(
                f"{row['feature_id']}/{row['model_id']}: "
                f"{row['explicit_positive_rate']:.0%} of explicit ratings are positive but "
                f"{row['abandonment_rate']:.0%} of requests were abandoned; explicit "
                "feedback is hiding unhappy users"
            ),
            details={
                "explicit_positive_rate": row["explicit_positive_rate"],
                "explicit_feedback_count": row["explicit_feedback_count"],
                "explicit_feedback_coverage": row["explicit_feedback_coverage"],
                "positive_rate_threshold": settings.survivorship_positive_rate,
                "request_count": row["request_count"],
            },
        )
    ]


def budget_alerts(rows: Sequence[Row], settings: CostSettings) -> list[NewAlert]:
    if not rows:
        return []
    scopes: list[tuple[str | None, float, list[Row]]] = []
    if settings.hourly_budget_usd is not None:
        scopes.append((None, settings.hourly_budget_usd, list(rows)))
    by_feature: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_feature[row["feature_id"]].append(row)
    for name, budget in sorted(settings.feature_hourly_budget_usd.items()):
        if name in by_feature:
            scopes.append((name, budget, by_feature[name]))
    out = []
    for feature, budget, scoped in scopes:
        spend = sum(r["cost_total_usd"] for r in scoped if r["cost_total_usd"] is not None)
        if spend <= budget:
            continue
        unpriced = sum(r["unpriced_count"] for r in scoped)
        scope = f"feature {feature}" if feature else "all features"
        lower_bound = f" (at least: {unpriced} requests have no price)" if unpriced else ""
        out.append(
            NewAlert(
                kind="cost_anomaly",
                flow=FLOW,
                severity=ratio_severity(spend / budget) if budget > 0 else "critical",
                feature_id=feature,
                metric="hourly_cost_usd",
                value=spend,
                threshold=budget,
                window_start=rows[0]["window_start"],
                window_end=rows[0]["window_end"],
                message=f"hourly spend ${spend:.2f} over budget ${budget:.2f} for {scope}"
                + lower_bound,
                details={
                    "ratio_to_budget": spend / budget if budget > 0 else None,
                    "unpriced_count": unpriced,
                    "by_model": _spend_by_model(scoped),
                },
            )
        )
    return out


def _spend_by_model(rows: Sequence[Row]) -> dict[str, float]:
    spend: dict[str, float] = defaultdict(float)
    for row in rows:
        if row["cost_total_usd"] is not None:
            spend[row["model_id"]] += row["cost_total_usd"]
    return dict(sorted(spend.items()))


def _history(
    conn: Connection, window_start: datetime, settings: CostSettings
) -> dict[tuple[str, str], list[Row]]:
    since = window_start - timedelta(hours=settings.baseline_hours)
    columns = (
        "feature_id", "model_id", "request_count", "total_tokens_p50", "cost_p50_usd",
    )  # fmt: skip
    out: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in read_windows(conn, since, window_start, columns):
        if row["request_count"] >= settings.anomaly_min_requests:
            out[(row["feature_id"], row["model_id"])].append(row)
    return out


def _fmt(value: float) -> str:
    return f"{value:.4g}"


__all__ = [
    "FLOW",
    "RobustBaseline",
    "baseline_alerts",
    "budget_alerts",
    "evaluate_window",
    "robust_baseline",
    "survivorship_alerts",
]
