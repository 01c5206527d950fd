"""Hourly cost and operational aggregation (SPEC 4.2) and its alert rules.

The work of a window, in order: ``aggregate_window`` (SQL in the warehouse) ->
``replace_window`` (one transaction) -> ``evaluate_window`` (alerts) ->
``llmwatch.alerts.record_alerts``. ``run_window`` does all of it for one window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from llmwatch.aggregation.cardinality import cardinality_alerts
from llmwatch.aggregation.metrics import aggregate_window, survivorship_bias
from llmwatch.aggregation.rules import evaluate_window, robust_baseline
from llmwatch.aggregation.store import (
    read_first_request_time,
    read_watermark,
    read_window,
    replace_window,
)
from llmwatch.aggregation.templates import replace_template_spend
from llmwatch.aggregation.windows import (
    WINDOW,
    default_windows,
    floor_hour,
    last_complete_window,
    windows_between,
)
from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.settings import CostSettings


@dataclass
class WindowResult:
    window_start: datetime
    rows: list[dict[str, Any]]
    alerts: list[NewAlert] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)


def run_window(engine: Engine, window_start: datetime, settings: CostSettings) -> WindowResult:
    """Aggregate, store and alert one window (the Prefect-free path of the flow)."""
    # Read, then write in its own transaction, as the flow's tasks do: a SQLite read
    # snapshot is never upgraded to a write (that fails when another job wrote between).
    with engine.connect() as conn:
        rows = aggregate_window(conn, window_start, settings)
    with engine.begin() as conn:
        replace_window(conn, window_start, rows)
        replace_template_spend(conn, window_start, settings.max_distinct_per_window)
    with engine.begin() as conn:
        alerts = evaluate_window(conn, window_start, settings)
        alerts += cardinality_alerts(conn, window_start, settings.max_distinct_per_window)
        ids = record_alerts(conn, alerts, cooldown=timedelta(hours=settings.cooldown_hours))
    return WindowResult(window_start, rows, alerts, ids)


__all__ = [
    "WINDOW",
    "WindowResult",
    "aggregate_window",
    "default_windows",
    "evaluate_window",
    "floor_hour",
    "last_complete_window",
    "read_first_request_time",
    "read_watermark",
    "read_window",
    "record_alerts",
    "replace_template_spend",
    "replace_window",
    "robust_baseline",
    "run_window",
    "survivorship_bias",
    "windows_between",
]
