"""Prefect tasks for the daily drift report and the reports site (over llmwatch.drift/site)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from llmwatch.alerts import record_alerts
from llmwatch.drift import (
    DriftResult,
    DriftWindows,
    StoredRun,
    WindowFrame,
    input_drift_alerts,
    load_window,
    replace_run,
    run_drift,
)
from llmwatch.drift.embeddings import EmbeddedFrames, embed_frames
from llmwatch.drift.html import safe_report_html
from llmwatch.files import write_public_text
from llmwatch.settings import get_settings
from llmwatch.site import drift_report_name
from llmwatch.warehouse import settings_engine


# Frames and snapshots are large: never hash them into a cache key.
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def load_frame(windows: DriftWindows, side: str) -> WindowFrame:
    settings = get_settings()
    start, end = (
        (windows.reference_start, windows.reference_end)
        if side == "reference"
        else (windows.current_start, windows.current_end)
    )
    with settings_engine() as engine, engine.connect() as conn:
        frame = load_window(
            conn,
            start,
            end,
            sample_size=settings.drift.sample_size,
            seed=settings.drift.sample_seed,
            rubric_version=settings.judge.rubric_version,
        )
    get_run_logger().info(
        "%s %s .. %s: %d requests, %d sampled",
        side, start.isoformat(), end.isoformat(), frame.population, len(frame.frame),
    )  # fmt: skip
    if frame.population == 0:
        raise ValueError(
            f"no requests in the {side} window {start.isoformat()} .. {end.isoformat()}"
        )
    return frame


# Retried as a whole: the HTTP calls inside already retry transient failures per batch.
@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def embed_prompts(
    windows: DriftWindows, reference: WindowFrame, current: WindowFrame
) -> EmbeddedFrames:
    """Prompt embeddings and centroid distance when an endpoint is configured, else as is."""
    embedded = embed_frames(
        reference.frame, current.frame, get_settings().drift,
        reference_start=windows.reference_start, current_start=windows.current_start,
    )  # fmt: skip
    if embedded.vector_columns:
        get_run_logger().info(
            "embedded %d prompts; all columns compared on %d reference / %d current rows",
            embedded.n_embedded, len(embedded.reference), len(embedded.current),
        )  # fmt: skip
    return embedded


@task(cache_policy=NO_CACHE)
def compare(frames: EmbeddedFrames) -> DriftResult:
    settings = get_settings().drift
    result = run_drift(
        frames.reference,
        frames.current,
        drift_share=settings.drift_share,
        min_judged=settings.min_judged,
        embedding_columns=frames.vector_columns,
    )
    result.skipped.update(frames.skipped)
    for name, reason in result.skipped.items():
        get_run_logger().info("column %s not compared: %s", name, reason)
    return result


@task(cache_policy=NO_CACHE)
def write_report(windows: DriftWindows, result: DriftResult) -> Path:
    path = get_settings().reports_dir / drift_report_name(windows.report_date.isoformat())
    return write_public_text(path, safe_report_html(result.snapshot))


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def store_run(
    windows: DriftWindows, result: DriftResult, reference: WindowFrame, current: WindowFrame,
    report: Path,
) -> StoredRun:  # fmt: skip
    with settings_engine() as engine, engine.begin() as conn:
        return replace_run(
            conn, windows, result,
            n_reference=reference.population, n_current=current.population,
            report_path=str(report),
        )  # fmt: skip


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def raise_alerts(windows: DriftWindows, result: DriftResult, report: Path) -> list[int]:
    settings = get_settings().drift
    alerts = input_drift_alerts(windows, result, settings.drift_share, str(report))
    with settings_engine() as engine, engine.begin() as conn:
        ids = record_alerts(conn, alerts, cooldown=timedelta(hours=settings.alert_cooldown_hours))
    if ids:
        get_run_logger().warning("input drift on %s: %s", windows.report_date, alerts[0].message)
    return ids


@task(cache_policy=NO_CACHE)
def publish(report_date: date, result: DriftResult, report: Path) -> None:
    key = "drift-report"
    create_link_artifact(
        key=key,
        link=report.resolve().as_uri(),
        link_text=f"Drift report {report_date.isoformat()}",
        description=f"Evidently drift report for {report_date.isoformat()}",
    )
    table = [
        {
            "column": c.column, "kind": c.kind, "method": c.method,
            "score": None if c.score is None else round(c.score, 4),
            "threshold": c.threshold, "drifted": c.drifted,
        }
        for c in result.drifted
    ]  # fmt: skip
    share = result.drift_share
    create_table_artifact(
        key="drift-columns",
        table=table,
        description=(
            f"Drifted columns on {report_date.isoformat()}: {len(table)} of "
            f"{len(result.columns)}" + ("" if share is None else f" ({share:.0%})")
        ),
    )
