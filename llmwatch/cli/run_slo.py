"""``llmwatch run slo``: SLO burn-rate evaluation through its Prefect flow."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from llmwatch.cli.common import parse_utc, warehouse_engine


@click.command("slo")
@click.option("--start", help="Back-fill: evaluate every step after this instant (UTC).")
@click.option("--end", help="End of the back-fill, inclusive. Default: now.")
def slo(start: str | None, end: str | None) -> None:
    """Evaluate every feature's SLO burn rates now (or at every 5-minute step of a range),
    store burn rates and remaining budgets, raise page and ticket alerts."""
    if end is not None and start is None:
        raise click.UsageError("--end needs --start")
    begin = parse_utc(start) if start else None
    finish = parse_utc(end) if end else (datetime.now(UTC) if begin else None)
    if begin is not None and finish is not None and finish <= begin:
        raise click.BadParameter("--end must be after --start", param_hint="--end")
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from flows.slo_burn import slo_burn_flow

    reports = slo_burn_flow(start=begin, end=finish)
    alerts = sum(len(r.alert_ids) for r in reports)
    firing = sorted({f for r in reports[-1:] for f in r.firing})
    click.echo(
        f"evaluated {len(reports)} instant(s): {alerts} new alert(s); "
        f"firing now: {', '.join(firing) if firing else 'none'}"
    )
