"""Watermarks: how far a job has got, by name (the ``watermarks`` table).

One forward-only upsert for every job, so a back-fill or a slower concurrent run can
never move a mark back, and two first runs cannot both insert it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.warehouse.models import Watermark

_TABLE = cast(Table, Watermark.__table__)


def read_mark(conn: Connection, name: str) -> datetime | None:
    value = conn.execute(select(_TABLE.c.value).where(_TABLE.c.name == name)).scalar()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def advance_mark(conn: Connection, name: str, value: datetime, now: datetime | None = None) -> None:
    """Set the mark to ``value`` unless it is already later."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_TABLE).values(name=name, value=value, updated_at=now or datetime.now(UTC))
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        where=_TABLE.c.value < stmt.excluded.value,
    )
    conn.execute(stmt)
