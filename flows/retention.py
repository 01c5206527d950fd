"""Retention flow (daily): raw requests and texts older than the configured ages go."""

from __future__ import annotations

from prefect import flow

from llmwatch.retention import RetentionResult
from tasks.retention import purge_expired

# A parameter left at this value means "as configured"; None itself means "keep forever".
CONFIGURED = -1.0


@flow(name="retention")
def retention_flow(
    keep_raw_days: float | None = CONFIGURED,
    keep_text_days: float | None = CONFIGURED,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete raw request rows and signals past ``keep_raw_days``; blank texts past
    ``keep_text_days``. Aggregates are kept."""
    from llmwatch.settings import get_settings

    configured = get_settings().retention
    raw = configured.keep_raw_days if keep_raw_days == CONFIGURED else keep_raw_days
    texts = configured.keep_text_days if keep_text_days == CONFIGURED else keep_text_days
    return purge_expired(raw, texts, dry_run=dry_run)
