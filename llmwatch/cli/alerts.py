"""``llmwatch alerts``: read the alerts table; ``alerts redeliver``: send dead ones again."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import orjson

from llmwatch.alerts import ALERT_KINDS, list_alerts
from llmwatch.cli.common import parse_utc, warehouse_engine
from llmwatch.cli.terminal import printable
from llmwatch.routing import deliver_pending, webhook_channels
from llmwatch.routing.deliver import redeliver as requeue
from llmwatch.settings import get_settings
from llmwatch.times import FORMS


@click.group(invoke_without_command=True)
@click.option("--since", help=f"Only alerts created at or after this time: {FORMS}.")
@click.option("--kind", type=click.Choice(sorted(ALERT_KINDS)), help="Only this alert kind.")
@click.option("--feature", help="Only this feature.")
@click.option(
    "--state",
    type=click.Choice(["open", "acknowledged", "resolved", "all"]),
    default="all",
    show_default=True,
    help="Only alerts whose incident is in this state ('open': not resolved).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (SPEC 3.5).")
@click.pass_context
def alerts(
    ctx: click.Context,
    since: str | None,
    kind: str | None,
    feature: str | None,
    state: str,
    as_json: bool,
) -> None:
    """List stored alerts, oldest first, with their incident and its state."""
    if ctx.invoked_subcommand is not None:
        return
    engine, _ = warehouse_engine()
    with engine.connect() as conn:
        rows = list_alerts(
            conn,
            parse_utc(since) if since else None,
            kind=kind,
            feature_id=feature,
            state=None if state == "all" else state,
        )
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no alerts")
        return
    for row in rows:
        scope = "/".join(part for part in (row["feature_id"], row["model_id"]) if part) or "-"
        window = row["window_start"] or "-"
        incident = f"incident=#{row['incident_id']}" if row["incident_id"] else "incident=-"
        click.echo(
            printable(
                f"#{row['id']} {row['created_at']} {row['severity']:<8} {row['kind']:<18} "
                f"{scope} window={window} {incident} {row['state'] or '-'} {row['message']}"
            )
        )


@alerts.command()
@click.argument("alert_ids", nargs=-1, type=int)
@click.option("--dead", is_flag=True, help="Every delivery given up on (status 'dead').")
def redeliver(alert_ids: tuple[int, ...], dead: bool) -> None:
    """Send alerts again on purpose: the given alert ids (dead or delivered), or --dead.

    The deliveries are queued with a fresh attempt budget and sent to the configured
    webhooks now; Prefect-event deliveries go out with the next flow run.
    """
    if bool(alert_ids) == dead:
        raise click.UsageError("give alert ids or --dead (not both)")
    settings = get_settings()
    engine, _ = warehouse_engine()
    with engine.begin() as conn:
        queued = requeue(conn, None if dead else list(alert_ids), datetime.now(UTC))
    click.echo(f"{queued} queued again")
    reports = deliver_pending(engine, list(webhook_channels(settings.routing)), settings.routing)
    failed = False
    for report in reports:
        click.echo(
            f"{report.channel}: delivered {len(report.delivered)}, dead {len(report.dead)}, "
            f"pending {report.pending}" + (f" ({report.last_error})" if report.last_error else "")
        )
        failed = failed or bool(report.dead or report.failed)
    if failed:
        raise SystemExit(1)
