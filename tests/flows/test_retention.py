"""The retention flow applies the configured ages; parameters override them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from flows.retention import retention_flow
from llmwatch.settings import get_settings
from llmwatch.warehouse.models import Request
from tests.core.aggregation.traffic import insert_rows, request


def test_retention_flow_uses_the_configured_ages(engine: Engine) -> None:
    now = datetime.now(UTC)
    insert_rows(engine, [request(f"r{age}", now - timedelta(days=age), input="q", output="a")
                         for age in (1, 20, 50)])  # fmt: skip
    os.environ["LLMWATCH_RETENTION__KEEP_RAW_DAYS"] = "40"
    os.environ["LLMWATCH_RETENTION__KEEP_TEXT_DAYS"] = "10"
    get_settings.cache_clear()
    try:
        preview = retention_flow(dry_run=True)
        result = retention_flow()
        forever = retention_flow(keep_raw_days=None, keep_text_days=None)
    finally:
        del os.environ["LLMWATCH_RETENTION__KEEP_RAW_DAYS"]
        del os.environ["LLMWATCH_RETENTION__KEEP_TEXT_DAYS"]
        get_settings.cache_clear()
    assert (preview.requests_deleted, preview.requests_blanked) == (1, 2)
    assert (result.requests_deleted, result.requests_blanked) == (1, 2)
    assert forever.raw_before is None
    with engine.connect() as conn:
        kept = dict(conn.execute(select(Request.request_id, Request.input)).all())
        assert conn.execute(select(func.count()).select_from(Request)).scalar_one() == 2
    assert kept == {"r1": "q", "r20": None}
