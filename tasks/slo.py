"""Prefect tasks for the SLO burn-rate evaluation (over llmwatch.slo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from llmwatch.settings import get_settings
from llmwatch.slo.evaluate import SloReport, evaluate_slos, evaluation_times
from llmwatch.warehouse import settings_engine


@task
def instants_to_evaluate(start: datetime | None, end: datetime | None) -> list[datetime]:
    """Every step in (start, end] for a back-fill; the current minute otherwise."""
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    if start is None or end is None:
        return [datetime.now(UTC).replace(second=0, microsecond=0)]
    step = timedelta(minutes=get_settings().slo.step_minutes)
    return list(evaluation_times(start, end, step))


# Retries cover a warehouse that is briefly unavailable; an evaluation is idempotent
# (status rows are replaced, alerts de-duplicated by series and cool-down).
@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def evaluate(instants: list[datetime]) -> list[SloReport]:
    cfg = get_settings().slo
    with settings_engine() as engine:
        reports = [
            evaluate_slos(engine, cfg, at, store_status=at == instants[-1]) for at in instants
        ]
    raised = sum(len(r.alert_ids) for r in reports)
    if raised:
        get_run_logger().warning("%d SLO alert(s) raised", raised)
    return reports


@task
def publish(reports: list[SloReport]) -> None:
    firing = sorted({f for r in reports for f in r.firing})
    last = reports[-1] if reports else None
    lines = [f"Evaluated {len(reports)} instant(s)"]
    if last is not None:
        lines[0] += f", the last at {last.evaluated_at.isoformat()} ({last.features} features)"
    lines.append("")
    lines += [f"- firing: {f}" for f in firing] or ["No burn-rate rule fired."]
    create_markdown_artifact(
        key="slo-burn", markdown="\n".join(lines), description="SLO burn-rate evaluation"
    )
