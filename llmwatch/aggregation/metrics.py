"""One window's metrics per feature x model, computed by the warehouse.

Definitions (SPEC 4.2):

* error: ``error`` is set or ``finish_reason`` is ``error``; refusal: ``finish_reason``
  is one of ``queries.REFUSAL_REASONS``. Rates are over all requests of the group.
* latency and TTFT percentiles: ``llmwatch.stats.percentiles`` (nearest rank), over all
  requests (failed ones too: users waited for them); TTFT over requests that report it.
* tokens: sums, and means per request over all requests.
* cost: sum and mean over *priced* requests only. A request without a price
  (``cost_usd`` NULL) is counted in ``unpriced_count`` and never as a free request; with
  no priced request at all the cost is NULL, not 0.
* user signals, joined by request id to the window of the request they are about; each
  request counts at most once per signal type. ``explicit_positive_rate`` = requests
  with a thumbs up / (requests with a thumbs up + requests with a thumbs down), NULL
  without explicit feedback; coverage = requests with explicit feedback / requests;
  correction, follow-up, retry and abandonment rates = requests with that signal /
  requests.
* survivorship bias (seed 000): many requests abandoned while the few who rate are
  happy, i.e. abandonment rate and positive rate both above their thresholds, with
  enough explicit ratings for the positive rate to mean something.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from llmwatch.aggregation.cardinality import Fold, window_fold
from llmwatch.aggregation.queries import (
    PERCENTILE_COLUMNS,
    bound,
    percentile_column_names,
    postgresql_operational_sql,
    signals_sql,
    sqlite_sorted_values_sql,
    sqlite_summary_sql,
)
from llmwatch.aggregation.windows import WINDOW, floor_hour
from llmwatch.settings import CostSettings
from llmwatch.stats.percentiles import grouped_nearest_ranks
from llmwatch.warehouse.types import sqlite_timestamp_text

Row = dict[str, Any]


def aggregate_window(
    conn: Connection,
    window_start: datetime,
    settings: CostSettings,
    computed_at: datetime | None = None,
) -> list[Row]:
    """The ``window_metrics`` rows of the hour starting at ``window_start``, one per
    feature x model with requests, ordered by feature and model."""
    if floor_hour(window_start) != window_start:
        raise ValueError(f"window start {window_start.isoformat()} is not on the hour")
    window_end = window_start + WINDOW
    _begin_snapshot(conn)
    fold = window_fold(conn, window_start, settings.max_distinct_per_window)
    params = {"start": window_start, "end": window_end, **fold.params()}
    operational = operational_rows(conn, window_start, window_end, fold)
    signals = {
        (row["feature_id"], row["model_id"]): row
        for row in conn.execute(bound(signals_sql(fold.source())), params).mappings()
    }
    stamp = computed_at or datetime.now(UTC)
    return [
        build_row(
            op,
            signals.get((op["feature_id"], op["model_id"])),
            window_start,
            window_end,
            settings,
            stamp,
        )
        for op in operational
    ]


def build_row(
    op: Row,
    signals: Any,
    window_start: datetime,
    window_end: datetime,
    settings: CostSettings,
    computed_at: datetime,
) -> Row:
    """A ``window_metrics`` row from one operational row and its (optional) signal row."""
    n = int(op["request_count"])
    priced = int(op["priced_count"])
    error_count = int(op["error_count"] or 0)
    refusal_count = int(op["refusal_count"] or 0)
    input_sum = int(op["input_tokens_sum"] or 0)
    output_sum = int(op["output_tokens_sum"] or 0)
    cost_total = float(op["cost_total_usd"]) if priced else None

    row: Row = {
        "window_start": window_start,
        "window_end": window_end,
        "feature_id": op["feature_id"],
        "model_id": op["model_id"],
        "request_count": n,
        "error_count": error_count,
        "refusal_count": refusal_count,
        "error_rate": error_count / n,
        "refusal_rate": refusal_count / n,
        **{name: _float(op[name]) for name in percentile_column_names()},
        "input_tokens_sum": input_sum,
        "output_tokens_sum": output_sum,
        "cached_input_tokens_sum": int(op["cached_input_tokens_sum"] or 0),
        "cache_write_tokens_sum": int(op["cache_write_tokens_sum"] or 0),
        "reasoning_tokens_sum": int(op["reasoning_tokens_sum"] or 0),
        "input_tokens_mean": input_sum / n,
        "output_tokens_mean": output_sum / n,
        "cost_total_usd": cost_total,
        "cost_mean_usd": cost_total / priced if cost_total is not None else None,
        "unpriced_count": n - priced,
        "computed_at": computed_at,
    }
    row.update(_signal_metrics(signals, n, settings))
    return row


def _begin_snapshot(conn: Connection) -> None:
    """One snapshot for every statement of the window: the fold, the groups, their
    values and the signals must describe the same requests."""
    if conn.dialect.name == "postgresql" and not conn.in_transaction():
        # READ COMMITTED would give each statement its own snapshot; this must be the
        # transaction's first statement.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    elif conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # pysqlite opens no transaction before a SELECT.
        if not raw.in_transaction:
            raw.execute("BEGIN")


def operational_rows(
    conn: Connection, window_start: datetime, window_end: datetime, fold: Fold | None = None
) -> list[Row]:
    """Counts, sums and percentile columns per feature x model (see ``queries``)."""
    fold = fold or Fold()
    if conn.dialect.name == "postgresql":
        return _postgresql_rows(conn, window_start, window_end, fold)
    if conn.dialect.name == "sqlite":
        return _sqlite_rows(conn, window_start, window_end, fold)
    raise NotImplementedError(f"no window aggregation for dialect {conn.dialect.name!r}")


def _postgresql_rows(
    conn: Connection, window_start: datetime, window_end: datetime, fold: Fold
) -> list[Row]:
    _begin_snapshot(conn)
    params = {"start": window_start, "end": window_end, **fold.params()}
    sql = postgresql_operational_sql(fold.source())
    rows = [dict(r) for r in conn.execute(bound(sql), params).mappings()]
    for column in PERCENTILE_COLUMNS:
        for row in rows:
            values = row.pop(f"{column.key}_percentiles") or [None] * len(column.levels)
            row.update(zip(column.names(), values, strict=True))
    return rows


# Rows per fetch when streaming sorted values out of SQLite: big enough that Python's
# work is per batch, small enough that memory stays flat.
STREAM_BATCH = 50_000


def _sqlite_rows(
    conn: Connection, window_start: datetime, window_end: datetime, fold: Fold
) -> list[Row]:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    # One read transaction for every statement: the group counts must describe the very
    # values streamed afterwards.
    _begin_snapshot(conn)
    params = {"start": window_start, "end": window_end, **fold.params()}
    source = fold.source()
    rows = [dict(r) for r in conn.execute(bound(sqlite_summary_sql(source)), params).mappings()]
    text_params = {
        "start": sqlite_timestamp_text(window_start),
        "end": sqlite_timestamp_text(window_end),
        **fold.params(),
    }
    for column in PERCENTILE_COLUMNS:
        cursor = raw.cursor()
        try:
            # The raw cursor skips SQLAlchemy's per-row Row objects on this hot path.
            cursor.execute(sqlite_sorted_values_sql(column, source), text_params)
            picked = grouped_nearest_ranks(
                _batches(cursor),
                [row.pop(f"{column.key}_rows") for row in rows],
                column.levels,
            )
        finally:
            cursor.close()
        for row, values in zip(rows, picked, strict=True):
            row.update(zip(column.names(), values, strict=True))
    return rows


def _batches(cursor: Any) -> Iterator[list[Any]]:
    while batch := cursor.fetchmany(STREAM_BATCH):
        yield batch


def _signal_metrics(signals: Any, n: int, settings: CostSettings) -> Row:
    def count(name: str) -> int:
        return int(signals[name] or 0) if signals is not None else 0

    up, down, explicit = count("thumbs_up"), count("thumbs_down"), count("explicit_count")
    positive_rate = up / (up + down) if up + down else None
    abandonment_rate = count("abandoned_count") / n
    return {
        "explicit_feedback_count": explicit,
        "explicit_positive_rate": positive_rate,
        "explicit_feedback_coverage": explicit / n,
        "correction_rate": count("correction_count") / n,
        "follow_up_rate": count("follow_up_count") / n,
        "retry_rate": count("retry_count") / n,
        "abandonment_rate": abandonment_rate,
        "survivorship_bias": survivorship_bias(abandonment_rate, positive_rate, explicit, settings),
    }


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def survivorship_bias(
    abandonment_rate: float,
    positive_rate: float | None,
    explicit_count: int,
    settings: CostSettings,
) -> bool:
    """True when explicit feedback looks good only because unhappy users left."""
    return (
        positive_rate is not None
        and explicit_count >= settings.survivorship_min_explicit
        and abandonment_rate > settings.survivorship_abandonment_rate
        and positive_rate > settings.survivorship_positive_rate
    )
