"""Drift runs and their per-column verdicts in the warehouse; one run per report day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from llmwatch.drift.evidently_run import DriftResult
from llmwatch.drift.windows import DriftWindows
from llmwatch.warehouse.models import DriftColumn, DriftRun


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    report_date: str
    n_reference: int
    n_current: int
    n_columns: int
    n_drifted: int
    drift_share: float | None
    report_path: str | None


def run_id_for(windows: DriftWindows) -> str:
    # One run per day: re-running a day replaces it, so there is never a second verdict.
    return f"drift-{windows.report_date.isoformat()}"


def replace_run(
    conn: Connection,
    windows: DriftWindows,
    result: DriftResult,
    *,
    n_reference: int,
    n_current: int,
    report_path: str | None,
) -> StoredRun:
    run_id = run_id_for(windows)
    conn.execute(delete(DriftColumn).where(DriftColumn.run_id == run_id))
    conn.execute(delete(DriftRun).where(DriftRun.run_id == run_id))
    stored = StoredRun(
        run_id=run_id,
        report_date=windows.report_date.isoformat(),
        n_reference=n_reference,
        n_current=n_current,
        n_columns=len(result.columns),
        n_drifted=len(result.drifted),
        drift_share=result.drift_share,
        report_path=report_path,
    )
    conn.execute(
        insert(DriftRun),
        {
            "run_id": run_id,
            "report_date": stored.report_date,
            "reference_start": windows.reference_start,
            "reference_end": windows.reference_end,
            "current_start": windows.current_start,
            "current_end": windows.current_end,
            "n_reference": n_reference,
            "n_current": n_current,
            "drift_share": stored.drift_share,
            "n_drifted": stored.n_drifted,
            "n_columns": stored.n_columns,
            "report_path": report_path,
            "created_at": datetime.now(UTC),
        },
    )
    if result.columns:
        conn.execute(
            insert(DriftColumn),
            [
                {
                    "run_id": run_id,
                    "column_name": c.column,
                    "method": c.method[:128],
                    "score": c.score,
                    "threshold": c.threshold,
                    "drifted": c.drifted,
                }
                for c in result.columns
            ],
        )
    return stored


def list_runs(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The latest drift runs, newest report day first."""
    query = select(DriftRun.__table__).order_by(DriftRun.report_date.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def run_columns(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    query = (
        select(DriftColumn.__table__)
        .where(DriftColumn.run_id == run_id)
        .order_by(DriftColumn.column_name)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
