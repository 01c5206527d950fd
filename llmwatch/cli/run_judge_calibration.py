"""``llmwatch run judge-calibration``: the judge on its calibration set, through the flow."""

from __future__ import annotations

import asyncio
import sys

import click

from llmwatch.cli.common import warehouse_engine

EXIT_DRIFT, EXIT_INCOMPLETE = 1, 3


@click.command("judge-calibration")
@click.option(
    "--pin", is_flag=True, help="Pin this run as the baseline later runs are tested against."
)
def judge_calibration(pin: bool) -> None:
    """Judge the shipped calibration set (known verdicts) with the configured judge.

    Prints accuracy, Cohen's kappa, n, the p-value of the drop against the pinned run
    and the verdict. Exit status: 0 baseline or no drift, 1 judge_drift, 3 incomplete
    (the endpoint stopped the run), 2 usage or configuration error.
    """
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from llmwatch.judge.job import JudgeConfigError, judge_setup
    from llmwatch.settings import get_settings

    try:
        judge_setup(get_settings())
    except JudgeConfigError as exc:
        raise click.ClickException(str(exc)) from None

    from flows.judge_calibration import JudgeCalibrationIncomplete
    from flows.judge_calibration import judge_calibration as flow
    from llmwatch.judge.calibration import format_result

    try:
        result = asyncio.run(flow(pin=pin))
    except JudgeCalibrationIncomplete as exc:
        click.echo(f"judge calibration incomplete: {exc}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    click.echo(format_result(result))
    if result.verdict == "drift":
        sys.exit(EXIT_DRIFT)
    if result.verdict == "incomplete":
        sys.exit(EXIT_INCOMPLETE)
