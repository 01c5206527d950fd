"""``llmwatch retention``: apply the retention ages now, through the retention flow."""

from __future__ import annotations

import click

from llmwatch.cli.common import warehouse_engine


@click.command()
@click.option("--keep-raw-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Delete requests and signals older than this. Default: [retention] "
              "keep_raw_days (90).")  # fmt: skip
@click.option("--keep-text-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Blank request and judge texts older than this. Default: [retention] "
              "keep_text_days (30).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
def retention(keep_raw_days: float | None, keep_text_days: float | None, dry_run: bool) -> None:
    """Delete raw rows and blank texts past their age; aggregates are kept."""
    from flows.retention import CONFIGURED, retention_flow
    from llmwatch.settings import get_settings

    configured = get_settings().retention
    raw = configured.keep_raw_days if keep_raw_days is None else keep_raw_days
    texts = configured.keep_text_days if keep_text_days is None else keep_text_days
    if raw is not None and texts is not None and texts > raw:
        raise click.BadParameter("the text age cannot be longer than the raw age")
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema
    result = retention_flow(
        keep_raw_days=CONFIGURED if raw is None else raw,
        keep_text_days=CONFIGURED if texts is None else texts,
        dry_run=dry_run,
    )
    click.echo(f"retention: {result.describe()}")
