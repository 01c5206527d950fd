"""Work claims: one worker takes a piece of work, under a lease (the ``work_claims`` table).

Several workers on several hosts run the same flows; a claim makes sure one of them
does each piece of work (an inbox object, a request to judge) and the others skip it,
rather than all of them doing it and the warehouse's unique keys throwing the copies
away. A claim is a row inserted with ON CONFLICT DO NOTHING, or taken over by a
conditional UPDATE when its lease has run out (the holder crashed): both are atomic on
PostgreSQL and SQLite alike, so no ``FOR UPDATE SKIP LOCKED`` (PostgreSQL only) is needed,
and a worker never waits on another's transaction longer than one short insert.
Keys are claimed in sorted order, so two workers claiming overlapping sets cannot
deadlock.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.warehouse.models import WorkClaim

_TABLE = cast(Table, WorkClaim.__table__)
_CHUNK = 500


def new_owner() -> str:
    """A name for this worker's claims: host, process and a random part (two runs in one
    process are two owners)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(
    conn: Connection,
    scope: str,
    keys: Iterable[str],
    owner: str,
    lease: timedelta,
    now: datetime,
    redo_done_before: datetime | None = None,
) -> set[str]:
    """The keys this owner now holds: new ones, and ones whose lease ran out without
    the work being done. With ``redo_done_before``, work done before that instant is
    taken again (it is to be redone: an aggregation window that late data reached),
    work done since is not (a concurrent run just did it). Commit right after (the
    caller's transaction), so other workers see the claims at once."""
    wanted = sorted(set(keys))
    taken: set[str] = set()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    until = now + lease
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        rows = [{"scope": scope, "key": k, "owner": owner, "lease_until": until} for k in chunk]
        statement = insert(_TABLE).values(rows).on_conflict_do_nothing()
        taken.update(conn.execute(statement.returning(_TABLE.c.key)).scalars())
        rest = [k for k in chunk if k not in taken]
        if rest:
            free = and_(_TABLE.c.done_at.is_(None), _TABLE.c.lease_until < now)
            if redo_done_before is not None:
                free = or_(free, _TABLE.c.done_at < redo_done_before)
            expired = (
                update(_TABLE)
                .where(_TABLE.c.scope == scope, _TABLE.c.key.in_(rest), free)
                .values(owner=owner, lease_until=until, done_at=None)
                .returning(_TABLE.c.key)
            )
            taken.update(conn.execute(expired).scalars())
    return taken


def finish(conn: Connection, scope: str, keys: Iterable[str], owner: str, now: datetime) -> None:
    """Mark the work done: its claim now records that, and is never taken again."""
    for chunk in _chunks(keys):
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.scope == scope, _TABLE.c.key.in_(chunk), _TABLE.c.owner == owner)
            .values(done_at=now)
        )


def release(conn: Connection, scope: str, keys: Iterable[str], owner: str) -> None:
    """Give up claims not marked done (the work failed, or it is recorded elsewhere),
    so the next run can take them at once instead of after the lease."""
    for chunk in _chunks(keys):
        conn.execute(
            delete(_TABLE)
            .where(_TABLE.c.scope == scope, _TABLE.c.key.in_(chunk), _TABLE.c.owner == owner)
            .where(_TABLE.c.done_at.is_(None))
        )


def done_keys(conn: Connection, scope: str, keys: Iterable[str]) -> set[str]:
    """Which of these keys are marked done."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        query = select(_TABLE.c.key).where(
            _TABLE.c.scope == scope, _TABLE.c.key.in_(chunk), _TABLE.c.done_at.is_not(None)
        )
        found.update(conn.execute(query).scalars())
    return found


def _chunks(keys: Iterable[str]) -> list[list[str]]:
    items = sorted(set(keys))
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
