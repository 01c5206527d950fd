"""Prefect tasks for the hourly cost and operational aggregation (over llmwatch.aggregation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from llmwatch.aggregation import (
    aggregate_window,
    default_windows,
    evaluate_window,
    read_first_request_time,
    read_watermark,
    record_alerts,
    replace_template_spend,
    replace_window,
    shards,
    windows_between,
)
from llmwatch.aggregation.cardinality import cardinality_alerts
from llmwatch.aggregation.late import (
    advance_late_mark,
    late_windows,
    latest_ingest,
    read_late_mark,
)
from llmwatch.alerts import list_alerts
from llmwatch.settings import get_settings
from llmwatch.warehouse import settings_engine

# Columns of the metrics table artifact: what a person scans first.
ARTIFACT_COLUMNS = (
    "window_start", "feature_id", "model_id", "request_count", "error_rate",
    "refusal_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p95_ms",
    "input_tokens_mean", "output_tokens_mean", "cost_total_usd", "cost_mean_usd",
    "unpriced_count", "explicit_positive_rate", "abandonment_rate", "survivorship_bias",
)  # fmt: skip
ARTIFACT_MAX_ROWS = 500


@task
def windows_to_compute(start: datetime | None, end: datetime | None) -> list[datetime]:
    """The explicit range's hours, or the look-back (plus anything missed since the
    watermark, or the history already stored on the first run) when no range is given;
    oldest first."""
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    if start is not None and end is not None:
        windows = windows_between(start, end)
    else:
        with settings_engine() as engine, engine.connect() as conn:
            watermark = read_watermark(conn)
            first_record = read_first_request_time(conn) if watermark is None else None
        cost = get_settings().cost
        windows = default_windows(
            cost.lookback_hours,
            watermark,
            max_catchup_hours=cost.max_catchup_hours,
            first_record=first_record,
            max_backfill_hours=cost.max_backfill_hours,
        )
    get_run_logger().info(
        "%d window(s) to compute: %s .. %s",
        len(windows), windows[0].isoformat(), windows[-1].isoformat(),
    )  # fmt: skip
    return windows


# Retries cover a warehouse that is briefly unavailable; every step is idempotent.
@task(retries=2, retry_delay_seconds=5)
def aggregate(window_start: datetime) -> list[dict[str, Any]]:
    with settings_engine() as engine, engine.connect() as conn:
        return aggregate_window(conn, window_start, get_settings().cost)


@task(retries=2, retry_delay_seconds=5)
def write_window(window_start: datetime, rows: list[dict[str, Any]]) -> int:
    cap = get_settings().cost.max_distinct_per_window
    with settings_engine() as engine, engine.begin() as conn:
        written = replace_window(conn, window_start, rows)
        # Spend by prompt template (the site's top spenders), in the same transaction.
        replace_template_spend(conn, window_start, cap)
    get_run_logger().info("window %s: %d feature x model rows", window_start.isoformat(), written)
    return written


@task
def late_windows_to_compute(before: datetime) -> tuple[list[datetime], datetime | None]:
    """Windows before ``before`` that records or signals reached since the last run
    (late data), and the mark this run leaves for the next."""
    margin = timedelta(minutes=get_settings().cost.late_margin_minutes)
    with settings_engine() as engine, engine.connect() as conn:
        mark = latest_ingest(conn)
        windows = late_windows(conn, before, read_late_mark(conn), margin)
    if windows:
        get_run_logger().warning(
            "%d window(s) before %s revised by late data: %s",
            len(windows), before.isoformat(), ", ".join(w.isoformat() for w in windows[:10]),
        )  # fmt: skip
    return windows, mark


@task
def remember_late_mark(mark: datetime | None) -> None:
    if mark is not None:
        with settings_engine() as engine, engine.begin() as conn:
            advance_late_mark(conn, mark)


@task(retries=2, retry_delay_seconds=5)
def claim_window(window_start: datetime, owner: str, run_started: datetime) -> bool:
    """Whether this run aggregates the window (another run may hold it, or have just
    done it: llmwatch.aggregation.shards)."""
    lease = timedelta(seconds=get_settings().cost.claim_lease_seconds)
    with settings_engine() as engine:
        taken = shards.claim_window(engine, window_start, owner, lease, run_started)
    if not taken:
        get_run_logger().info(
            "window %s is aggregated by a concurrent run", window_start.isoformat()
        )
    return taken


@task(retries=2, retry_delay_seconds=5)
def finish_window(window_start: datetime, owner: str) -> None:
    with settings_engine() as engine:
        shards.finish_window(engine, window_start, owner)


@task(retries=2, retry_delay_seconds=5)
def raise_alerts(window_start: datetime, revised: bool = False) -> list[int]:
    """Evaluate the stored window and store its alerts; returns the ids of new alerts
    (the ones not suppressed by the cool-down). ``revised``: re-aggregated for late data."""
    settings = get_settings().cost
    with settings_engine() as engine, engine.begin() as conn:
        alerts = evaluate_window(conn, window_start, settings, revised=revised)
        alerts += cardinality_alerts(conn, window_start, settings.max_distinct_per_window)
        ids = record_alerts(conn, alerts, cooldown=timedelta(hours=settings.cooldown_hours))
    if ids:
        get_run_logger().warning(
            "window %s: %d alert(s) raised", window_start.isoformat(), len(ids)
        )
    return ids


@task
def publish_metrics(rows: list[dict[str, Any]]) -> None:
    shown = rows[-ARTIFACT_MAX_ROWS:]
    table = [{name: _cell(row[name]) for name in ARTIFACT_COLUMNS} for row in shown]
    description = f"Hourly metrics per feature x model ({len(rows)} rows"
    description += f", latest {len(shown)} shown)" if len(shown) < len(rows) else ")"
    create_table_artifact(key="cost-window-metrics", table=table, description=description)


@task
def publish_alerts(alert_ids: list[int]) -> None:
    wanted = set(alert_ids)
    with settings_engine() as engine, engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["id"] in wanted]
    if not alerts:
        markdown = "No alert raised."
    else:
        lines = ["| window | kind | feature / model | metric | value | threshold | message |"]
        lines.append("|---|---|---|---|---|---|---|")
        for a in alerts:
            scope = " / ".join(p for p in (a["feature_id"], a["model_id"]) if p) or "all"
            lines.append(
                f"| {a['window_start']} | {a['kind']} | {_md(scope)} | {a['metric']} | "
                f"{_cell(a['value'])} | {_cell(a['threshold'])} | {_md(a['message'])} |"
            )
        markdown = f"## {len(alerts)} alert(s) raised\n\n" + "\n".join(lines)
    create_markdown_artifact(
        key="cost-alerts", markdown=markdown, description="Alerts raised by this run"
    )


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def _md(text: str) -> str:
    # Feature and model ids come from application records: keep them from breaking the table.
    return text.replace("|", "\\|").replace("\n", " ")
