"""``llmwatch run drift``: the daily Evidently drift report through its Prefect flow."""

from __future__ import annotations

from datetime import date

import click

from llmwatch.cli.common import warehouse_engine
from llmwatch.settings import get_settings


@click.command("drift")
@click.option("--date", "day", help="Day to report on (YYYY-MM-DD, UTC). Default: yesterday.")
def drift(day: str | None) -> None:
    """Compare day D with the reference window, write reports/drift/D.html, raise input_drift."""
    try:
        report_date = date.fromisoformat(day) if day else None
    except ValueError as exc:
        raise click.BadParameter(f"{day!r} is not a YYYY-MM-DD date", param_hint="--date") from exc
    if report_date is not None:
        # Imported here: the llmwatch.drift package loads Evidently, slow for other commands.
        from llmwatch.drift.windows import drift_windows

        try:  # before Prefect starts: a day out of the calendar is a usage error
            drift_windows(report_date, get_settings().drift)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--date") from None
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from flows.drift_report import drift_report_flow

    summary = drift_report_flow(report_date=report_date)
    drifted = ", ".join(summary.drifted_columns) or "none"
    share = "n/a" if summary.drift_share is None else f"{summary.drift_share:.0%}"
    click.echo(
        f"drift {summary.report_date.isoformat()}: {len(summary.drifted_columns)} of "
        f"{summary.n_columns} columns drifted ({share}): {drifted}; "
        f"{len(summary.alert_ids)} new alert(s); report {summary.report_path}"
    )
