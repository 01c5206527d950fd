"""``llmwatch alerts``: read the alerts table."""

from __future__ import annotations

import click
import orjson

from llmwatch.alerts import list_alerts
from llmwatch.cli.common import parse_utc, warehouse_engine
from llmwatch.times import FORMS


@click.command()
@click.option("--since", help=f"Only alerts created at or after this time: {FORMS}.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (SPEC 3.5).")
def alerts(since: str | None, as_json: bool) -> None:
    """List stored alerts, oldest first."""
    engine, _ = warehouse_engine()
    with engine.connect() as conn:
        rows = list_alerts(conn, parse_utc(since) if since else None)
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no alerts")
        return
    for row in rows:
        scope = "/".join(part for part in (row["feature_id"], row["model_id"]) if part) or "-"
        window = row["window_start"] or "-"
        click.echo(
            f"#{row['id']} {row['created_at']} {row['severity']:<8} {row['kind']:<18} "
            f"{scope} window={window} {row['message']}"
        )
