"""Ingest flow (every minute): load new request and signal files from the inbox.

A file with rejected lines raises an ingest_rejects alert; the reports site is rebuilt
then (and only then: a rebuild every minute would be wasted work).
"""

from __future__ import annotations

from prefect import flow

from llmwatch.ingest import FileResult, IngestSummary
from tasks.alerts import deliver_pending_alerts
from tasks.ingest import discover_files, ingest_one_file, publish_ingest_summary
from tasks.site import regenerate_site


@flow(name="ingest")
def ingest_flow(
    request_paths: list[str] | None = None, signal_paths: list[str] | None = None
) -> IngestSummary:
    """Ingest request files, then signal files; defaults to the inbox under the data dir.
    A file named like ``*signals*`` is read as signals wherever it lies."""
    from llmwatch.settings import get_settings

    data_dir = get_settings().data_dir
    request_paths = request_paths or [str(data_dir / "inbox" / "requests")]
    signal_paths = signal_paths or [str(data_dir / "inbox" / "signals")]

    results: list[FileResult] = []
    for path, signals in discover_files(request_paths, signals=False):
        results.append(ingest_one_file(path, signals=signals))
    for path, _ in discover_files(signal_paths, signals=True):
        results.append(ingest_one_file(path, signals=True))

    publish_ingest_summary(results)
    if any(r.rejected for r in results):
        regenerate_site()
    deliver_pending_alerts()
    return IngestSummary(results)
