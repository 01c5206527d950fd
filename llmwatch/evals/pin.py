"""Pinned reference runs and the stored samples of distributional canary runs.

The reference of a distributional canary is a run the operator pinned
(``llmwatch canary pin TARGET``), not the previous run: comparing each run with the last
one would absorb a slow drift step by step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from llmwatch.evals.distribution import Sample
from llmwatch.warehouse.models import CanaryPin, CanaryRun, CanarySample


class PinError(ValueError):
    """A run that cannot be pinned (unknown, of another target, without samples)."""


@dataclass(frozen=True)
class Pin:
    target: str
    run_id: str
    probe_set_version: str
    pinned_at: datetime


def save_samples(conn: Connection, run_id: str, samples: Sequence[Sample]) -> None:
    if not samples:
        return
    conn.execute(
        insert(CanarySample),
        [
            {
                "run_id": run_id,
                "probe_id": s.probe_id,
                "seq": s.seq,
                "text": s.text,
                "output_tokens": s.output_tokens,
                "served_model": s.served_model,
                "system_fingerprint": s.system_fingerprint,
                "finish_reason": s.finish_reason,
                "logprobs": [[t, lp, dict(top)] for t, lp, top in s.logprobs]
                if s.logprobs is not None
                else None,
            }
            for s in samples
        ],
    )


def samples_of(conn: Connection, run_id: str) -> list[Sample]:
    rows = conn.execute(
        select(CanarySample.__table__)
        .where(CanarySample.run_id == run_id)
        .order_by(CanarySample.probe_id, CanarySample.seq)
    ).mappings()
    return [
        Sample(
            row["probe_id"],
            row["seq"],
            row["text"],
            row["output_tokens"],
            row["served_model"],
            row["system_fingerprint"],
            row["finish_reason"],
            [(t, float(lp), top) for t, lp, top in row["logprobs"]]
            if row["logprobs"] is not None
            else None,
        )
        for row in rows
    ]


def pin_run(conn: Connection, target: str, run_id: str, now: datetime) -> Pin:
    """Make ``run_id`` the reference of ``target`` (replacing any earlier pin)."""
    run = conn.execute(
        select(CanaryRun.target, CanaryRun.probe_set_version, CanaryRun.status).where(
            CanaryRun.run_id == run_id
        )
    ).one_or_none()
    if run is None:
        raise PinError(f"no canary run {run_id!r}")
    if run.target != target:
        raise PinError(f"canary run {run_id} is of target {run.target!r}, not {target!r}")
    if run.status != "ok":
        raise PinError(f"canary run {run_id} is {run.status!r}: only a complete run can be pinned")
    has_samples = conn.execute(
        select(CanarySample.seq).where(CanarySample.run_id == run_id).limit(1)
    ).first()
    if has_samples is None:
        raise PinError(
            f"canary run {run_id} has no stored samples (not a distributional run): "
            'set canary_test = "distribution" on the target and pin a new run'
        )
    # Delete-then-insert in one transaction: the same statement on both backends.
    conn.execute(delete(CanaryPin).where(CanaryPin.target == target))
    conn.execute(
        insert(CanaryPin),
        {
            "target": target,
            "run_id": run_id,
            "probe_set_version": run.probe_set_version,
            "pinned_at": now,
        },
    )
    return Pin(target, run_id, run.probe_set_version, now)


def pinned(conn: Connection, target: str) -> Pin | None:
    row = conn.execute(select(CanaryPin.__table__).where(CanaryPin.target == target)).one_or_none()
    if row is None:
        return None
    return Pin(row.target, row.run_id, row.probe_set_version, row.pinned_at)
