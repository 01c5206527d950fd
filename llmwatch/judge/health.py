"""Judge health at any volume (SPEC 4.3): a judge that fails often is an incident.

Two views of the same series (``judge_failure`` for the judge model, no feature), so a
failing judge is one incident, not one alert per chart window or per feature:

* the run: the share of unusable answers (parse failures and requests the endpoint
  refused) among this run's settled calls;
* the trailing ``failure_window_hours`` (default a day) of judgements by this judge model,
  by the time they were judged, so a judge that fails on a few calls per run is caught
  once the day holds ``failure_min_n`` of them.

Either share above ``failure_rate_threshold`` (with at least ``failure_min_n`` calls)
raises the alert; the cool-down keeps it to one per ``alert_cooldown_hours``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.settings import JudgeSettings
from llmwatch.warehouse.models import Judgement

FLOW_NAME = "sample-and-judge"
METRIC = "judge_failure_rate"
# Failure reasons quoted in the alert (the most frequent first).
TOP_REASONS = 3


@dataclass(frozen=True)
class FailureShare:
    scope: str  # 'run' or 'trailing'
    failures: int
    total: int

    @property
    def rate(self) -> float:
        return self.failures / self.total if self.total else 0.0


def judge_health_alerts(
    engine: Engine,
    cfg: JudgeSettings,
    *,
    judge_model: str,
    run_failures: int,
    run_total: int,
    now: datetime,
) -> list[int]:
    """Check the run and the trailing window; store at most one alert. Returns its id."""
    since = now - timedelta(hours=cfg.failure_window_hours)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Judgement.status, Judgement.failure_reason, func.count())
            .where(
                Judgement.judge_model == judge_model,
                Judgement.rubric_version == cfg.rubric_version,
                Judgement.judged_at >= since,
                Judgement.judged_at <= now,
            )
            .group_by(Judgement.status, Judgement.failure_reason)
        ).all()
    reasons: Counter[str] = Counter()
    trailing_total = trailing_failures = 0
    for status, reason, count in rows:
        trailing_total += count
        if status != "ok":
            trailing_failures += count
            reasons[_short(reason)] += count
    shares = [
        FailureShare("run", run_failures, run_total),
        FailureShare("trailing", trailing_failures, trailing_total),
    ]
    failing = [
        s for s in shares if s.total >= cfg.failure_min_n and s.rate > cfg.failure_rate_threshold
    ]
    if not failing:
        return []
    worst = max(failing, key=lambda s: (s.rate, s.total))
    alert = _alert(cfg, judge_model, worst, shares, reasons, since, now)
    with engine.begin() as conn:
        return record_alerts(
            conn, [alert], cooldown=timedelta(hours=cfg.alert_cooldown_hours), now=now
        )


def _short(reason: str | None) -> str:
    text = (reason or "unknown").split(":")[0].strip()
    return text[:120]


def _alert(
    cfg: JudgeSettings,
    judge_model: str,
    worst: FailureShare,
    shares: list[FailureShare],
    reasons: Counter[str],
    since: datetime,
    now: datetime,
) -> NewAlert:
    scope = "this run" if worst.scope == "run" else f"the last {cfg.failure_window_hours:g} h"
    top = ", ".join(f"{reason} ({n})" for reason, n in reasons.most_common(TOP_REASONS))
    return NewAlert(
        kind="judge_failure",
        flow=FLOW_NAME,
        severity="warning",
        model_id=judge_model,
        metric=METRIC,
        value=worst.rate,
        threshold=cfg.failure_rate_threshold,
        # Both scopes anchor on the trailing window, so the cool-down sees one series.
        window_start=since,
        window_end=now,
        message=(
            f"judge {judge_model}: {worst.failures} of {worst.total} answers unusable in "
            f"{scope} ({worst.rate:.0%} > {cfg.failure_rate_threshold:.0%}); their samples "
            f"are not charted" + (f". Most frequent: {top}" if top else "")
        ),
        details={
            "scope": worst.scope,
            **{f"{s.scope}_failures": s.failures for s in shares},
            **{f"{s.scope}_total": s.total for s in shares},
            "window_hours": cfg.failure_window_hours,
            "reasons": dict(reasons.most_common(TOP_REASONS)),
            "rubric_version": cfg.rubric_version,
        },
    )
