"""``llmwatch init``: create or upgrade the warehouse schema, and the ingest inbox."""

from __future__ import annotations

import click

from llmwatch.cli.common import warehouse_engine
from llmwatch.settings import get_settings
from llmwatch.warehouse.engine import current_revision, upgrade

INBOX_FOLDERS = ("requests", "signals")


@click.command()
def init() -> None:
    """Create or upgrade the warehouse schema, and create the ingest inbox.

    The inbox is <data_dir>/inbox/requests and <data_dir>/inbox/signals: the folders
    the ingest deployment reads every minute, and the layout the Python recorder
    writes (Recorder("<data_dir>/inbox")).
    """
    engine, display_url = warehouse_engine(require_schema=False)
    before = current_revision(engine)
    after = upgrade(engine)
    if before == after:
        click.echo(f"warehouse {display_url} is up to date (revision {after})")
    else:
        click.echo(f"warehouse {display_url} upgraded from {before or 'empty'} to {after}")
    inbox = get_settings().data_dir / "inbox"
    for name in INBOX_FOLDERS:
        (inbox / name).mkdir(parents=True, exist_ok=True)
    click.echo(
        f"inbox {inbox}/{{{','.join(INBOX_FOLDERS)}}}: ingested every minute by the schedule"
    )
