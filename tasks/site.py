"""Prefect task that regenerates the static reports site.

Every flow that stores what the site shows (alerts, hourly windows, quality charts,
drift reports) calls it at its end, so the page is never behind the warehouse.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from llmwatch.settings import get_settings
from llmwatch.site import generate_site
from llmwatch.warehouse import settings_engine


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def regenerate_site() -> Path:
    with settings_engine() as engine:
        index = generate_site(engine, get_settings().reports_dir)
    get_run_logger().info("reports site written to %s", index)
    return index
