"""``llmwatch triage ALERT_ID`` and ``llmwatch golden add-from-flagged ALERT_ID``."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from llmwatch.cli.common import warehouse_engine
from llmwatch.cli.terminal import printable, printable_lines
from llmwatch.settings import get_settings
from llmwatch.triage import (
    DEFAULT_LIMIT,
    TriageError,
    add_from_flagged,
    build_report,
    render_text,
    write_html,
)


@click.command()
@click.argument("alert_id", type=int)
@click.option(
    "--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(min=1),
    help="How many affected responses to show.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def triage(alert_id: int, limit: int, as_json: bool) -> None:
    """Scope, timeline and affected responses of one alert; also written as
    reports/triage/ALERT_ID.html."""
    engine, _ = warehouse_engine()
    try:
        report = build_report(engine, alert_id, limit=limit)
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None
    page = write_html(report, Path(get_settings().reports_dir))
    if as_json:
        click.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    # Feature ids, messages and sampled prompts come from records: no escape sequence
    # of theirs may reach the terminal (JSON above escapes them itself).
    click.echo(printable_lines(render_text(report)))
    click.echo(f"\nwritten {printable(page)}")


@click.group()
def golden() -> None:
    """Golden-set maintenance."""


@golden.command("add-from-flagged")
@click.argument("alert_id", type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path),
    help="Candidate file (default golden/candidates/ALERT_ID.jsonl); never the live set.",
)  # fmt: skip
@click.option("--limit", default=DEFAULT_LIMIT, show_default=True, type=click.IntRange(min=1))
def add_from_flagged_command(alert_id: int, out: Path | None, limit: int) -> None:
    """Append the cases an alert flagged to a candidate golden file, for review."""
    engine, _ = warehouse_engine()
    try:
        result = add_from_flagged(engine, alert_id, out, limit=limit)
    except (TriageError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{len(result.added)} candidate(s) added to {printable(result.path)}, "
        f"{len(result.already_present)} already there, "
        f"{len(result.skipped_without_input)} skipped (no input text); "
        "write each reference answer before moving a case into the live set"
    )
