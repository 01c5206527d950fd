"""Golden and canary runs in the warehouse: write a run with its results, read the
previous comparable run of a target (same dataset or probe-set version, completed)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, insert, select

from llmwatch.evals.compare import OVERALL, Counts, ProbeStats
from llmwatch.evals.runner import ExampleResult, ProbeResult
from llmwatch.warehouse.models import CanaryResult, CanaryRun, GoldenResult, GoldenRun

# Run status: 'ok' runs are comparable; 'incomplete' (too many errors) and 'failed'
# (endpoint refused us) are stored for the record but never used as a reference.
COMPARABLE = "ok"


def save_golden_run(
    conn: Connection,
    *,
    run_id: str,
    target: str,
    model_id: str,
    dataset: str,
    dataset_version: str,
    status: str,
    results: list[ExampleResult],
    started_at: datetime,
    finished_at: datetime,
    summary: dict[str, Any],
) -> None:
    scored = [r for r in results if r.passed is not None]
    passed = sum(1 for r in scored if r.passed)
    conn.execute(
        insert(GoldenRun),
        {
            "run_id": run_id,
            "target": target,
            "model_id": model_id,
            "dataset": dataset,
            "dataset_version": dataset_version,
            "status": status,
            "n_examples": len(results),
            "n_passed": passed,
            "n_errors": len(results) - len(scored),
            "pass_rate": passed / len(scored) if scored else None,
            "started_at": started_at,
            "finished_at": finished_at,
            "summary": summary,
        },
    )
    if results:
        conn.execute(
            insert(GoldenResult),
            [{"run_id": run_id, **asdict(r), "details": r.details or None} for r in results],
        )


def previous_golden(
    conn: Connection, target: str, dataset_version: str, before: datetime, exclude: str
) -> tuple[str, dict[str, Counts]] | None:
    run_id = conn.execute(
        select(GoldenRun.run_id)
        .where(GoldenRun.target == target)
        .where(GoldenRun.dataset_version == dataset_version)
        .where(GoldenRun.status == COMPARABLE)
        .where(GoldenRun.run_id != exclude)
        .where(GoldenRun.started_at <= before)
        .order_by(GoldenRun.started_at.desc(), GoldenRun.run_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if run_id is None:
        return None
    return run_id, golden_counts_of(conn, run_id)


def golden_counts_of(conn: Connection, run_id: str) -> dict[str, Counts]:
    passed = func.sum(case((GoldenResult.passed.is_(True), 1), else_=0))
    scored = func.count(GoldenResult.passed)
    total = func.count()
    rows = conn.execute(
        select(GoldenResult.intent, passed, scored, total)
        .where(GoldenResult.run_id == run_id)
        .group_by(GoldenResult.intent)
    ).all()
    counts = {intent: Counts(int(p or 0), int(s), int(t) - int(s)) for intent, p, s, t in rows}
    counts[OVERALL] = Counts(
        sum(c.passed for c in counts.values()),
        sum(c.scored for c in counts.values()),
        sum(c.errors for c in counts.values()),
    )
    return counts


def save_canary_run(
    conn: Connection,
    *,
    run_id: str,
    target: str,
    model_id: str,
    probe_set_version: str,
    status: str,
    results: list[ProbeResult],
    started_at: datetime,
    finished_at: datetime,
    summary: dict[str, Any],
) -> None:
    conn.execute(
        insert(CanaryRun),
        {
            "run_id": run_id,
            "target": target,
            "model_id": model_id,
            "probe_set_version": probe_set_version,
            "status": status,
            "started_at": started_at,
            "finished_at": finished_at,
            "summary": summary,
        },
    )
    if results:
        conn.execute(
            insert(CanaryResult),
            [
                {
                    "run_id": run_id,
                    "probe_id": r.probe_id,
                    "n_runs": r.n_runs,
                    "n_passed": r.n_passed,
                    "n_errors": r.n_errors,
                    "pass_rate": r.pass_rate,
                    "output_fingerprint": r.output_fingerprint,
                    "distinct_outputs": r.distinct_outputs,
                    "system_fingerprint": r.system_fingerprint,
                    "output_chars_mean": r.output_chars_mean,
                    "input_tokens_mean": r.input_tokens_mean,
                    "output_tokens_mean": r.output_tokens_mean,
                    "latency_ms_mean": r.latency_ms_mean,
                    "details": {"category": r.category, **r.details},
                }
                for r in results
            ],
        )


def previous_canary(
    conn: Connection, target: str, probe_set_version: str, before: datetime, exclude: str
) -> tuple[str, dict[str, ProbeStats]] | None:
    run_id = conn.execute(
        select(CanaryRun.run_id)
        .where(CanaryRun.target == target)
        .where(CanaryRun.probe_set_version == probe_set_version)
        .where(CanaryRun.status == COMPARABLE)
        .where(CanaryRun.run_id != exclude)
        .where(CanaryRun.started_at <= before)
        .order_by(CanaryRun.started_at.desc(), CanaryRun.run_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if run_id is None:
        return None
    rows = conn.execute(
        select(CanaryResult.__table__).where(CanaryResult.run_id == run_id)
    ).mappings()
    stats = {
        row["probe_id"]: ProbeStats(
            row["probe_id"],
            row["n_passed"],
            row["n_runs"] - row["n_errors"],
            row["n_errors"],
            row["output_fingerprint"],
            row["distinct_outputs"],
        )
        for row in rows
    }
    return run_id, stats
