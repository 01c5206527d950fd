"""A week of synthetic traffic, back-filled window by window like the schedule would.

The clean-week check runs on the simulator's traffic (test_simulated_traffic.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from llmwatch.aggregation import run_window, windows_between
from llmwatch.alerts import list_alerts
from llmwatch.settings import CostSettings
from tests.core.aggregation.traffic import (
    BASE_TIME,
    Incidents,
    generate_traffic,
    hours,
    insert_rows,
)

DAYS = 7
SPIKE = ("rag", "gpt-4o-2024-08-06", hours(BASE_TIME + timedelta(days=3, hours=14), 3))
SLOW = ("chat", "gpt-4o-mini-2024-07-18", hours(BASE_TIME + timedelta(days=4, hours=10), 3))
UNHAPPY = ("chat", "claude-3-5-haiku-20241022", hours(BASE_TIME + timedelta(days=5, hours=9), 4))


def _back_fill(engine: Engine, settings: CostSettings) -> list[tuple[str, str, str, str, object]]:
    for window in windows_between(BASE_TIME, BASE_TIME + timedelta(days=DAYS)):
        run_window(engine, window, settings)
    with engine.connect() as conn:
        alerts = list_alerts(conn)
    return sorted(
        (a["kind"], a["metric"], a["feature_id"], a["model_id"], a["window_start"]) for a in alerts
    )


def test_injected_incidents_alert_in_their_window_for_their_series(engine: Engine) -> None:
    requests, signals = generate_traffic(
        DAYS, Incidents(cost_spike=SPIKE, latency_breach=SLOW, survivorship=UNHAPPY)
    )
    insert_rows(engine, requests, signals)
    got = _back_fill(engine, CostSettings())
    spike_start = SPIKE[2][0].isoformat()
    expected = [
        # the spike is caught in its first hour, on tokens and on cost per request
        ("cost_anomaly", "cost_p50_usd", SPIKE[0], SPIKE[1], spike_start),
        # (the slow hours are the SLO burn-rate rules' business: llmwatch.slo, not hourly)
        (
            "survivorship_bias",
            "abandonment_rate",
            UNHAPPY[0],
            UNHAPPY[1],
            UNHAPPY[2][0].isoformat(),
        ),
        ("token_spike", "total_tokens_p50", SPIKE[0], SPIKE[1], spike_start),
    ]
    assert got == expected
