"""``llmwatch exporter``: the latest window metrics and alert counts for Prometheus."""

from __future__ import annotations

import time
from pathlib import Path

import click

from llmwatch.cli.common import warehouse_engine

DEFAULT_PORT = 9750


@click.command("exporter")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="HTTP port.")
@click.option(
    "--addr",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 to let a Prometheus on another host scrape).",
)
@click.option(
    "--textfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the metrics to this file (node_exporter's textfile collector reads *.prom) "
    "instead of serving them.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    help="With --textfile: rewrite the file every this many seconds (default: once).",
)
def exporter(port: int, addr: str, textfile: Path | None, interval: float | None) -> None:
    """Expose the warehouse's metrics in the Prometheus text format.

    Serves /metrics (every scrape reads the warehouse: latest window per feature x model,
    totals over aggregated windows, alert counts by kind and severity), or writes the same
    text to --textfile atomically (temporary file in the same folder, then rename).
    """
    from llmwatch.exporter import start_exporter, write_textfile

    engine, display = warehouse_engine()
    if textfile is not None:
        if textfile.suffix != ".prom":
            click.echo(f"warning: node_exporter reads only *.prom files, not {textfile}", err=True)
        while True:
            write_textfile(engine, textfile)
            if interval is None:
                click.echo(f"wrote {textfile} from {display}")
                return
            time.sleep(interval)
    if interval is not None:
        raise click.BadParameter("--interval needs --textfile", param_hint="--interval")
    try:
        server, thread = start_exporter(engine, port, addr)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {addr}:{port}: {exc}") from None
    click.echo(f"serving http://{addr}:{server.server_port}/metrics from {display} (Ctrl-C stops)")
    try:
        while thread.is_alive():
            thread.join(timeout=1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()
