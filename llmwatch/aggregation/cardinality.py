"""Cardinality guard: at most ``max_distinct_per_window`` features, as many models and
as many prompt templates per window.

An application that puts a user or document id in ``feature_id`` would otherwise make
every window, chart, page and exported series grow with its users. The busiest values
(by requests in the window, ties by name) keep their rows; the rest are folded into one
``__other__`` row per window (its percentiles computed over its requests), with a
warning and an ``ingest_rejects`` alert naming how many were folded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from llmwatch.aggregation.queries import OTHER, folded_source
from llmwatch.aggregation.windows import WINDOW
from llmwatch.alerts import NewAlert
from llmwatch.warehouse.models import Request

log = logging.getLogger(__name__)
DIMENSIONS = (
    (Request.feature_id, "features"),
    (Request.model_id, "models"),
    (Request.prompt_template_id, "templates"),
)


@dataclass
class Fold:
    """Which values of a window keep their own rows; None: all of them."""

    kept_features: list[str] | None = None
    kept_models: list[str] | None = None
    kept_templates: list[str] | None = None
    folded_features: int = 0
    folded_models: int = 0
    folded_templates: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any(
            kept is not None for kept in (self.kept_features, self.kept_models, self.kept_templates)
        )

    def source(self) -> str:
        if not self.active:
            return "requests"
        return folded_source(
            None if self.kept_features is None else len(self.kept_features),
            None if self.kept_models is None else len(self.kept_models),
            None if self.kept_templates is None else len(self.kept_templates),
        )

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dimensions = (
            ("kf", self.kept_features),
            ("km", self.kept_models),
            ("kt", self.kept_templates),
        )
        for prefix, kept in dimensions:
            out.update({f"{prefix}_{i}": value for i, value in enumerate(kept or [])})
        return out


def window_fold(conn: Connection, window_start: datetime, cap: int) -> Fold:
    """The fold of one window under ``cap`` distinct values per dimension (OTHER counts
    as one of them). Requests without a template are not a template: never folded."""
    fold = Fold()
    for column, name in DIMENSIONS:
        counts = conn.execute(
            select(column, func.count())
            .where(Request.ts >= window_start, Request.ts < window_start + WINDOW)
            .where(column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
        ).all()
        if len(counts) <= cap:
            continue
        kept = [value for value, _ in counts[: cap - 1] if value != OTHER]
        folded = [value for value, _ in counts[cap - 1 :]]
        setattr(fold, f"kept_{name}", kept)
        setattr(fold, f"folded_{name}", len(folded))
        fold.examples[name] = folded[:5]
        log.warning(
            "window %s: %d distinct %s, over the cap of %d: %d folded into %s",
            window_start.isoformat(), len(counts), name, cap, len(folded), OTHER,
        )  # fmt: skip
    return fold


def cardinality_alerts(conn: Connection, window_start: datetime, cap: int) -> list[NewAlert]:
    """One alert per dimension whose tail was folded in this window."""
    fold = window_fold(conn, window_start, cap)
    alerts = []
    for _, name in DIMENSIONS:
        folded = getattr(fold, f"folded_{name}")
        if not folded:
            continue
        examples = ", ".join(fold.examples[name][:3])
        alerts.append(
            NewAlert(
                kind="ingest_rejects",
                flow="cost",
                severity="warning",
                metric=f"folded_{name}",
                value=float(folded),
                threshold=float(cap),
                window_start=window_start,
                window_end=window_start + WINDOW,
                message=(
                    f"{folded} {name} beyond the cap of {cap} distinct per window were "
                    f"folded into {OTHER} (e.g. {examples}); is an id in that field?"
                ),
                details={"folded": folded, "cap": cap, "examples": fold.examples[name]},
            )
        )
    return alerts
