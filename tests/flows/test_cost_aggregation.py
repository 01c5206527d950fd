"""The cost aggregation flow on the Prefect test harness, over both warehouses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from flows.cost_aggregation import cost_aggregation_flow
from llmwatch.aggregation import floor_hour
from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.warehouse.models import WindowMetrics
from tests.core.aggregation.traffic import (
    BASE_TIME,
    Incidents,
    generate_traffic,
    hours,
    insert_rows,
    request,
)

pytestmark = pytest.mark.flow

SLOW = ("chat", "gpt-4o-mini-2024-07-18", hours(BASE_TIME + timedelta(hours=15), 2))
UNHAPPY = ("rag", "gpt-4o-2024-08-06", hours(BASE_TIME + timedelta(hours=11), 1))


def _artifacts(flow_run_id: UUID) -> dict[str, dict[str, Any]]:
    # Straight to the REST API: the 3.8.8 client sends nulls that its own server refuses.
    import httpx
    from prefect.settings import PREFECT_API_URL

    response = httpx.post(
        f"{PREFECT_API_URL.value()}/artifacts/filter",
        json={
            "artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}},
            "limit": 50,
            "offset": 0,
            "sort": "CREATED_DESC",
        },
    )
    response.raise_for_status()
    return {a["key"]: a for a in response.json()}


def _window_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(WindowMetrics)).scalar_one()


def test_back_fill_alerts_and_publishes_artifacts(engine: Engine) -> None:
    requests, signals = generate_traffic(1, Incidents(latency_breach=SLOW, survivorship=UNHAPPY))
    insert_rows(engine, requests, signals)
    start, end = BASE_TIME + timedelta(hours=9), BASE_TIME + timedelta(hours=17)

    state = cost_aggregation_flow(start=start, end=end, return_state=True)
    summary = state.result()
    assert summary.windows == hours(start, 8)
    assert summary.rows_written == 8 * 3
    with engine.connect() as conn:
        alerts = list_alerts(conn)
    got = sorted((a["kind"], a["feature_id"], a["model_id"], a["window_start"]) for a in alerts)
    # The slow hours are not the hourly flow's business any more (slo-burn pages them).
    assert got == [
        ("survivorship_bias", UNHAPPY[0], UNHAPPY[1], UNHAPPY[2][0].isoformat()),
    ]
    assert sorted(summary.alert_ids) == sorted(a["id"] for a in alerts)

    artifacts = _artifacts(state.state_details.flow_run_id)
    table = artifacts["cost-window-metrics"]
    assert table["type"] == "table"
    assert SLOW[1] in str(table["data"])
    markdown = artifacts["cost-alerts"]
    assert markdown["type"] == "markdown"
    assert "survivorship_bias" in markdown["data"]

    # a second run replaces the windows and, inside the cool-down, raises nothing again
    again = cost_aggregation_flow(start=start, end=end)
    assert again.alert_ids == []
    assert _window_rows(engine) == 8 * 3
    with engine.connect() as conn:
        assert len(list_alerts(conn)) == 1


def test_default_run_looks_back_and_counts_late_records(engine: Engine) -> None:
    last = floor_hour(datetime.now(UTC)) - timedelta(hours=1)
    insert_rows(engine, [request("a", last + timedelta(minutes=1))])
    summary = cost_aggregation_flow()
    assert summary.windows == [last - timedelta(hours=2), last - timedelta(hours=1), last]
    # a record of an hour already aggregated arrives late: the next run's look-back has it
    insert_rows(engine, [request("late", last - timedelta(hours=2) + timedelta(minutes=5))])
    cost_aggregation_flow()
    with engine.connect() as conn:
        counts = dict(
            conn.execute(select(WindowMetrics.window_start, WindowMetrics.request_count)).all()
        )
    assert counts == {last - timedelta(hours=2): 1, last: 1}


def test_first_scheduled_run_aggregates_the_history_already_stored(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmwatch.settings import get_settings

    # A warehouse filled before the first scheduled run: two days of requests, one an
    # hour. The first run aggregates the last max_backfill_hours of them, not 3 hours.
    monkeypatch.setenv("LLMWATCH_COST__MAX_BACKFILL_HOURS", "12")
    get_settings.cache_clear()
    last = floor_hour(datetime.now(UTC)) - timedelta(hours=1)
    history = hours(last - timedelta(hours=47), 48)
    insert_rows(engine, [request(f"r{i}", t + timedelta(minutes=5)) for i, t in enumerate(history)])

    first = cost_aggregation_flow()
    assert first.windows == hours(last - timedelta(hours=11), 12)
    assert _window_rows(engine) == 12
    # The watermark is set now: the next run is the usual look-back.
    second = cost_aggregation_flow()
    assert second.windows == hours(last - timedelta(hours=2), 3)


def test_cli_run_cost_back_fills_a_range(engine: Engine) -> None:
    insert_rows(engine, [request("a", BASE_TIME + timedelta(minutes=30), latency_ms=5.0)])
    result = CliRunner().invoke(
        main, ["run", "cost", "--start", BASE_TIME.isoformat(), "--end", "2026-03-02T03:00:00"]
    )
    assert result.exit_code == 0, result.output
    assert "aggregated 3 window(s)" in result.output
    assert _window_rows(engine) == 1


def test_cli_refuses_an_end_without_a_start(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["run", "cost", "--end", "2026-03-02T03:00:00"])
    assert result.exit_code != 0
    assert "--end needs --start" in result.output
