"""Frames of one window of requests from the warehouse, sampled to a bounded size.

Sampling method (stated in the report and the run record): a simple random sample
without replacement of at most ``sample_size`` requests, drawn by NumPy's PCG64
generator seeded with ``(sample_seed, window start)`` over the window's request ids in
sorted order. Only the ids of the whole window are read; the sampled rows are then
fetched by id, so a window of millions of requests never sits in memory with its texts.
The same day with the same settings always gives the same sample, on either backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, select

from llmwatch.drift.features import add_text_features
from llmwatch.warehouse.models import Judgement, Request

SAMPLING_METHOD = "simple random sample without replacement, NumPy PCG64 seeded by (seed, window)"
# Ids per SELECT ... WHERE request_id IN (...): well under every driver's parameter limit.
_FETCH_CHUNK = 2_000

_COLUMNS = (
    Request.request_id,
    Request.feature_id,
    Request.model_id,
    Request.user_segment,
    Request.finish_reason,
    Request.latency_ms,
    Request.ttft_ms,
    Request.input_tokens,
    Request.output_tokens,
    Request.cost_usd,
    Request.input.label("prompt"),
    Request.output.label("response"),
)


@dataclass
class WindowFrame:
    frame: pd.DataFrame
    # Requests in the window before sampling.
    population: int


def sample_ids(ids: list[str], size: int, seed: int, window_start: datetime) -> list[str]:
    """At most ``size`` of ``ids``, chosen reproducibly (see the module docstring)."""
    ordered = sorted(ids)
    if len(ordered) <= size:
        return ordered
    rng = np.random.default_rng([seed, int(window_start.timestamp())])
    picked = rng.choice(len(ordered), size=size, replace=False)
    picked.sort()
    return [ordered[i] for i in picked]


def load_window(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    sample_size: int,
    seed: int,
    rubric_version: str,
) -> WindowFrame:
    """The requests with ``start <= ts < end``, sampled, with text features and judge score."""
    ids = list(
        conn.execute(
            select(Request.request_id).where(Request.ts >= start).where(Request.ts < end)
        ).scalars()
    )
    chosen = sample_ids(ids, sample_size, seed, start)
    judged = and_(
        Judgement.request_id == Request.request_id,
        Judgement.rubric_version == rubric_version,
        Judgement.status == "ok",
    )
    parts = []
    for lo in range(0, len(chosen), _FETCH_CHUNK):
        query = (
            select(*_COLUMNS, Judgement.score.label("judge_score"))
            .outerjoin(Judgement, judged)
            .where(Request.request_id.in_(chosen[lo : lo + _FETCH_CHUNK]))
        )
        rows = conn.execute(query).all()
        parts.append(pd.DataFrame(rows, columns=[c.key for c in query.selected_columns]))
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = pd.DataFrame(columns=[c.key for c in _COLUMNS] + ["judge_score"])
    # Two judge models may have judged one request under one rubric: one row per request.
    frame = frame.drop_duplicates("request_id").sort_values("request_id", ignore_index=True)
    return WindowFrame(_typed(frame), population=len(ids))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for name in (
        "latency_ms",
        "ttft_ms",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "judge_score",
    ):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in ("feature_id", "model_id", "user_segment", "finish_reason"):
        # A missing slice value is a category of its own, not a dropped row.
        frame[name] = frame[name].astype("object").where(frame[name].notna(), "(none)").astype(str)
    return add_text_features(frame)
