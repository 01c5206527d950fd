"""``llmwatch chart ...``: manage the quality control charts."""

from __future__ import annotations

import click

from llmwatch.cli.common import parse_utc, warehouse_engine


@click.group()
def chart() -> None:
    """Quality control charts (judged score per feature)."""


@chart.command("rebaseline")
@click.argument("feature")
@click.option("--since", help="Start of the new baseline (UTC). Default: now.")
@click.option("--reason", help="Why (recorded with the re-baseline).")
def rebaseline(feature: str, since: str | None, reason: str | None) -> None:
    """Start a new baseline for FEATURE's charts after an accepted change of quality.

    Judgements from SINCE on become the new baseline (points after it are charted again);
    the re-baseline is recorded in the warehouse (chart_rebaselines).
    """
    from llmwatch.judge.rebaseline import NoChartError, rebaseline_feature
    from llmwatch.settings import get_settings

    engine, _ = warehouse_engine()
    try:
        done = rebaseline_feature(
            engine,
            get_settings().judge,
            feature,
            since=parse_utc(since) if since else None,
            reason=reason,
        )
    except NoChartError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    for item in done:
        before = f"mu0 {item.previous_mu0:.3f}" if item.previous_mu0 is not None else "warm-up"
        click.echo(f"{item.chart_id}: new baseline from {item.since.isoformat()} (was {before})")
