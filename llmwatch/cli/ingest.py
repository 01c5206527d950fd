"""``llmwatch ingest``: load request records or user signals into the warehouse."""

from __future__ import annotations

from pathlib import Path

import click

from llmwatch.cli.common import warehouse_engine
from llmwatch.cli.terminal import printable
from llmwatch.ingest import inbox, ingest_paths
from llmwatch.ingest.parallel import sigterm_as_exit
from llmwatch.pricing import PriceBook
from llmwatch.settings import get_settings

EXIT_REJECTS = 3


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--signals",
    is_flag=True,
    help="Every file holds user signals (SPEC 3.2). Without it, signal files are "
    "recognised by name (*signals*) or a signals/ folder, the rest are requests.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Read files again even if already ingested (e.g. one first read as the wrong "
    "kind); rows already stored are not doubled.",
)
@click.option("-v", "--verbose", is_flag=True, help="One line per file, with first rejects.")
def ingest(paths: tuple[str, ...], signals: bool, force: bool, verbose: bool) -> None:
    """Ingest JSONL, JSONL.gz or OTLP/JSON files or folders (recursively), or the objects
    under object-store URLs (s3://bucket/prefix, any fsspec URL; see [ingest] inbox_*).

    Request records (SPEC 3.1) and user signals (SPEC 3.2): a file is taken as signals
    when its name contains "signals" or it lies in a signals/ folder under a folder
    given (the recorder's layout), or with --signals. A file already ingested (same
    content) is skipped unless --force.

    Exit status: 0 loaded (every line, or already there), 3 rejects (some lines were
    rejected, the rest loaded, see the ingest_rejects table; or a request_id came again
    with different content; or a file was quarantined, see quarantined_files), 1 failure,
    2 usage or configuration error.
    """
    urls = [p for p in paths if inbox.is_remote(p)]
    if urls and force:
        raise click.UsageError("--force reads local files again, not object-store URLs")
    engine, _ = warehouse_engine()
    settings = get_settings()
    local = [Path(p) for p in paths if not inbox.is_remote(p)]
    try:
        with sigterm_as_exit():  # parse workers are shut down, the file rolled back
            summary = ingest_paths(engine, local, settings, signals=signals, force=force)
            if urls:
                prices = PriceBook(settings.prices)
                summary.files += inbox.ingest_urls(engine, urls, settings.ingest, prices, signals)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if verbose:
        for f in summary.files:
            state = (
                "taken by another worker"
                if f.claimed_elsewhere
                else f"already ingested (as {f.previous_kind or 'unknown'})"
                if f.already_ingested
                else f"quarantined: {f.quarantined}"
                if f.quarantined
                else (
                    f"{f.kind}: loaded {f.loaded}, duplicate {f.duplicates}, "
                    f"rejected {f.rejected}, conflicting {f.conflicts}"
                )
            )
            click.echo(printable(f"{f.path}: {state}"))
            for line_no, reason in f.first_rejects:
                click.echo(printable(f"  line {line_no}: {reason}"))
            for request_id in f.first_conflicts:
                click.echo(printable(f"  request_id {request_id}: stored with different content"))
    for f in summary.files:
        if f.already_ingested and f.previous_kind not in (None, f.kind):
            click.echo(
                printable(
                    f"{f.path} was ingested as {f.previous_kind} before, not as {f.kind}: "
                    "`llmwatch ingest --force` reads it again"
                )
            )
    click.echo(summary.line())
    if summary.total("rejected") or summary.total("conflicts") or summary.files_quarantined:
        raise SystemExit(EXIT_REJECTS)
