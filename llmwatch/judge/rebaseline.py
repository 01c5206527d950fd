"""Re-baselining a feature's quality charts after an accepted change (a new model or
prompt that is meant to score differently): the chart starts a new baseline from a given
instant, its later points are charted again against it, and the request is recorded in
``chart_rebaselines`` (who asked is the caller's audit trail; when, from when and what
baseline was replaced are kept here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, insert, select

from llmwatch.judge.quality import METRIC, chart_params, window_floor
from llmwatch.settings import JudgeSettings
from llmwatch.stats.ewma import load_chart, save_rebaseline
from llmwatch.warehouse.models import ChartRebaseline, ChartState


class NoChartError(LookupError):
    """The feature has no quality chart yet."""


@dataclass(frozen=True)
class Rebaselined:
    chart_id: str
    since: datetime
    previous_phase: str
    previous_mu0: float | None


def rebaseline_feature(
    engine: Engine,
    cfg: JudgeSettings,
    feature_id: str,
    *,
    since: datetime | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[Rebaselined]:
    """Start a new baseline at the window holding ``since`` (default: now) for every
    quality chart of ``feature_id``; one transaction."""
    now = now or datetime.now(UTC)
    start = window_floor(since or now, timedelta(minutes=cfg.chart_window_minutes))
    done: list[Rebaselined] = []
    with engine.begin() as conn:
        chart_ids = list(
            conn.execute(
                select(ChartState.chart_id)
                .where(ChartState.feature_id == feature_id, ChartState.metric == METRIC)
                .order_by(ChartState.chart_id)
            ).scalars()
        )
        if not chart_ids:
            raise NoChartError(f"feature {feature_id!r} has no quality chart yet")
        for chart_id in chart_ids:
            chart = load_chart(conn, chart_id, chart_params(cfg))
            assert chart is not None
            record = Rebaselined(chart_id, start, chart.phase, chart.mu0)
            chart.rebaseline(start)
            save_rebaseline(conn, chart, now)
            conn.execute(
                insert(cast(Table, ChartRebaseline.__table__)).values(
                    chart_id=chart_id,
                    feature_id=feature_id,
                    requested_at=now,
                    since=start,
                    previous_mu0=record.previous_mu0,
                    previous_phase=record.previous_phase,
                    reason=reason,
                )
            )
            done.append(record)
    return done
