"""Helpers shared by CLI commands."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from llmwatch.settings import get_settings
from llmwatch.times import parse_time
from llmwatch.warehouse.engine import current_revision, head_revision, make_engine

# Exit status of every command: 0 done, 1 failed, 2 usage or configuration error
# (click's own code); gates add their verdicts (see run golden/canary/compare, ingest).
EXIT_USAGE = 2


def warehouse_engine(require_schema: bool = True) -> tuple[Engine, str]:
    """The settings' warehouse engine and its URL with any password hidden."""
    url = get_settings().resolved_warehouse_url()
    engine = make_engine(url)
    display = make_url(url).render_as_string(hide_password=True)
    if require_schema:
        current = current_revision(engine)
        if current is None:
            raise click.ClickException(f"warehouse {display} has no schema: run `llmwatch init`")
        if current != head_revision(engine):
            raise click.ClickException(
                f"warehouse {display} is at revision {current}: run `llmwatch init` to upgrade"
            )
    return engine, display


def parse_utc(value: str) -> datetime:
    """A time from the command line, in any of ``llmwatch.times.FORMS``: a duration
    before now (30m, 2h, 7d) or an ISO-8601 date or time (no offset means UTC)."""
    try:
        return parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
