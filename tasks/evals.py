"""Prefect tasks for golden-set runs and canary probes (over llmwatch.evals).

A run task is ONE async task per target holding one HTTP client with a concurrency
bound, not a Prefect task per example. It is not retried by Prefect: the client retries
each call, and a call that still fails is recorded as an error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from llmwatch.alerts import record_alerts
from llmwatch.evals import job
from llmwatch.evals.compare import Verdict, format_verdict
from llmwatch.evals.distribution import format_distribution
from llmwatch.evals.distribution_run import distribution_alert, distribution_canary_run
from llmwatch.evals.job import RunReport
from llmwatch.evals.logprob_run import logprob_canary_run
from llmwatch.settings import get_settings
from llmwatch.warehouse import settings_engine


def _secret(target: str) -> SecretStr | None:
    """The key from the target's Prefect Secret block, when it names one."""
    config = get_settings().targets.get(target)
    if config is None or not config.api_key_secret_block or config.api_key_env:
        return None
    from prefect.blocks.system import Secret

    block: Any = Secret.load(config.api_key_secret_block)
    value = block.get()
    return SecretStr(str(value))


def _log_run(report: RunReport) -> None:
    logger = get_run_logger()
    logger.info(
        "%s run of target %s (%s, %s@%s): %s, %d call(s), %d error(s) excluded; client %s",
        report.kind,
        report.target,
        report.model_id,
        report.set_name,
        report.set_version,
        report.status,
        report.n_calls,
        report.n_errors,
        report.client,
    )
    if report.fatal:
        logger.error("target %s refused the run: %s", report.target, report.fatal)
    if report.vs_previous is not None:
        logger.info(
            "vs previous run %s:\n%s", report.previous_run_id, format_verdict(report.vs_previous)
        )
    if report.distribution is not None:
        logger.info("%s", format_distribution(report.distribution))


@task(cache_policy=NO_CACHE)
async def run_golden_target(target: str) -> RunReport:
    settings = get_settings()
    dataset = job.golden_dataset(settings)
    with settings_engine() as engine:
        report = await job.golden_run(engine, settings, target, dataset, secret=_secret(target))
    _log_run(report)
    return report


@task(cache_policy=NO_CACHE)
async def run_canary_target(target: str) -> RunReport:
    settings = get_settings()
    probes = job.probe_set(settings)
    config = settings.targets.get(target)
    with settings_engine() as engine:
        if config is not None and config.canary_test == "distribution":
            report = await distribution_canary_run(
                engine, settings, target, probes, secret=_secret(target)
            )
        elif config is not None and config.canary_test == "logprob":
            report = await logprob_canary_run(
                engine, settings, target, probes, secret=_secret(target)
            )
        else:
            report = await job.canary_run(engine, settings, target, probes, secret=_secret(target))
    _log_run(report)
    return report


@task(cache_policy=NO_CACHE)
def compare_with_baseline(candidate: RunReport, baseline: RunReport) -> Verdict | None:
    verdict = job.gate(candidate, baseline, get_settings().evals)
    if verdict is None:
        get_run_logger().warning(
            "no gate verdict: candidate run is %s, baseline run is %s",
            candidate.status,
            baseline.status,
        )
    return verdict


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def raise_alerts(
    pairs: list[tuple[RunReport, Verdict]],
    notify: bool = True,
    reports: list[RunReport] | None = None,
) -> list[int]:
    alerts = [a for report, verdict in pairs for a in job.regression_alerts(report, verdict)]
    # Distributional canary: one alert per confirmed change, evidence in its details.
    alerts += [a for r in reports or [] if (a := distribution_alert(r)) is not None]
    if not alerts:
        return []
    cooldown = timedelta(hours=get_settings().evals.alert_cooldown_hours)
    with settings_engine() as engine, engine.begin() as conn:
        return record_alerts(conn, alerts, cooldown, notify=notify)


@task(cache_policy=NO_CACHE)
def publish_summary(
    kind: str, reports: list[RunReport], verdicts: list[Verdict], alert_ids: list[int]
) -> None:
    rows = [
        {
            "target": r.target,
            "model_id": r.model_id,
            "run_id": r.run_id,
            "status": r.status,
            "calls": r.n_calls,
            "errors_excluded": r.n_errors,
            "set_version": r.set_version,
            "regressed_vs_previous": bool(r.vs_previous and r.vs_previous.regressed),
            "distribution": r.distribution.state if r.distribution else None,
        }
        for r in reports
    ]
    create_table_artifact(rows, key=f"{kind}-runs", description=f"{kind} runs per target")
    lines = [f"# {kind} verdicts", ""]
    for verdict in verdicts:
        against = (
            f"baseline {verdict.reference}" if verdict.against == "baseline" else ("previous run")
        )
        state = "REGRESSED" if verdict.regressed else "passed"
        lines += [
            f"## {verdict.candidate} vs {against}: {state}",
            "",
            "```",
            format_verdict(verdict),
            "```",
            "",
        ]
    for report in reports:
        if report.distribution is not None:
            lines += [
                f"## {report.target}: {report.distribution.subject} vs its pinned run",
                "",
                "```",
                format_distribution(report.distribution),
                "```",
                "",
            ]
    lines.append(f"{len(alert_ids)} new alert(s): {alert_ids}")
    create_markdown_artifact(
        "\n".join(lines), key=f"{kind}-verdicts", description=f"{kind} verdicts"
    )
