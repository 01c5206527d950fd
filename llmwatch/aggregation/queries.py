"""The window aggregation SQL, pushed into the database.

Percentiles follow ``llmwatch.stats.percentiles`` (nearest rank, ``k = ceil(p * n)``,
NULLs ignored):

* PostgreSQL: one statement; ``percentile_disc(ARRAY[...]) WITHIN GROUP (ORDER BY x)``
  sorts each column once for all its levels, and this ordered-set aggregate is exactly
  that definition.
* SQLite has no ordered-set aggregates. The job runs a plain ``GROUP BY`` for counts
  and sums (which also gives each group's number of non-NULL values), then, per
  percentile column, lets SQLite sort the window's values by group and value and
  streams that narrow sorted result in batches, keeping only the rows at the wanted
  ranks (``stats.percentiles.grouped_nearest_ranks``): the sorting is SQLite's, Python
  memory stays constant. The statements run in one read transaction, so counts and
  values come from the same snapshot.
* ``sqlite_window_sql`` states the same SQLite computation as a single pure-SQL query
  with window functions (pick the smallest value whose row number ``r`` satisfies
  ``r >= p * n``; for integers that is ``r >= ceil(p * n)``, and ``p * n`` is the same
  double product PostgreSQL takes the ceiling of). It is about twice as slow as the
  streamed form, so the job does not use it; tests and the benchmark hold the job
  against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import TextClause, bindparam, text

from llmwatch.warehouse.types import UTCDateTime


@dataclass(frozen=True)
class PercentileColumn:
    """Percentiles of one SQL expression; columns are named ``{key}_p{NN}{suffix}``."""

    key: str
    expression: str
    levels: tuple[float, ...]
    suffix: str = ""

    def names(self) -> list[str]:
        return [f"{self.key}_p{round(p * 100):d}{self.suffix}" for p in self.levels]


PERCENTILE_COLUMNS = (
    PercentileColumn("latency", "latency_ms", (0.5, 0.95, 0.99), "_ms"),
    PercentileColumn("ttft", "ttft_ms", (0.5, 0.95), "_ms"),
    # Medians per request for the spike rules: one very long session moves a mean, not these.
    PercentileColumn("total_tokens", "input_tokens + output_tokens", (0.5,)),
    PercentileColumn("cost", "cost_usd", (0.5,), "_usd"),
)
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
# The dimension value the tail of a window's features or models is folded into.
OTHER = "__other__"
_SOURCE_COLUMNS = (
    "request_id, ts, latency_ms, ttft_ms, error, finish_reason, input_tokens, "
    "output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd"
)
# Templates are folded like features and models; a request without one keeps NULL.
NO_TEMPLATE_FOLD = "prompt_template_id IS NULL OR "


def folded_source(
    kept_features: int | None, kept_models: int | None, kept_templates: int | None = None
) -> str:
    """The window's requests with every feature (model, prompt template) but the
    ``:kf_<i>`` (``:km_<i>``, ``:kt_<i>``) parameters renamed to OTHER; None keeps that
    dimension as it is. The aggregation
    statements read it in place of the ``requests`` table, so the folded tail is one
    group whose percentiles are those of its requests, not an average of averages."""

    def folded(column: str, prefix: str, kept: int | None, keep_null: str = "") -> str:
        if kept is None:
            return column
        names = ", ".join(f":{prefix}_{i}" for i in range(kept)) or "NULL"
        return f"CASE WHEN {keep_null}{column} IN ({names}) THEN {column} ELSE '{OTHER}' END"

    return f"""(
    SELECT {_SOURCE_COLUMNS},
        {folded("feature_id", "kf", kept_features)} AS feature_id,
        {folded("model_id", "km", kept_models)} AS model_id,
        {folded("prompt_template_id", "kt", kept_templates, NO_TEMPLATE_FOLD)}
            AS prompt_template_id
    FROM requests
    WHERE {_WINDOW_FILTER}
) AS requests"""


def _level(p: float) -> str:
    # repr() of a float round-trips, so the database parses the very same double.
    return repr(float(p))


def percentile_column_names() -> list[str]:
    return [name for column in PERCENTILE_COLUMNS for name in column.names()]


def postgresql_operational_sql(source: str = "requests") -> str:
    """Everything in one statement: counts, sums and percentile arrays per group."""

    def levels(values: Sequence[float]) -> str:
        return "ARRAY[" + ", ".join(_level(p) for p in values) + "]::float8[]"

    percentiles = ",\n    ".join(
        f"percentile_disc({levels(c.levels)}) WITHIN GROUP (ORDER BY {c.expression})"
        f" AS {c.key}_percentiles"
        for c in PERCENTILE_COLUMNS
    )
    return f"""
SELECT feature_id, model_id,{_COMMON_AGGREGATES},
    {percentiles}
FROM {source}
WHERE {_WINDOW_FILTER}
GROUP BY feature_id, model_id
ORDER BY feature_id, model_id
"""


def sqlite_summary_sql(source: str = "requests") -> str:
    """Counts and sums per group, and each percentile column's non-NULL count."""
    counts = ",\n    ".join(f"COUNT({c.expression}) AS {c.key}_rows" for c in PERCENTILE_COLUMNS)
    return f"""
SELECT feature_id, model_id,{_COMMON_AGGREGATES},
    {counts}
FROM {source}
WHERE {_WINDOW_FILTER}
GROUP BY feature_id, model_id
ORDER BY feature_id, model_id
"""


def sqlite_sorted_values_sql(column: PercentileColumn, source: str = "requests") -> str:
    """The window's non-NULL values of ``column``, sorted by group (in the summary's
    order) and value."""
    value = column.expression
    return f"""
SELECT {value}
FROM {source}
WHERE {_WINDOW_FILTER} AND ({value}) IS NOT NULL
ORDER BY feature_id, model_id, {value}
"""


def sqlite_window_sql() -> str:
    """The whole SQLite aggregation as one pure-SQL statement (reference; see above)."""
    picks = [
        f"MIN(CASE WHEN {c.key}_value IS NOT NULL AND {c.key}_rank >= {_level(p)} * {c.key}_rows"
        f" THEN {c.key}_value END) AS {name}"
        for c in PERCENTILE_COLUMNS
        for p, name in zip(c.levels, c.names(), strict=True)
    ]
    values = ",\n        ".join(f"{c.expression} AS {c.key}_value" for c in PERCENTILE_COLUMNS)
    ranks = ",\n        ".join(
        f"ROW_NUMBER() OVER by_{c.key} AS {c.key}_rank,"
        f" COUNT({c.expression}) OVER by_{c.key} AS {c.key}_rows"
        for c in PERCENTILE_COLUMNS
    )
    windows = ",\n        ".join(
        f"by_{c.key} AS (PARTITION BY feature_id, model_id ORDER BY {c.expression} NULLS LAST"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
        for c in PERCENTILE_COLUMNS
    )
    pick_columns = ",\n    ".join(picks)
    return f"""
WITH ranked AS (
    SELECT feature_id, model_id, latency_ms, ttft_ms, error, finish_reason,
        input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
        reasoning_tokens, cost_usd,
        {values},
        {ranks}
    FROM requests
    WHERE {_WINDOW_FILTER}
    WINDOW
        {windows}
)
SELECT feature_id, model_id,{_COMMON_AGGREGATES},
    {pick_columns}
FROM ranked
GROUP BY feature_id, model_id
ORDER BY feature_id, model_id
"""


# One row per request that has signals (a request rated twice counts once), then summed
# per feature x model. Starting from the window's requests keeps it proportional to the
# window, not to the whole signals table.
def signals_sql(source: str = "requests") -> str:
    """SIGNALS_SQL reading ``source`` (see folded_source) for the window's requests."""
    return SIGNALS_SQL.replace("FROM requests r", f"FROM {source.removesuffix(' AS requests')} r")


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
