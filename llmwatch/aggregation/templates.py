"""Spend per window x feature x model x prompt template, for the site's top spenders.

``window_metrics`` has no template dimension, and adding one there would multiply every
percentile query by the templates of a window. The site only needs counts and cost by
template, so the hourly job writes this small table beside the window, in the same
transaction and under the same cardinality fold (features, models and templates beyond
``cost.max_distinct_per_window`` are ``__other__``). Raw requests are not a substitute:
retention deletes them (``retention.keep_raw_days``), aggregates stay; and summing them
is slow (``bench/site.py --raw-reference``: 82 s for the three ranges over the 7.5 M
requests of 30 days x 10 features x 3 models on SQLite, against 0.38 s for every read
the site makes from the aggregates).

A request without a template is stored under ``NO_TEMPLATE`` ("", shown as such).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert

from llmwatch.aggregation.cardinality import window_fold
from llmwatch.aggregation.queries import bound
from llmwatch.aggregation.windows import WINDOW
from llmwatch.warehouse.models import WindowTemplateSpend

NO_TEMPLATE = ""
_TABLE: Table = WindowTemplateSpend.__table__  # type: ignore[assignment]

_SQL = """
SELECT feature_id, model_id, COALESCE(prompt_template_id, '') AS prompt_template_id,
    COUNT(*) AS request_count, SUM(cost_usd) AS cost_total_usd,
    COUNT(cost_usd) AS priced_count
FROM {source}
WHERE ts >= :start AND ts < :end
GROUP BY feature_id, model_id, COALESCE(prompt_template_id, '')
"""


def template_spend_rows(conn: Connection, window_start: datetime, cap: int) -> list[dict[str, Any]]:
    """The rows of one window, one per feature x model x template with requests."""
    fold = window_fold(conn, window_start, cap)
    params = {"start": window_start, "end": window_start + WINDOW, **fold.params()}
    out = []
    for row in conn.execute(bound(_SQL.format(source=fold.source())), params).mappings():
        priced = int(row["priced_count"])
        out.append(
            {
                "window_start": window_start,
                "feature_id": row["feature_id"],
                "model_id": row["model_id"],
                "prompt_template_id": row["prompt_template_id"],
                "request_count": int(row["request_count"]),
                # NULL when nothing was priced: an unpriced request is never free.
                "cost_total_usd": float(row["cost_total_usd"]) if priced else None,
                "unpriced_count": int(row["request_count"]) - priced,
            }
        )
    return out


def replace_template_spend(conn: Connection, window_start: datetime, cap: int) -> int:
    """Recompute the window's rows from its requests and replace the stored ones (call it
    in the transaction that replaces the window's metrics); returns the rows written."""
    conn.execute(delete(_TABLE).where(_TABLE.c.window_start == window_start))
    rows = template_spend_rows(conn, window_start, cap)
    if rows:
        conn.execute(insert(_TABLE), rows)
    return len(rows)
