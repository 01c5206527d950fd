"""Ingest flow (every minute): load new request and signal files from the inbox.

A file with rejected lines (or quarantined, or with conflicting duplicates) raises an
ingest_rejects alert; the reports site is rebuilt then (and only then: a rebuild every
minute would be wasted work).
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
    """Ingest request files, then signal files; defaults to ``ingest.inbox_url`` (a folder
    or an object-store URL), else the inbox under the data dir. A file named like
    ``*signals*`` is read as signals wherever it lies."""
    from llmwatch.settings import get_settings

    settings = get_settings()
    inbox_url, data_dir = settings.ingest.inbox_url, settings.data_dir
    if inbox_url and not request_paths and not signal_paths:
        request_paths, signal_paths = [inbox_url], []  # signal files known by name
    else:
        request_paths = request_paths or [str(data_dir / "inbox" / "requests")]
        signal_paths = signal_paths or [str(data_dir / "inbox" / "signals")]

    # A file whose task still fails after its retries (the warehouse went away) does not
    # stop the others; the run fails at the end, after the alerts went out.
    results: list[FileResult] = []
    failed: list[str] = []
    found = discover_files(request_paths, signals=False) + [
        (path, True) for path, _ in discover_files(signal_paths, signals=True)
    ]
    for path, signals in found:
        state = ingest_one_file(path, signals=signals, return_state=True)
        if state.is_completed():
            results.append(state.result())
        else:
            failed.append(path)

    publish_ingest_summary(results)
    if any(r.rejected or r.quarantined or r.conflicts for r in results):
        regenerate_site()
    deliver_pending_alerts()
    if failed:
        raise RuntimeError(f"{len(failed)} file(s) failed and will be tried again: {failed}")
    return IngestSummary(results)
