"""What the comparison reads from the warehouse for one arm (one version) of a rollout.

Counts, errors and cost moments are aggregated in SQL; latency and TTFT values of the
successful requests are streamed as two float columns and reduced to a bounded sample;
judged scores come from ``judgements`` joined to their requests (so an arm can be a
prompt template too). Only the columns needed are read.

Sampling method: each column of the arm's values is sorted and a simple random sample
without replacement of at most ``max_samples`` is drawn by NumPy's PCG64 seeded with
``sample_seed``. Sorting first makes the sample independent of the order the
backend returns rows in, so SQLite and PostgreSQL give the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from llmwatch.warehouse.models import Judgement, Request

ArmKind = Literal["model", "template"]
ARM_COLUMNS = {"model": Request.model_id, "template": Request.prompt_template_id}
_CHUNK = 50_000


@dataclass(frozen=True)
class ArmQuery:
    """Which records belong to an arm: a model id or prompt template, in [since, until)."""

    by: ArmKind
    value: str
    since: datetime
    until: datetime
    feature: str | None = None
    rubric_version: str | None = None

    def where(self) -> ColumnElement[bool]:
        if self.by not in ARM_COLUMNS:
            raise ValueError(f"unknown arm kind {self.by!r}; expected one of {list(ARM_COLUMNS)}")
        clauses = [
            ARM_COLUMNS[self.by] == self.value,
            Request.ts >= self.since,
            Request.ts < self.until,
        ]
        if self.feature is not None:
            clauses.append(Request.feature_id == self.feature)
        return and_(*clauses)


@dataclass(frozen=True)
class ArmData:
    name: str
    n: int
    errors: int
    # Priced requests only: count, sum and sum of squares of cost_usd.
    cost_n: int
    cost_sum: float
    cost_sumsq: float
    # Bounded samples of successful requests; ttft only where the record had one.
    latency_ms: np.ndarray
    ttft_ms: np.ndarray
    # How many values the samples were drawn from.
    latency_population: int
    ttft_population: int
    # Judged scores (status 'ok') of the arm's requests.
    scores: np.ndarray
    # The features the arm served in the period (a comparison of arms that serve
    # different features mixes their traffic: a warning, see verdict.py).
    features: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.n if self.n else None

    @property
    def cost_mean(self) -> float | None:
        return self.cost_sum / self.cost_n if self.cost_n else None

    @property
    def cost_var(self) -> float | None:
        """Sample variance (n - 1) of the cost per priced request."""
        if self.cost_n < 2:
            return None
        mean = self.cost_sum / self.cost_n
        return max(0.0, (self.cost_sumsq - self.cost_n * mean * mean) / (self.cost_n - 1))


def load_arm(conn: Connection, query: ArmQuery, *, max_samples: int, seed: int) -> ArmData:
    where = query.where()
    totals = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Request.error.is_not(None), 1), else_=0)), 0),
            func.count(Request.cost_usd),
            func.coalesce(func.sum(Request.cost_usd), 0.0),
            func.coalesce(func.sum(Request.cost_usd * Request.cost_usd), 0.0),
        ).where(where)
    ).one()
    latency, ttft = _latency_values(conn, where)
    scores = _scores(conn, query)
    features = conn.execute(select(Request.feature_id).where(where).distinct()).scalars()
    return ArmData(
        name=query.value,
        n=int(totals[0]),
        errors=int(totals[1]),
        cost_n=int(totals[2]),
        cost_sum=float(totals[3]),
        cost_sumsq=float(totals[4]),
        latency_ms=bounded_sample(latency, max_samples, seed),
        ttft_ms=bounded_sample(ttft, max_samples, seed),
        latency_population=int(latency.size),
        ttft_population=int(ttft.size),
        scores=scores,
        features=tuple(sorted(features)),
    )


def _latency_values(conn: Connection, where: ColumnElement[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Latency and TTFT of the arm's successful requests (failed calls time differently)."""
    result = conn.execute(
        select(Request.latency_ms, Request.ttft_ms).where(where, Request.error.is_(None))
    )
    # Two plain float columns (no result processing on either backend): read the DB-API
    # cursor's tuples straight into NumPy; building a Row per request costs more than
    # the query itself, and NumPy probing Rows as mappings 20x more.
    cursor = result.cursor
    chunks: list[np.ndarray] = []
    try:
        while rows := cursor.fetchmany(_CHUNK):
            chunks.append(np.array(rows, dtype=float).reshape(-1, 2))
    finally:
        result.close()
    if not chunks:
        return np.empty(0), np.empty(0)
    values = np.concatenate(chunks)
    ttft = values[:, 1]
    return values[:, 0], ttft[~np.isnan(ttft)]


def _scores(conn: Connection, query: ArmQuery) -> np.ndarray:
    stmt = (
        select(Judgement.score)
        .join(Request, Request.request_id == Judgement.request_id)
        .where(query.where(), Judgement.status == "ok", Judgement.score.is_not(None))
    )
    if query.rubric_version is not None:
        stmt = stmt.where(Judgement.rubric_version == query.rubric_version)
    return np.sort(np.array(conn.execute(stmt).scalars().all(), dtype=float))


def bounded_sample(values: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` of ``values``, seeded, independent of the input order."""
    ordered = np.sort(values)
    if ordered.size <= size:
        return ordered
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(ordered, size=size, replace=False))
