"""``llmwatch serve``: every deployment with its schedule, on a real Prefect server."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

SERVER_LOG_NAME = "prefect-server.log"


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
@click.option(
    "--schedule-check",
    "schedule_check_s",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds to wait for the server to schedule runs of every deployment before "
    "reporting that it does not (0: no check).",
)
def serve(host: str, port: int, paused: bool, limit: int | None, schedule_check_s: float) -> None:
    """Serve all deployments with their schedules.

    Uses the Prefect server named by PREFECT_API_URL; without one, starts a local
    `prefect server` (its log: DATA_DIR/prefect-server.log) and stops it on exit.
    Checks that the server schedules runs of every deployment and reports the
    server's errors. Ctrl-C or SIGTERM stops serving; schedules stay active.
    """
    from prefect.settings import get_current_settings

    from deployments.local_server import ServerError, is_healthy
    from llmwatch.cli.common import warehouse_engine
    from llmwatch.warehouse.engine import upgrade

    configured = os.environ.get("PREFECT_API_URL") or get_current_settings().api.url
    if configured and not is_healthy(str(configured)):
        raise click.ClickException(f"no healthy Prefect server at PREFECT_API_URL={configured}")

    engine, display = warehouse_engine(require_schema=False)
    upgrade(engine)
    engine.dispose()
    # Until the serving loop takes over the signals (and again after it), SIGTERM unwinds
    # like Ctrl-C, so a local server is stopped rather than orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with _prefect_server(str(configured or ""), host, port) as (api_url, log_hint):
            stopped_by = _serve_on(api_url, paused, limit, display, schedule_check_s, log_hint)
    except ServerError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        stopped_by = "interrupted while starting"
    click.echo(f"stopped ({stopped_by}); schedules left active")


@contextmanager
def _prefect_server(configured: str, host: str, port: int) -> Iterator[tuple[str, str]]:
    """The API URL to serve on, and where to look when it misbehaves."""
    from deployments.local_server import local_prefect_server
    from deployments.server_log import ErrorForwarder
    from llmwatch.settings import get_settings

    if configured:
        yield configured, " (see the Prefect server's own log)"
        return
    log_path = (get_settings().data_dir / SERVER_LOG_NAME).resolve()
    click.echo(f"PREFECT_API_URL is not set: starting a local Prefect server on {host}:{port}")
    click.echo(f"Prefect server log: {log_path}")
    with local_prefect_server(log_path, host, port) as server:
        click.echo(f"Prefect UI: {server.ui_url}")
        forwarder = ErrorForwarder(server.log_path, server.log_offset, _echo_err).start()
        try:
            yield server.api_url, f" (server log: {server.log_path})"
        finally:
            # Before the server stops: its shutdown is not an error of this run.
            forwarder.stop()


def _serve_on(
    api_url: str,
    paused: bool,
    limit: int | None,
    warehouse: str,
    schedule_check_s: float,
    log_hint: str,
) -> str:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.registry import DEPLOYMENTS
    from deployments.schedule_check import ScheduleWatch
    from deployments.serve import serve as serve_all

    # Flow runs are child processes: they find the server through the environment.
    os.environ["PREFECT_API_URL"] = api_url
    names = [spec.full_name for spec in DEPLOYMENTS]
    click.echo(f"Prefect API {api_url}; warehouse {warehouse}")
    watch = None
    if schedule_check_s > 0 and not paused:
        watch = ScheduleWatch(
            api_url, names, click.echo, _echo_err, schedule_check_s, hint=log_hint
        )

    def started() -> None:
        state = "paused" if paused else "scheduled"
        click.echo(f"Serving {len(names)} deployments ({state}); Ctrl-C to stop:")
        for name in names:
            click.echo(f"  {name}")
        if watch is not None:
            watch.start()

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            return serve_all(paused=paused, limit=limit, on_started=started)
    finally:
        if watch is not None:
            watch.stop()


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
