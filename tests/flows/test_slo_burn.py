"""The slo-burn flow on the Prefect test harness, over both warehouses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from flows.slo_burn import slo_burn_flow
from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.warehouse.models import SloStatus
from tests.core.aggregation.traffic import (
    BASE_TIME,
    Incidents,
    generate_traffic,
    hours,
    insert_rows,
)

pytestmark = pytest.mark.flow

SLOW = ("chat", "gpt-4o-mini-2024-07-18", hours(BASE_TIME + timedelta(hours=15), 2))


def test_back_fill_pages_the_slow_stretch_once_and_stores_the_status(engine: Engine) -> None:
    requests, signals = generate_traffic(1, Incidents(latency_breach=SLOW))
    insert_rows(engine, requests, signals)
    start, end = BASE_TIME + timedelta(hours=13), BASE_TIME + timedelta(hours=18)

    reports = slo_burn_flow(start=start, end=end)
    assert len(reports) == 5 * 12  # every 5 minutes (slo.step_minutes)
    with engine.connect() as conn:
        alerts = list_alerts(conn)
        status = conn.execute(select(SloStatus.__table__)).mappings().all()
    pages = [a for a in alerts if a["severity"] == "critical"]
    assert [(a["feature_id"], a["model_id"], a["metric"]) for a in pages] == [
        (SLOW[0], SLOW[1], "latency_slo_burn")
    ]
    slow_from = SLOW[2][0]
    assert slow_from.isoformat() <= pages[0]["window_end"]
    # About a third of the feature's requests turn slow (one of its models, ~15x slower):
    # 12x the 1 % budget over the hour takes some 15-20 minutes of that.
    assert pages[0]["window_end"] <= (slow_from + timedelta(minutes=30)).isoformat()
    # The status of the last instant: every feature's three SLOs, the slow one's budget spent.
    assert {(r["feature_id"], r["slo"]) for r in status} >= {(SLOW[0], "latency")}
    chat = next(r for r in status if (r["feature_id"], r["slo"]) == (SLOW[0], "latency"))
    assert chat["evaluated_at"] == end
    assert chat["remaining_budget"] < 0

    # Run again: the same instants, nothing new.
    slo_burn_flow(start=start, end=end)
    with engine.connect() as conn:
        assert len(list_alerts(conn)) == len(alerts)


def test_cli_run_slo(engine: Engine) -> None:
    result = CliRunner().invoke(
        main, ["run", "slo", "--start", BASE_TIME.isoformat(), "--end", "2026-03-02T00:30:00"]
    )
    assert result.exit_code == 0, result.output
    assert "evaluated 6 instant(s): 0 new alert(s); firing now: none" in result.output
    bad = CliRunner().invoke(main, ["run", "slo", "--end", "2026-03-02T00:30:00"])
    assert bad.exit_code != 0
    assert "--end needs --start" in bad.output
