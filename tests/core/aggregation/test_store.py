from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from llmwatch.aggregation import (
    default_windows,
    read_watermark,
    read_window,
    run_window,
    windows_between,
)
from llmwatch.settings import CostSettings
from llmwatch.warehouse.models import WindowMetrics
from tests.core.aggregation.traffic import BASE_TIME, insert_rows, request

W0 = BASE_TIME + timedelta(hours=10)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(WindowMetrics)).scalar_one()


def test_rerun_replaces_the_window(engine: Engine) -> None:
    insert_rows(engine, [request("a", W0), request("b", W0, "rag")])
    run_window(engine, W0, CostSettings())
    run_window(engine, W0, CostSettings())
    assert _count(engine) == 2
    # a late record of the same window is counted on the next pass
    insert_rows(engine, [request("late", W0 + timedelta(minutes=59))])
    run_window(engine, W0, CostSettings())
    with engine.connect() as conn:
        rows = {r["feature_id"]: r for r in read_window(conn, W0)}
    assert rows["chat"]["request_count"] == 2
    assert _count(engine) == 2


def test_replacing_drops_groups_that_disappeared(engine: Engine) -> None:
    insert_rows(engine, [request("a", W0)])
    run_window(engine, W0, CostSettings())
    with engine.begin() as conn:
        conn.execute(WindowMetrics.__table__.update().values(feature_id="renamed"))
    run_window(engine, W0, CostSettings())
    with engine.connect() as conn:
        assert [r["feature_id"] for r in read_window(conn, W0)] == ["chat"]


def test_watermark_only_moves_forward(engine: Engine) -> None:
    insert_rows(engine, [request("a", W0)])
    run_window(engine, W0 + timedelta(hours=2), CostSettings())
    run_window(engine, W0, CostSettings())  # back-fill of an older window
    with engine.connect() as conn:
        assert read_watermark(conn) == W0 + timedelta(hours=3)


def test_windows_between_covers_partial_hours_in_order() -> None:
    start = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    got = windows_between(start, start + timedelta(hours=2))
    assert got == [datetime(2026, 1, 1, h, tzinfo=UTC) for h in (10, 11, 12)]
    with pytest.raises(ValueError, match="empty range"):
        windows_between(start, start)


def test_default_windows_look_back_and_catch_up() -> None:
    now = datetime(2026, 1, 2, 5, 10, tzinfo=UTC)
    last = datetime(2026, 1, 2, 4, tzinfo=UTC)
    assert default_windows(1, None, now) == [last]
    assert default_windows(3, None, now) == [
        last - timedelta(hours=2),
        last - timedelta(hours=1),
        last,
    ]
    # the scheduler was down since 22:00 yesterday: every missed hour is computed
    missed = default_windows(3, datetime(2026, 1, 1, 22, tzinfo=UTC), now)
    assert missed[0] == datetime(2026, 1, 1, 22, tzinfo=UTC)
    assert missed[-1] == last
    assert len(missed) == 7
    # a watermark far in the past (history back-filled by hand) is caught up only so far
    old = default_windows(3, datetime(2025, 1, 1, tzinfo=UTC), now, max_catchup_hours=48)
    assert len(old) == 48
    assert old[-1] == last


def test_first_run_windows_cover_stored_history_up_to_the_back_fill_bound() -> None:
    now = datetime(2026, 1, 2, 5, 10, tzinfo=UTC)
    last = datetime(2026, 1, 2, 4, tzinfo=UTC)
    # no watermark, requests since 20:30 yesterday: every hour from 20:00
    recent = default_windows(3, None, now, first_record=datetime(2026, 1, 1, 20, 30, tzinfo=UTC))
    assert recent == [datetime(2026, 1, 1, 20, tzinfo=UTC) + timedelta(hours=i) for i in range(9)]
    # months of history: the last max_backfill_hours only
    months = default_windows(
        3, None, now, first_record=datetime(2025, 6, 1, tzinfo=UTC), max_backfill_hours=168
    )
    assert len(months) == 168
    assert months[-1] == last
    # history younger than the look-back: the look-back still
    assert len(default_windows(3, None, now, first_record=last)) == 3
    # a watermark means windows were written: the history bound does not apply
    watermarked = default_windows(
        3, last - timedelta(hours=1), now, first_record=datetime(2025, 6, 1, tzinfo=UTC)
    )
    assert len(watermarked) == 3
