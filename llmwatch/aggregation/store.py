"""Writing windows: a window is replaced whole, in one transaction, never appended to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select

from llmwatch.aggregation.windows import WINDOW
from llmwatch.retention import check_window_retained
from llmwatch.warehouse.marks import advance_mark, read_mark
from llmwatch.warehouse.models import Request, WindowMetrics

WATERMARK = "cost_aggregation"
_TABLE: Table = WindowMetrics.__table__  # type: ignore[assignment]


def replace_window(conn: Connection, window_start: datetime, rows: Sequence[dict[str, Any]]) -> int:
    """Replace every stored row of the window by ``rows``; returns the rows written.

    Delete-then-insert rather than an upsert, so that a feature x model that has no
    requests any more (re-aggregation after a correction) disappears too. The caller's
    transaction makes the two statements atomic: readers see the old window or the new.
    """
    for row in rows:
        if row["window_start"] != window_start:
            raise ValueError("row of another window given to replace_window")
    check_window_retained(conn, window_start)
    conn.execute(delete(_TABLE).where(_TABLE.c.window_start == window_start))
    if rows:
        conn.execute(insert(_TABLE), list(rows))
    advance_watermark(conn, window_start + WINDOW)
    return len(rows)


def read_watermark(conn: Connection) -> datetime | None:
    """The end of the latest window ever written (``None`` before the first run)."""
    return read_mark(conn, WATERMARK)


def read_first_request_time(conn: Connection) -> datetime | None:
    """The timestamp of the oldest request stored (``None`` for an empty warehouse)."""
    return conn.execute(select(func.min(Request.ts))).scalar()


def advance_watermark(conn: Connection, window_end: datetime) -> None:
    """Move the watermark to ``window_end`` unless it is already later (back-fills of old
    windows must not pull it back)."""
    advance_mark(conn, WATERMARK, window_end)


def read_window(conn: Connection, window_start: datetime) -> list[dict[str, Any]]:
    """The stored rows of one window, ordered by feature and model."""
    query = (
        select(_TABLE)
        .where(_TABLE.c.window_start == window_start)
        .order_by(_TABLE.c.feature_id, _TABLE.c.model_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def read_windows(
    conn: Connection, since: datetime, until: datetime, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Stored rows with ``since <= window_start < until``, oldest first."""
    selected = [_TABLE.c[name] for name in columns] if columns else [_TABLE]
    query = (
        select(*selected)
        .where(_TABLE.c.window_start >= since, _TABLE.c.window_start < until)
        .order_by(_TABLE.c.window_start, _TABLE.c.feature_id, _TABLE.c.model_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
