"""``llmwatch init``: create or upgrade the warehouse schema."""

from __future__ import annotations

import click

from llmwatch.cli.common import warehouse_engine
from llmwatch.warehouse.engine import current_revision, upgrade


@click.command()
def init() -> None:
    """Create or upgrade the warehouse schema."""
    engine, display_url = warehouse_engine(require_schema=False)
    before = current_revision(engine)
    after = upgrade(engine)
    if before == after:
        click.echo(f"warehouse {display_url} is up to date (revision {after})")
    else:
        click.echo(f"warehouse {display_url} upgraded from {before or 'empty'} to {after}")
