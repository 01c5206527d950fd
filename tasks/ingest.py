"""Prefect tasks for ingestion: a thin wrapper over llmwatch.ingest."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from llmwatch.ingest import FileResult, inbox, ingest_file
from llmwatch.ingest.loader import Kind
from llmwatch.ingest.reader import discover_kinds
from llmwatch.pricing import PriceBook
from llmwatch.settings import get_settings
from llmwatch.warehouse import claims, make_engine


@task
def discover_files(paths: list[str], signals: bool) -> list[tuple[str, bool]]:
    """(file, holds signals) for the input files under the given paths; a missing inbox
    folder is simply empty. Signal files are recognised by name in any folder.
    Object-store URLs list the objects no worker has loaded yet."""
    local = [Path(p) for p in paths if not inbox.is_remote(p) and Path(p).exists()]
    found = [(str(p), is_signals) for p, is_signals in discover_kinds(local, signals)]
    remote = [p for p in paths if inbox.is_remote(p)]
    if remote:
        settings = get_settings()
        objects = [o for url in remote for o in inbox.list_objects(url, settings.ingest, signals)]
        engine = make_engine(settings.resolved_warehouse_url())
        try:
            found += [(o.url, o.signals) for o in inbox.pending(engine, objects)]
        finally:
            engine.dispose()
    return found


# Retries cover a warehouse that is briefly unavailable; a file is one transaction,
# so a retried file is loaded from scratch without doubling anything.
@task(retries=2, retry_delay_seconds=5)
def ingest_one_file(path: str, signals: bool) -> FileResult:
    settings = get_settings()
    engine = make_engine(settings.resolved_warehouse_url())
    kind: Kind = "signals" if signals else "requests"
    prices = PriceBook(settings.prices)
    try:
        if inbox.is_remote(path):
            owner = claims.new_owner()
            result = inbox.ingest_object(engine, path, kind, settings.ingest, prices, owner)
        else:
            result = ingest_file(engine, Path(path), kind, settings.ingest, prices)
    finally:
        engine.dispose()
    logger = get_run_logger()
    if result.claimed_elsewhere:
        logger.info("%s is being loaded by another worker", path)
    elif result.already_ingested:
        logger.info("%s already ingested", path)
    elif result.quarantined:
        logger.warning("%s quarantined, nothing loaded: %s", path, result.quarantined)
    else:
        logger.info(
            "%s: loaded %d, duplicate %d, conflicting %d, rejected %d",
            path, result.loaded, result.duplicates, result.conflicts, result.rejected,
        )  # fmt: skip
    return result


@task
def publish_ingest_summary(results: list[FileResult]) -> None:
    rows = [
        {
            "file": r.path,
            "status": "taken by another worker"
            if r.claimed_elsewhere
            else "already ingested"
            if r.already_ingested
            else f"quarantined: {r.quarantined}"
            if r.quarantined
            else "read",
            "loaded": r.loaded,
            "duplicates": r.duplicates,
            "conflicts": r.conflicts,
            "rejected": r.rejected,
            "unpriced": r.unpriced,
        }
        for r in results
    ]
    create_table_artifact(key="ingest-summary", table=rows, description="Files ingested")
