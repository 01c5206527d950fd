"""The window aggregation SQL, pushed into the database.

Percentiles follow ``llmwatch.stats.percentiles`` (nearest rank, ``k = ceil(p * n)``):

* PostgreSQL: ``percentile_disc(ARRAY[...]) WITHIN GROUP (ORDER BY x)``, one sort per
  column for all its levels; this ordered-set aggregate is exactly that definition.
* SQLite (no ordered-set aggregates): window functions number the rows of each
  feature x model group in order of the column and count the group; the percentile is
  the smallest value whose row number ``r`` satisfies ``r >= p * n``. For integers
  ``r`` that is ``r >= ceil(p * n)``, and ``p * n`` is the same double product
  PostgreSQL takes the ceiling of, so both backends pick the same row. The rows are
  sorted and reduced inside SQLite; Python only receives one row per group.

NULLs are ignored (TTFT is optional), as ``percentile_disc`` ignores them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import TextClause, bindparam, text

from llmwatch.warehouse.types import UTCDateTime

LATENCY_LEVELS = (0.5, 0.95, 0.99)
TTFT_LEVELS = (0.5, 0.95)
# finish_reason values that mean the model (or the provider's filter) declined to answer.
REFUSAL_REASONS = ("refusal", "content_filter")

_COMMON_AGGREGATES = """
    COUNT(*) AS request_count,
    SUM(CASE WHEN error IS NOT NULL OR finish_reason = 'error' THEN 1 ELSE 0 END)
        AS error_count,
    SUM(CASE WHEN finish_reason IN ({refusals}) THEN 1 ELSE 0 END) AS refusal_count,
    SUM(input_tokens) AS input_tokens_sum,
    SUM(output_tokens) AS output_tokens_sum,
    SUM(cached_input_tokens) AS cached_input_tokens_sum,
    SUM(cache_write_tokens) AS cache_write_tokens_sum,
    SUM(reasoning_tokens) AS reasoning_tokens_sum,
    SUM(cost_usd) AS cost_total_usd,
    COUNT(cost_usd) AS priced_count""".format(
    refusals=", ".join(f"'{reason}'" for reason in REFUSAL_REASONS)
)

_WINDOW_FILTER = "ts >= :start AND ts < :end"


def _level(p: float) -> str:
    # repr() of a float round-trips, so the database parses the very same double.
    return repr(float(p))


def _suffix(p: float) -> str:
    return f"p{round(p * 100):d}"


def percentile_column_names() -> list[str]:
    return [f"latency_{_suffix(p)}_ms" for p in LATENCY_LEVELS] + [
        f"ttft_{_suffix(p)}_ms" for p in TTFT_LEVELS
    ]


def postgresql_operational_sql() -> str:
    def levels(values: Sequence[float]) -> str:
        return "ARRAY[" + ", ".join(_level(p) for p in values) + "]::float8[]"

    return f"""
SELECT feature_id, model_id,{_COMMON_AGGREGATES},
    percentile_disc({levels(LATENCY_LEVELS)}) WITHIN GROUP (ORDER BY latency_ms)
        AS latency_percentiles,
    percentile_disc({levels(TTFT_LEVELS)}) WITHIN GROUP (ORDER BY ttft_ms)
        AS ttft_percentiles
FROM requests
WHERE {_WINDOW_FILTER}
GROUP BY feature_id, model_id
ORDER BY feature_id, model_id
"""


def sqlite_operational_sql() -> str:
    picks = [
        f"MIN(CASE WHEN latency_rank >= {_level(p)} * latency_rows THEN latency_ms END)"
        f" AS latency_{_suffix(p)}_ms"
        for p in LATENCY_LEVELS
    ] + [
        f"MIN(CASE WHEN ttft_ms IS NOT NULL AND ttft_rank >= {_level(p)} * ttft_rows"
        f" THEN ttft_ms END) AS ttft_{_suffix(p)}_ms"
        for p in TTFT_LEVELS
    ]
    pick_columns = ",\n    ".join(picks)
    # The count shares each ordering's window (whole-partition frame), so SQLite sorts
    # the window's rows once per percentile column, not once per window function.
    return f"""
WITH ranked AS (
    SELECT feature_id, model_id, latency_ms, ttft_ms, error, finish_reason,
        input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
        reasoning_tokens, cost_usd,
        ROW_NUMBER() OVER by_latency AS latency_rank,
        COUNT(*) OVER by_latency AS latency_rows,
        ROW_NUMBER() OVER by_ttft AS ttft_rank,
        COUNT(ttft_ms) OVER by_ttft AS ttft_rows
    FROM requests
    WHERE {_WINDOW_FILTER}
    WINDOW
        by_latency AS (PARTITION BY feature_id, model_id ORDER BY latency_ms
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
        by_ttft AS (PARTITION BY feature_id, model_id ORDER BY ttft_ms NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT feature_id, model_id,{_COMMON_AGGREGATES},
    {pick_columns}
FROM ranked
GROUP BY feature_id, model_id
ORDER BY feature_id, model_id
"""


def operational_sql(dialect: str) -> str:
    """The raw SQL of the operational aggregation for one window (``:start``, ``:end``)."""
    if dialect == "postgresql":
        return postgresql_operational_sql()
    if dialect == "sqlite":
        return sqlite_operational_sql()
    raise NotImplementedError(f"no window aggregation SQL for dialect {dialect!r}")


# One row per request that has signals (a request rated twice counts once), then summed
# per feature x model. Starting from the window's requests keeps it proportional to the
# window, not to the whole signals table.
SIGNALS_SQL = """
SELECT feature_id, model_id,
    SUM(thumbs_up) AS thumbs_up,
    SUM(thumbs_down) AS thumbs_down,
    SUM(CASE WHEN thumbs_up = 1 OR thumbs_down = 1 THEN 1 ELSE 0 END) AS explicit_count,
    SUM(correction) AS correction_count,
    SUM(follow_up) AS follow_up_count,
    SUM(retry) AS retry_count,
    SUM(abandoned) AS abandoned_count
FROM (
    SELECT r.feature_id AS feature_id, r.model_id AS model_id,
        MAX(CASE WHEN s.signal_type = 'thumbs_up' THEN 1 ELSE 0 END) AS thumbs_up,
        MAX(CASE WHEN s.signal_type = 'thumbs_down' THEN 1 ELSE 0 END) AS thumbs_down,
        MAX(CASE WHEN s.signal_type = 'correction' THEN 1 ELSE 0 END) AS correction,
        MAX(CASE WHEN s.signal_type = 'follow_up' THEN 1 ELSE 0 END) AS follow_up,
        MAX(CASE WHEN s.signal_type = 'retry' THEN 1 ELSE 0 END) AS retry,
        MAX(CASE WHEN s.signal_type = 'abandoned' THEN 1 ELSE 0 END) AS abandoned
    FROM requests r
    JOIN user_signals s ON s.request_id = r.request_id
    WHERE r.ts >= :start AND r.ts < :end
    GROUP BY r.feature_id, r.model_id, r.request_id
) per_request
GROUP BY feature_id, model_id
"""


def bound(sql: str) -> TextClause:
    """``sql`` with ``:start``/``:end`` typed as UTC timestamps (stored text on SQLite)."""
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    )
