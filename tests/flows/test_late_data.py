"""Late data (issue 16.7): records that reach a window after it left the look-back are
aggregated by the next scheduled run, and its alerts say the window was revised."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from flows.cost_aggregation import cost_aggregation_flow
from llmwatch.aggregation import floor_hour
from llmwatch.alerts import list_alerts
from llmwatch.ingest import ingest_paths
from llmwatch.settings import Settings, get_settings
from llmwatch.warehouse.models import WindowMetrics
from tests.core.ingest.test_loader import record

pytestmark = pytest.mark.flow


def ingest(engine: Engine, path: Path, hour: datetime, ids: range, cost: float) -> None:
    rows = [
        record(i, timestamp=(hour + timedelta(minutes=i % 60)).isoformat(), cost_usd=cost)
        for i in ids
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    ingest_paths(engine, [path], Settings())


def stored(engine: Engine, hour: datetime) -> tuple[int, float] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(WindowMetrics.request_count, WindowMetrics.cost_total_usd).where(
                WindowMetrics.window_start == hour
            )
        ).first()
    return None if row is None else (row[0], row[1])


def test_late_records_revise_their_window_on_the_next_run(engine: Engine, tmp_path: Path) -> None:
    os.environ["LLMWATCH_COST__HOURLY_BUDGET_USD"] = "1.0"
    # No second look before the mark: this test commits each ingest before the next run.
    os.environ["LLMWATCH_COST__LATE_MARGIN_MINUTES"] = "0"
    get_settings.cache_clear()
    try:
        old = floor_hour(datetime.now(UTC)) - timedelta(hours=8)  # outside the 3 h look-back
        ingest(engine, tmp_path / "on-time.jsonl", old, range(5), cost=0.1)
        cost_aggregation_flow(old, old + timedelta(hours=1))  # when it was recent
        assert stored(engine, old) == (5, pytest.approx(0.5))
        first = cost_aggregation_flow()  # the schedule: leaves its mark
        assert first.revised == []

        ingest(engine, tmp_path / "late.jsonl", old, range(100, 102), cost=1.0)
        second = cost_aggregation_flow()
        third = cost_aggregation_flow()
    finally:
        del os.environ["LLMWATCH_COST__HOURLY_BUDGET_USD"]
        del os.environ["LLMWATCH_COST__LATE_MARGIN_MINUTES"]
        get_settings.cache_clear()

    assert second.revised == [old]
    assert old in second.windows
    assert stored(engine, old) == (7, pytest.approx(2.5))
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["metric"] == "hourly_cost_usd"]
    assert len(alerts) == 1
    assert alerts[0]["details"]["revised"] is True
    assert "revised by late data" in alerts[0]["message"]
    assert third.revised == []  # nothing new arrived: the look-back only
