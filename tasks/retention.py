"""Prefect task over the retention core: delete raw rows and blank texts past their age."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from llmwatch.retention import RetentionResult, apply_retention
from llmwatch.settings import get_settings
from llmwatch.warehouse import settings_engine


@task(cache_policy=NO_CACHE)
def purge_expired(
    keep_raw_days: float | None, keep_text_days: float | None, dry_run: bool = False
) -> RetentionResult:
    with settings_engine() as engine:
        result = apply_retention(
            engine,
            keep_raw_days=keep_raw_days,
            keep_text_days=keep_text_days,
            batch_size=get_settings().retention.batch_size,
            dry_run=dry_run,
        )
    get_run_logger().info("retention: %s", result.describe())
    return result
