"""Warehouse side of sample-and-judge: what to judge, and storing what was judged.

Selection: requests ingested since the watermark (minus a look-back, for ingest
transactions that commit late) or with a timestamp in an explicit range, that have an
output to judge, fall in the deterministic sample, and have no judgement yet under the
same rubric version and judge model.

Storage: judgements are inserted in bulk, ignoring any already there (an overlapping
run may have judged the same request a moment ago: the unique key keeps one), and the
watermark moves in the same transaction, forward only.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.judge.sampling import is_sampled
from llmwatch.warehouse.marks import advance_mark, read_mark
from llmwatch.warehouse.models import Judgement, Request

WATERMARK_NAME = "sample_and_judge"
_TEXT_CHUNK = 500


@dataclass(frozen=True)
class Sample:
    request_id: str
    feature_id: str
    model_id: str
    ts: datetime
    ingested_at: datetime
    input: str | None = None
    output: str | None = None
    context: str | None = None


@dataclass
class Selection:
    """Samples to judge, in scan order, and what the watermark may advance to."""

    samples: list[Sample]
    mode: str  # 'watermark' or 'range'
    scanned: int = 0
    not_sampled: int = 0
    unjudgeable: int = 0
    already_judged: int = 0
    # Distinct ingested_at values of every scanned row, ascending (watermark mode).
    scanned_points: list[datetime] = field(default_factory=list)
    watermark_before: datetime | None = None
    # True when the scan stopped early because enough samples were collected.
    truncated: bool = False

    def watermark_after(self, settled: Iterable[int]) -> datetime | None:
        """How far the watermark may go once the samples at these indexes are stored.

        Every scanned row at or before the returned instant is either not to be judged
        or judged: it is the last scanned point before the first unsettled sample.
        """
        if self.mode != "watermark" or not self.scanned_points:
            return None
        done = set(settled)
        for index, sample in enumerate(self.samples):
            if index not in done:
                position = bisect.bisect_left(self.scanned_points, sample.ingested_at)
                return self.scanned_points[position - 1] if position > 0 else None
        return self.scanned_points[-1]


def get_watermark(conn: Connection, name: str = WATERMARK_NAME) -> datetime | None:
    return read_mark(conn, name)


def select_samples(
    conn: Connection,
    *,
    rubric_version: str,
    judge_model: str,
    rates: Mapping[str, float],
    default_rate: float,
    start: datetime | None = None,
    end: datetime | None = None,
    lookback: timedelta = timedelta(0),
    limit: int | None = None,
) -> Selection:
    """The requests to judge now; with ``start``/``end`` a range of request timestamps,
    else everything ingested since the watermark. ``limit`` caps the samples (a run's
    call budget): the scan then stops at an ``ingested_at`` boundary so the watermark
    stays exact."""
    judged = (
        select(Judgement.id)
        .where(Judgement.request_id == Request.request_id)
        .where(Judgement.rubric_version == rubric_version)
        .where(Judgement.judge_model == judge_model)
        .exists()
    )
    query = select(
        Request.request_id,
        Request.feature_id,
        Request.model_id,
        Request.ts,
        Request.ingested_at,
        and_(Request.error.is_(None), Request.output.is_not(None)).label("judgeable"),
        judged.label("judged"),
    )
    if start is not None or end is not None:
        mode = "range"
        watermark = None
        if start is not None:
            query = query.where(Request.ts >= start)
        if end is not None:
            query = query.where(Request.ts < end)
        query = query.order_by(Request.ts, Request.request_id)
    else:
        mode = "watermark"
        watermark = get_watermark(conn)
        if watermark is not None:
            query = query.where(Request.ingested_at > watermark - lookback)
        query = query.order_by(Request.ingested_at, Request.request_id)

    selection = Selection(samples=[], mode=mode, watermark_before=watermark)
    refs: list[Sample] = []
    points = selection.scanned_points
    rows = conn.execution_options(yield_per=5000).execute(query)
    for row in rows:
        if (
            limit is not None
            and len(refs) >= limit
            and mode == "watermark"
            and row.ingested_at > refs[-1].ingested_at
        ):
            selection.truncated = True
            break
        if limit is not None and len(refs) >= limit and mode == "range":
            selection.truncated = True
            break
        selection.scanned += 1
        if mode == "watermark" and (not points or points[-1] != row.ingested_at):
            points.append(row.ingested_at)
        if not is_sampled(row.request_id, rates.get(row.feature_id, default_rate)):
            selection.not_sampled += 1
        elif not row.judgeable:
            selection.unjudgeable += 1
        elif row.judged:
            selection.already_judged += 1
        else:
            refs.append(
                Sample(row.request_id, row.feature_id, row.model_id, row.ts, row.ingested_at)
            )
    rows.close()
    selection.samples = _with_texts(conn, refs)
    return selection


def _with_texts(conn: Connection, refs: Sequence[Sample]) -> list[Sample]:
    texts: dict[str, Any] = {}
    ids = [ref.request_id for ref in refs]
    for i in range(0, len(ids), _TEXT_CHUNK):
        chunk = ids[i : i + _TEXT_CHUNK]
        query = select(Request.request_id, Request.input, Request.output, Request.context).where(
            Request.request_id.in_(chunk)
        )
        texts.update({row.request_id: row for row in conn.execute(query)})
    return [
        Sample(
            ref.request_id,
            ref.feature_id,
            ref.model_id,
            ref.ts,
            ref.ingested_at,
            texts[ref.request_id].input,
            texts[ref.request_id].output,
            texts[ref.request_id].context,
        )
        for ref in refs
    ]


def write_judgements(
    conn: Connection, rows: Sequence[Mapping[str, Any]], watermark: datetime | None, now: datetime
) -> int:
    """Insert judgements not already stored and move the watermark forward; one transaction
    is the caller's ``engine.begin()``. Returns how many rows were new."""
    inserted = 0
    if rows:
        inserted = _insert_ignoring_duplicates(conn, rows)
    if watermark is not None:
        advance_mark(conn, WATERMARK_NAME, watermark, now)
    return inserted


def _insert_ignoring_duplicates(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    table = cast(Table, Judgement.__table__)
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(table).on_conflict_do_nothing(
            index_elements=["request_id", "rubric_version", "judge_model"]
        )
        before = _count_present(conn, rows)
        conn.execute(stmt, list(rows))
        return len(rows) - before
    # Other backends: skip what is there; the unique key still refuses a racing double.
    present = _present_keys(conn, rows)
    fresh = [r for r in rows if _key(r) not in present]
    if fresh:
        conn.execute(table.insert(), fresh)
    return len(fresh)


def judged_ids(
    conn: Connection, request_ids: Iterable[str], rubric_version: str, judge_model: str
) -> set[str]:
    """Which of these requests already have a judgement under this rubric and judge."""
    ids = sorted(set(request_ids))
    found: set[str] = set()
    for i in range(0, len(ids), _TEXT_CHUNK):
        query = select(Judgement.request_id).where(
            Judgement.request_id.in_(ids[i : i + _TEXT_CHUNK]),
            Judgement.rubric_version == rubric_version,
            Judgement.judge_model == judge_model,
        )
        found.update(conn.execute(query).scalars())
    return found


def _key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["request_id"], row["rubric_version"], row["judge_model"])


def _present_keys(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    keys = list({_key(r) for r in rows})
    present: set[tuple[str, str, str]] = set()
    columns = tuple_(Judgement.request_id, Judgement.rubric_version, Judgement.judge_model)
    for i in range(0, len(keys), _TEXT_CHUNK):
        query = select(Judgement.request_id, Judgement.rubric_version, Judgement.judge_model)
        query = query.where(columns.in_(keys[i : i + _TEXT_CHUNK]))
        present.update((r[0], r[1], r[2]) for r in conn.execute(query))
    return present


def _count_present(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    return len(_present_keys(conn, rows))
