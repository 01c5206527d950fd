"""Prefect tasks for sample-and-judge (over llmwatch.judge): select, judge, chart, publish.

The judging task is ONE async task holding one HTTP client and a bounded pool of
concurrent calls, not a Prefect task per request. It is not retried by Prefect: the
client retries each call, and a run that stops early leaves the rest to the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from statistics import fmean

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from llmwatch.alerts import alert_to_dict
from llmwatch.judge import job
from llmwatch.judge.quality import ChartUpdate
from llmwatch.judge.runner import JudgeRunReport
from llmwatch.judge.store import Selection
from llmwatch.settings import get_settings
from llmwatch.warehouse import settings_engine
from llmwatch.warehouse.models import Alert


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def select_samples(start: datetime | None, end: datetime | None) -> Selection:
    setup = job.judge_setup(get_settings())
    with settings_engine() as engine:
        selection = job.select(engine, setup, start, end)
    get_run_logger().info(
        "%s mode: scanned %d request(s), %d to judge (%d already judged, %d without output, "
        "%d not sampled)%s",
        selection.mode,
        selection.scanned,
        len(selection.samples),
        selection.already_judged,
        selection.unjudgeable,
        selection.not_sampled,
        " - capped by the call budget" if selection.truncated else "",
    )
    return selection


@task(cache_policy=NO_CACHE)
async def judge_samples(selection: Selection) -> JudgeRunReport:
    setup = job.judge_setup(get_settings())
    logger = get_run_logger()
    logger.info(
        "judging %d sample(s) with %s (rubric %s, concurrency %d)",
        len(selection.samples),
        setup.judge_model,
        setup.rubric.version,
        setup.limits.concurrency,
    )
    with settings_engine() as engine:
        report = await job.judge(engine, setup, selection)
    logger.info(
        "judged %d ok, %d parse failure(s), %d refused, %d deferred, %d not started, "
        "%d held by a concurrent run; stored %d new; client %s",
        report.judged_ok,
        report.parse_failures,
        report.refused_requests,
        report.deferred,
        report.not_started,
        report.claimed_elsewhere,
        report.stored,
        report.client,
    )
    if report.stopped:
        logger.warning("run stopped early (%s): %s", report.stopped, report.stop_message)
    return report


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def update_charts(report: JudgeRunReport, until: datetime | None = None) -> list[ChartUpdate]:
    settings = get_settings()
    setup = job.judge_setup(settings)
    now = datetime.now(UTC)
    closed = job.closed_before(report, setup.cfg, now, until)
    with settings_engine() as engine:
        updates = job.chart(engine, setup, closed, now)
    for update in updates:
        if update.conflict:
            get_run_logger().warning(
                "chart %s was advanced by another run meanwhile", update.chart_id
            )
    return updates


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def check_judge_health(report: JudgeRunReport) -> list[int]:
    settings = get_settings()
    setup = job.judge_setup(settings)
    with settings_engine() as engine:
        ids = job.check_health(engine, setup, report)
    if ids:
        get_run_logger().warning(
            "judge %s fails too often: judge_failure raised", setup.judge_model
        )
    return ids


@task(cache_policy=NO_CACHE)
def publish_summary(report: JudgeRunReport, charts: list[ChartUpdate]) -> None:
    by_feature = {c.feature_id: c for c in charts}
    features = sorted(set(report.scores_by_feature) | set(by_feature))
    rows = []
    for feature in features:
        scores = report.scores_by_feature.get(feature, [])
        chart = by_feature.get(feature)
        rows.append(
            {
                "feature_id": feature,
                "judged_this_run": len(scores),
                "mean_score_this_run": round(fmean(scores), 3) if scores else None,
                "chart_phase": chart.phase if chart else None,
                "windows_charted": chart.windows if chart else 0,
                "ewma": round(chart.last_z, 3) if chart and chart.last_z is not None else None,
                "lcl": round(chart.last_lcl, 3) if chart and chart.last_lcl is not None else None,
                "signals": chart.signals if chart else 0,
            }
        )
    create_table_artifact(rows, key="judge-scores", description="Judged quality per feature")

    counters = {
        "selected": report.selected,
        "judged ok": report.judged_ok,
        "parse failures (stored with raw text)": report.parse_failures,
        "refused by the endpoint (stored as failures)": report.refused_requests,
        "deferred (transient errors, retried next run)": report.deferred,
        "not started (run stopped)": report.not_started,
        "judged by a concurrent run (claimed there)": report.claimed_elsewhere,
        "new rows stored": report.stored,
        "already stored by another run": report.duplicates,
        **{f"client: {name}": value for name, value in report.client.items()},
    }
    lines = ["# Sample-and-judge run", ""]
    if report.stopped:
        lines += [f"**Stopped early ({report.stopped})**: {report.stop_message}", ""]
    lines += ["| counter | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in counters.items()]
    create_markdown_artifact("\n".join(lines), key="judge-failures", description="Judge run")

    alert_ids = [i for c in charts for i in c.alert_ids]
    alerts = []
    if alert_ids:
        with settings_engine() as engine, engine.connect() as conn:
            query = select(Alert.__table__).where(Alert.id.in_(alert_ids)).order_by(Alert.id)
            alerts = [alert_to_dict(row) for row in conn.execute(query).mappings()]
    create_table_artifact(
        [
            {
                k: a[k]
                for k in (
                    "id",
                    "kind",
                    "feature_id",
                    "model_id",
                    "value",
                    "threshold",
                    "window_start",
                    "message",
                )
            }
            for a in alerts
        ],
        key="judge-alerts",
        description=f"{len(alerts)} alert(s) raised by this run",
    )
