"""``llmwatch incidents``: list incidents; ``ack`` and ``resolve`` them by hand (SPEC 4.7)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import orjson

from llmwatch.alerts import ALERT_KINDS
from llmwatch.cli.common import parse_utc, warehouse_engine
from llmwatch.cli.terminal import printable
from llmwatch.incidents import IncidentError, acknowledge, list_incidents
from llmwatch.incidents import resolve as resolve_incident
from llmwatch.times import FORMS


@click.group(invoke_without_command=True)
@click.option(
    "--state",
    type=click.Choice(["open", "acknowledged", "resolved", "all"]),
    default="open",
    show_default=True,
    help="'open' lists every incident not resolved (open or acknowledged).",
)
@click.option("--since", help=f"Only incidents opened at or after this time: {FORMS}.")
@click.option("--kind", type=click.Choice(sorted(ALERT_KINDS)), help="Only this alert kind.")
@click.option("--feature", help="Only this feature.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def incidents(
    ctx: click.Context,
    state: str,
    since: str | None,
    kind: str | None,
    feature: str | None,
    as_json: bool,
) -> None:
    """List incidents, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    engine, _ = warehouse_engine()
    with engine.connect() as conn:
        rows = list_incidents(
            conn,
            None if state == "all" else state,
            parse_utc(since) if since else None,
            kind,
            feature,
        )
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no incidents")
        return
    for row in rows:
        parts = (row["feature_id"], row["model_id"], row["scope"])
        scope = "/".join(part for part in parts if part) or "-"
        click.echo(
            printable(
                f"#{row['id']} {row['state']:<12} {row['severity']:<8} {row['kind']:<18} "
                f"{scope} opened={row['opened_at']} alerts={row['alert_count']} "
                f"({row['triage']})"
            )
        )


@incidents.command()
@click.argument("incident_id", type=int)
def ack(incident_id: int) -> None:
    """Acknowledge an open incident: no reminders; it still resolves and notifies."""
    engine, _ = warehouse_engine()
    try:
        with engine.begin() as conn:
            acknowledge(conn, incident_id, datetime.now(UTC))
    except IncidentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"incident {incident_id} acknowledged")


@incidents.command()
@click.argument("incident_id", type=int)
@click.option("--note", help="Why it was resolved (kept on the incident and notified).")
def resolve(incident_id: int, note: str | None) -> None:
    """Resolve an incident by hand; the resolve notification goes out with the next
    flow run's delivery (or `llmwatch alerts redeliver`)."""
    engine, _ = warehouse_engine()
    try:
        with engine.begin() as conn:
            resolve_incident(conn, incident_id, datetime.now(UTC), note)
    except IncidentError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"incident {incident_id} resolved")
