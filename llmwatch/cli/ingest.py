"""``llmwatch ingest``: load request records or user signals into the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from llmwatch.cli.common import warehouse_engine
from llmwatch.cli.terminal import printable
from llmwatch.ingest import ingest_paths
from llmwatch.ingest.parallel import sigterm_as_exit
from llmwatch.settings import get_settings

EXIT_REJECTS = 3


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--signals", is_flag=True, help="The files hold user signals (SPEC 3.2).")
@click.option("-v", "--verbose", is_flag=True, help="One line per file, with first rejects.")
def ingest(paths: tuple[Path, ...], signals: bool, verbose: bool) -> None:
    """Ingest JSONL, JSONL.gz or OTLP/JSON files or folders.

    Exit status: 0 all lines loaded (or already there), 3 some lines were rejected
    (the rest loaded; see the ingest_rejects table), reused a stored request_id with
    different content, or some files were quarantined (see quarantined_files), 1 the
    run failed.
    """
    engine, _ = warehouse_engine()
    try:
        with sigterm_as_exit():  # parse workers are shut down, the file rolled back
            summary = ingest_paths(engine, list(paths), get_settings(), signals=signals)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if verbose:
        for f in summary.files:
            state = (
                "already ingested"
                if f.already_ingested
                else f"quarantined: {f.quarantined}"
                if f.quarantined
                else (
                    f"loaded {f.loaded}, duplicate {f.duplicates}, rejected {f.rejected}, "
                    f"conflicting {f.conflicts}"
                )
            )
            click.echo(printable(f"{f.path}: {state}"))
            for line_no, reason in f.first_rejects:
                click.echo(printable(f"  line {line_no}: {reason}"))
            for request_id in f.first_conflicts:
                click.echo(printable(f"  request_id {request_id}: stored with different content"))
    click.echo(summary.line())
    if summary.total("rejected") or summary.total("conflicts") or summary.files_quarantined:
        raise SystemExit(EXIT_REJECTS)
