"""Concurrent aggregation runs split the windows between them (``work_claims``, scope
``cost``, key the window start).

A run claims a window before aggregating it and marks it done after its alerts are
stored. Another run skips a window that is held, or that was done after it started (a
concurrent run just did it); a window done before the run started is aggregated again
as usual (the look-back, late data). A run that died holds its window until the lease
runs out. Each run still goes through its own windows oldest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from llmwatch.warehouse import claims

SCOPE = "cost"


def claim_window(
    engine: Engine, window_start: datetime, owner: str, lease: timedelta, run_started: datetime
) -> bool:
    """True when this run now holds the window and is to aggregate it."""
    key = window_start.astimezone(UTC).isoformat()
    with engine.begin() as conn:
        now = datetime.now(UTC)
        taken = claims.claim(conn, SCOPE, [key], owner, lease, now, redo_done_before=run_started)
    return bool(taken)


def finish_window(engine: Engine, window_start: datetime, owner: str) -> None:
    key = window_start.astimezone(UTC).isoformat()
    with engine.begin() as conn:
        claims.finish(conn, SCOPE, [key], owner, datetime.now(UTC))
