"""``llmwatch run judge``: sample-and-judge through its Prefect flow."""

from __future__ import annotations

import asyncio

import click

from llmwatch.cli.common import parse_utc, warehouse_engine
from llmwatch.times import FORMS


@click.command("judge")
@click.option("--start", help=f"Judge requests timestamped from here: {FORMS}.")
@click.option(
    "--end", help="... up to here, exclusive (same forms). Without a range: since the watermark."
)
def judge(start: str | None, end: str | None) -> None:
    """Sample requests deterministically, judge them, and update the quality charts.

    Without a range the run takes every request ingested since the previous run; with
    one it back-fills [START, END) and leaves the watermark alone. Requests already
    judged under the same rubric version and judge model are never judged again.
    """
    begin = parse_utc(start) if start else None
    finish = parse_utc(end) if end else None
    if begin is not None and finish is not None and finish <= begin:
        raise click.BadParameter("--end must be after --start", param_hint="--end")
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from llmwatch.judge.job import JudgeConfigError, judge_setup
    from llmwatch.settings import get_settings

    try:
        judge_setup(get_settings())
    except JudgeConfigError as exc:
        raise click.ClickException(str(exc)) from None

    from flows.sample_and_judge import JudgeEndpointError, sample_and_judge

    try:
        summary = asyncio.run(sample_and_judge(start=begin, end=finish))
    except JudgeEndpointError as exc:
        raise click.ClickException(f"judge run stopped: {exc}") from None
    note = f" (stopped: {summary.stopped})" if summary.stopped else ""
    click.echo(
        f"judged {summary.judged_ok} request(s), {summary.failures} judge failure(s), "
        f"{summary.deferred} deferred to the next run, {len(summary.alert_ids)} new alert(s)"
        f"{note}"
    )
