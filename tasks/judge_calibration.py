"""Prefect tasks for the judge's calibration run (over llmwatch.judge.calibration).

Judging is ONE async task holding one HTTP client with a bounded pool of calls, not a
Prefect task per item; it is not retried by Prefect (the client retries each call).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from llmwatch.judge import calibration, job
from llmwatch.judge.calibration import CalibrationResult
from llmwatch.settings import get_settings
from llmwatch.warehouse import settings_engine


@task(cache_policy=NO_CACHE)
async def judge_calibration_set(pin: bool) -> CalibrationResult:
    settings = get_settings()
    setup = job.judge_setup(settings)
    logger = get_run_logger()
    logger.info(
        "judging the calibration set with %s (rubric %s, concurrency %d)%s",
        setup.judge_model,
        setup.rubric.version,
        setup.limits.concurrency,
        " - this run is pinned as the baseline" if pin else "",
    )
    with settings_engine() as engine:
        result = await calibration.run_calibration(
            engine, setup, settings.judge_calibration, pin=pin
        )
    line = calibration.format_result(result)
    if result.verdict == "drift":
        logger.warning("%s: judge_drift raised", line)
    elif result.verdict == "incomplete":
        logger.warning(line)
    else:
        logger.info(line)
    return result


@task(cache_policy=NO_CACHE)
def publish_calibration(result: CalibrationResult) -> None:
    a = result.agreement
    rows = {
        "judge model": result.judge_model,
        "rubric version": result.rubric_version,
        "set version": result.set_version,
        "items judged": f"{a.n} of {result.n_items}",
        "accuracy": f"{a.accuracy:.3f}",
        "Cohen's kappa": "n/a" if a.kappa is None else f"{a.kappa:.3f}",
        "unusable answers (counted as disagreements)": a.failures,
        "pinned run": result.baseline_run_id if result.baseline_run_id else "-",
        "p (one-sided, drop vs pinned)": f"{result.test.p_value:.4g}" if result.test else "-",
        "verdict": result.verdict,
        "alerts": ", ".join(str(i) for i in result.alert_ids) or "-",
    }
    lines = ["# Judge calibration run", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows.items()]
    create_markdown_artifact(
        "\n".join(lines), key="judge-calibration", description=calibration.format_result(result)
    )
