"""Scope: the alert's metric per feature, model, prompt template and user segment, in the
alert window against the week before, and which slice moved."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from llmwatch.triage.metrics import MetricSpec, tail_share
from llmwatch.warehouse.models import Judgement, Request

DIMENSIONS = ("feature_id", "model_id", "prompt_template_id", "user_segment")
BASELINE = timedelta(days=7)
# A slice with fewer requests in either period cannot be said to have moved.
MIN_SLICE_N = 5


@dataclass
class Slice:
    value: str | None
    current: float | None
    baseline: float | None
    n_current: int
    n_baseline: int
    tail_current: float | None = None
    tail_baseline: float | None = None

    @property
    def change(self) -> float | None:
        if self.current is None or self.baseline is None:
            return None
        return self.current - self.baseline

    @property
    def ratio(self) -> float | None:
        if self.current is None or not self.baseline:
            return None
        return self.current / self.baseline

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change, "ratio": self.ratio}


@dataclass
class Breakdown:
    dimension: str
    slices: list[Slice]
    # The slice whose value moved most (relative to its own baseline), if any could.
    moved: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "moved": self.moved,
            "slices": [s.to_dict() for s in self.slices],
        }


def breakdowns(
    conn: Connection,
    spec: MetricSpec,
    start: datetime,
    end: datetime,
    *,
    tail: tuple[str, float] | None = None,
) -> list[Breakdown]:
    """One breakdown per dimension over [start, end) vs [start - 7 days, start)."""
    return [_breakdown(conn, spec, dimension, start, end, tail) for dimension in DIMENSIONS]


def _breakdown(
    conn: Connection,
    spec: MetricSpec,
    dimension: str,
    start: datetime,
    end: datetime,
    tail: tuple[str, float] | None,
) -> Breakdown:
    current = _sliced(conn, spec, dimension, start, end, tail)
    baseline = _sliced(conn, spec, dimension, start - BASELINE, start, tail)
    slices = []
    for key in sorted(set(current) | set(baseline), key=lambda v: (v is None, str(v))):
        cur = current.get(key, (None, 0, None))
        base = baseline.get(key, (None, 0, None))
        slices.append(Slice(key, cur[0], base[0], cur[1], base[1], cur[2], base[2]))
    slices.sort(key=lambda s: _movement(s) or 0.0, reverse=True)
    top = slices[0] if slices and _movement(slices[0]) else None
    return Breakdown(dimension, slices, top.value if top else None)


def _movement(s: Slice) -> float | None:
    """How far a slice moved, as |change| relative to its baseline (in either direction)."""
    if s.n_current < MIN_SLICE_N or s.n_baseline < MIN_SLICE_N or s.change is None:
        return None
    scale = abs(s.baseline or 0.0)
    return abs(s.change) / scale if scale else abs(s.change)


def _sliced(
    conn: Connection,
    spec: MetricSpec,
    dimension: str,
    start: datetime,
    end: datetime,
    tail: tuple[str, float] | None,
) -> dict[str | None, tuple[float | None, int, float | None]]:
    if spec.source == "judgements":
        # Judgements carry feature and model; template and segment come from the request.
        owner = Judgement if dimension in ("feature_id", "model_id") else Request
        key = getattr(owner, dimension)
        query = (
            select(key, spec.value(), func.count())
            .select_from(Judgement)
            .join(Request, Request.request_id == Judgement.request_id)
            .where(Judgement.request_ts >= start, Judgement.request_ts < end)
            .group_by(key)
        )
        return {row[0]: (_f(row[1]), int(row[2]), None) for row in conn.execute(query)}
    key = getattr(Request, dimension)
    columns: list[Any] = [key, spec.value(), func.count()]
    if tail is not None:
        columns.append(tail_share(*tail))
    query = select(*columns).where(Request.ts >= start, Request.ts < end).group_by(key)
    return {
        row[0]: (_f(row[1]), int(row[2]), _f(row[3]) if tail is not None else None)
        for row in conn.execute(query)
    }


def _f(value: Any) -> float | None:
    return None if value is None else float(value)
