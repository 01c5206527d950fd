"""``llmwatch run cost``: hourly cost and operational aggregation through its Prefect flow."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from llmwatch.aggregation.windows import floor_hour
from llmwatch.cli.common import parse_utc, warehouse_engine
from llmwatch.times import FORMS


@click.command("cost")
@click.option("--start", help=f"First hour to aggregate: {FORMS}.")
@click.option(
    "--end",
    help="End of the range, exclusive (same forms). Default: the end of the last full hour.",
)
def cost(start: str | None, end: str | None) -> None:
    """Aggregate hourly windows in [START, END), oldest first, and raise their alerts.

    Without a range: the configured look-back of complete hours ([cost] lookback_hours),
    plus any hour missed since the previous run; the first run on a warehouse that
    already holds requests aggregates up to [cost] max_backfill_hours of them.
    Re-running a window replaces it.
    """
    if end is not None and start is None:
        raise click.UsageError("--end needs --start")
    begin = parse_utc(start) if start else None
    # --start alone runs up to the current (incomplete) hour, i.e. through the last full one.
    finish = parse_utc(end) if end else (floor_hour(datetime.now(UTC)) if begin else None)
    if begin is not None and finish is not None and finish <= begin:
        raise click.BadParameter("--end must be after --start", param_hint="--end")
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from flows.cost_aggregation import cost_aggregation_flow

    summary = cost_aggregation_flow(start=begin, end=finish)
    first, last = summary.windows[0], summary.windows[-1]
    click.echo(
        f"aggregated {len(summary.windows)} window(s) {first.isoformat()} .. {last.isoformat()}: "
        f"{summary.rows_written} feature x model rows, {len(summary.alert_ids)} new alert(s)"
    )
