"""``llmwatch serve``: every deployment with its schedule, on a real Prefect server."""

from __future__ import annotations

import os
import signal
from contextlib import AbstractContextManager, nullcontext
from types import FrameType

import click


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Host of the local Prefect server started when PREFECT_API_URL is not set.",
)
@click.option(
    "--port",
    default=4200,
    show_default=True,
    type=int,
    help="Port of that local server (its UI is at http://HOST:PORT).",
)
@click.option(
    "--paused",
    is_flag=True,
    help="Register the schedules paused: only manual runs until resumed in the UI.",
)
@click.option("--limit", type=int, default=None,
              help="At most this many flow runs at once in this process.")  # fmt: skip
def serve(host: str, port: int, paused: bool, limit: int | None) -> None:
    """Serve all deployments with their schedules.

    Uses the Prefect server named by PREFECT_API_URL; without one, starts a local
    `prefect server` and stops it on exit. Ctrl-C (or SIGTERM) stops serving.
    """
    from prefect.settings import get_current_settings

    from deployments.local_server import ServerError, is_healthy, local_prefect_server
    from llmwatch.cli.common import warehouse_engine
    from llmwatch.warehouse.engine import upgrade

    configured = os.environ.get("PREFECT_API_URL") or get_current_settings().api.url
    server: AbstractContextManager[str]
    if configured:
        if not is_healthy(str(configured)):
            raise click.ClickException(f"no healthy Prefect server at PREFECT_API_URL={configured}")
        server = nullcontext(str(configured))
    else:
        click.echo(f"PREFECT_API_URL is not set: starting a local Prefect server on {host}:{port}")
        server = local_prefect_server(host, port)

    engine, display = warehouse_engine(require_schema=False)
    upgrade(engine)
    engine.dispose()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with server as api_url:
            _serve_on(str(api_url), paused, limit, display)
    except ServerError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.echo("stopped")


def _serve_on(api_url: str, paused: bool, limit: int | None, warehouse: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.registry import DEPLOYMENTS
    from deployments.serve import serve as serve_all

    # Flow runs are child processes: they find the server through the environment.
    os.environ["PREFECT_API_URL"] = api_url
    click.echo(f"Prefect API {api_url}; warehouse {warehouse}")
    for spec in DEPLOYMENTS:
        click.echo(f"  {spec.full_name}")
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        serve_all(paused=paused, limit=limit)


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Unwind through the finally blocks, so the local server is stopped too.
    raise KeyboardInterrupt
