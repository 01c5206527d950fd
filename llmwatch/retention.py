"""Retention: raw request rows and their texts do not stay forever (SPEC 4.8).

Two horizons, both in days before now:
- **text** (``keep_text_days``): the user's words are the sensitive part and the bulk of
  the bytes. Older requests keep their numbers (latency, tokens, cost) but lose
  ``input``/``output``/``context``; judgements keep their scores but lose the judge's
  ``reasons`` and raw response (which quote the answer); reject excerpts are deleted.
- **raw** (``keep_raw_days``): older request rows and user signals are deleted.

What stays whatever its age: window metrics, judgement scores, control charts, golden and
canary runs, drift results, alerts. Work is done in batches of ``batch_size`` rows, one
short transaction each, so a large first purge never holds a long lock or a huge
transaction. The raw horizon is recorded as a watermark: re-aggregating a window older
than it would replace its metrics with those of the few rows left, so that is refused
(:func:`check_window_retained`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from llmwatch.warehouse.marks import advance_mark, read_mark
from llmwatch.warehouse.models import IngestReject, Judgement, Request, UserSignal

RAW_HORIZON = "retention_raw_before"

_REQUESTS: Table = Request.__table__  # type: ignore[assignment]
_SIGNALS: Table = UserSignal.__table__  # type: ignore[assignment]
_JUDGEMENTS: Table = Judgement.__table__  # type: ignore[assignment]
_REJECTS: Table = IngestReject.__table__  # type: ignore[assignment]


class WindowRetainedError(ValueError):
    """A window older than the raw-data horizon cannot be re-aggregated."""


@dataclass(frozen=True)
class RetentionResult:
    raw_before: datetime | None
    text_before: datetime | None
    requests_deleted: int = 0
    signals_deleted: int = 0
    requests_blanked: int = 0
    judgements_blanked: int = 0
    rejects_deleted: int = 0
    dry_run: bool = False

    def describe(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        blank = "would blank" if self.dry_run else "blanked"
        return (
            f"{verb} {self.requests_deleted} request(s) and {self.signals_deleted} signal(s) "
            f"before {_day(self.raw_before)}; {blank} the texts of {self.requests_blanked} "
            f"request(s) and {self.judgements_blanked} judgement(s) and {verb} "
            f"{self.rejects_deleted} reject excerpt(s) before {_day(self.text_before)}"
        )


def _day(value: datetime | None) -> str:
    return "(kept forever)" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def apply_retention(
    engine: Engine,
    keep_raw_days: float | None,
    keep_text_days: float | None,
    now: datetime | None = None,
    batch_size: int = 5000,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete raw rows older than ``keep_raw_days`` and blank texts older than
    ``keep_text_days`` (``None``: keep forever)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    for name, days in (("keep_raw_days", keep_raw_days), ("keep_text_days", keep_text_days)):
        if days is not None and days <= 0:
            raise ValueError(f"{name} must be positive (or unset to keep forever)")
    now = now or datetime.now(UTC)
    raw_before = None if keep_raw_days is None else now - timedelta(days=keep_raw_days)
    text_before = None if keep_text_days is None else now - timedelta(days=keep_text_days)
    counts = dict.fromkeys(
        ("requests_deleted", "signals_deleted", "requests_blanked", "judgements_blanked",
         "rejects_deleted"), 0,
    )  # fmt: skip
    if text_before is not None:
        has_text = or_(_REQUESTS.c.input.isnot(None), _REQUESTS.c.output.isnot(None),
                       _REQUESTS.c.context.isnot(None))  # fmt: skip
        counts["requests_blanked"] = _in_batches(
            engine, _REQUESTS.c.request_id, and_(_REQUESTS.c.ts < text_before, has_text),
            lambda ids: update(_REQUESTS).where(_REQUESTS.c.request_id.in_(ids))
            .values(input=None, output=None, context=None),
            batch_size, dry_run,
        )  # fmt: skip
        judged_text = or_(_JUDGEMENTS.c.reasons.isnot(None),
                          _JUDGEMENTS.c.raw_response.isnot(None))  # fmt: skip
        counts["judgements_blanked"] = _in_batches(
            engine, _JUDGEMENTS.c.id, and_(_JUDGEMENTS.c.request_ts < text_before, judged_text),
            lambda ids: update(_JUDGEMENTS).where(_JUDGEMENTS.c.id.in_(ids))
            .values(reasons=None, raw_response=None),
            batch_size, dry_run,
        )  # fmt: skip
        counts["rejects_deleted"] = _in_batches(
            engine, _REJECTS.c.id, _REJECTS.c.created_at < text_before,
            lambda ids: delete(_REJECTS).where(_REJECTS.c.id.in_(ids)),
            batch_size, dry_run,
        )  # fmt: skip
    if raw_before is not None:
        if not dry_run:
            # Recorded first: from now on no window before it may be re-aggregated, even
            # if this run dies halfway through the deletes.
            with engine.begin() as conn:
                advance_mark(conn, RAW_HORIZON, raw_before, now)
        counts["signals_deleted"] = _in_batches(
            engine, _SIGNALS.c.signal_id, _SIGNALS.c.ts < raw_before,
            lambda ids: delete(_SIGNALS).where(_SIGNALS.c.signal_id.in_(ids)),
            batch_size, dry_run,
        )  # fmt: skip
        counts["requests_deleted"] = _in_batches(
            engine, _REQUESTS.c.request_id, _REQUESTS.c.ts < raw_before,
            lambda ids: delete(_REQUESTS).where(_REQUESTS.c.request_id.in_(ids)),
            batch_size, dry_run,
        )  # fmt: skip
    return RetentionResult(raw_before, text_before, dry_run=dry_run, **counts)


def _in_batches(
    engine: Engine,
    key: ColumnElement[Any],
    condition: ColumnElement[bool],
    statement: Callable[[list[Any]], Executable],
    batch_size: int,
    dry_run: bool,
) -> int:
    """Apply ``statement`` to the rows matching ``condition``, ``batch_size`` keys per
    transaction; returns how many rows matched."""
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count(key)).where(condition)).scalar_one())
    done = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(select(key).where(condition).limit(batch_size)).scalars())
            if not ids:
                return done
            conn.execute(statement(ids))
        done += len(ids)


def read_raw_horizon(conn: Connection) -> datetime | None:
    """Requests before this were deleted by retention (``None``: never)."""
    return read_mark(conn, RAW_HORIZON)


def check_window_retained(conn: Connection, window_start: datetime) -> None:
    """Refuse to re-aggregate a window whose requests retention may have deleted."""
    horizon = read_raw_horizon(conn)
    if horizon is not None and window_start < horizon:
        raise WindowRetainedError(
            f"window {window_start:%Y-%m-%d %H:%M} UTC starts before the retention horizon "
            f"{horizon:%Y-%m-%d %H:%M} UTC: its requests were deleted, its stored metrics "
            "are kept and cannot be recomputed"
        )
