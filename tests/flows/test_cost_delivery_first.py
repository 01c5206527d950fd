"""An unwritable reports folder fails the cost run after its alerts went out, never
before (issue 16.9, the part about delivery)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from flows.cost_aggregation import cost_aggregation_flow
from llmwatch.settings import get_settings
from tests.core.aggregation.traffic import insert_rows, request
from tests.core.routing.receiver import webhook_receiver

pytestmark = pytest.mark.flow


def test_alerts_are_delivered_before_the_site_error_fails_the_run(
    engine: Engine, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    # The last full hour: an older window is a back-fill, stored but not notified.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    insert_rows(engine, [request(f"r{i}", start, cost_usd=1.0) for i in range(3)])
    not_a_folder = tmp_path / "reports"
    not_a_folder.write_text("a file where the reports folder should be")
    with webhook_receiver("/hook") as hook:
        env = {
            "LLMWATCH_REPORTS_DIR": str(not_a_folder),
            "LLMWATCH_COST__HOURLY_BUDGET_USD": "1.0",
            "LLMWATCH_ROUTING__WEBHOOKS": json.dumps([{"name": "ops", "url": hook.url}]),
            "LLMWATCH_ROUTING__PREFECT_EVENTS": "false",
        }
        os.environ.update(env)
        get_settings.cache_clear()
        try:
            with pytest.raises((OSError, RuntimeError)):
                cost_aggregation_flow(start, start + timedelta(hours=1))
        finally:
            for name in env:
                del os.environ[name]
            get_settings.cache_clear()
    assert [body["metric"] for body in hook.accepted] == ["hourly_cost_usd"]
