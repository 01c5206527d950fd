"""Helpers shared by CLI commands."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from llmwatch.settings import get_settings
from llmwatch.warehouse.engine import current_revision, head_revision, make_engine


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
    """An ISO-8601 timestamp or date from the command line; no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
