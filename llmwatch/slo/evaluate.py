"""Burn-rate evaluation on the raw request records, every few minutes (SPEC 4.2).

At an instant ``now`` every feature with traffic in the longest alert window is counted,
per SLO, over each rule's long and short window (the short one reaching back to the last
``min_bad_events`` events when it holds fewer) and over the budget period. A firing rule
raises ``slo_breach`` (page: critical, ticket: warning), one per series and cool-down,
its window running from the first bad event of the long window to the evaluation; the
burn rates and the remaining budget of every SLO are stored in ``slo_status`` for the
exporter and the dashboard.

Evaluating an instant only reads records before it, so a back-fill over a range gives
the alerts a live schedule on the same step would have given (the schedule runs every
minute, a back-fill steps ``slo.step_minutes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, case, delete, func, insert, select, true

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.settings import SloSettings
from llmwatch.slo.objectives import Objective, objectives_for
from llmwatch.slo.rules import BurnRule, Counts, burn_rate, burn_rules, extend_short, fires
from llmwatch.warehouse.models import Request, SloStatus

FLOW = "slo-burn"
# Rows read per feature to find the last few events of each SLO (TTFT is often absent).
LAST_ROWS = 200


@dataclass
class SloReport:
    evaluated_at: datetime
    features: int = 0
    firing: list[str] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)


def evaluation_times(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """Instants on the step grid in (start, end]: what a schedule would have evaluated."""
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    at = epoch + ((start - epoch) // step + 1) * step
    while at <= end:
        yield at
        at += step


def evaluate_slos(
    engine: Engine, cfg: SloSettings, now: datetime, *, store_status: bool = True
) -> SloReport:
    """Evaluate every SLO of every active feature at ``now``; store alerts, and the status
    (burn rates, remaining budget) unless ``store_status`` is false: a back-fill only
    needs the status of its last instant, and the budget period is the costly read."""
    rules = burn_rules(cfg)
    longest = max(r.long for r in rules)
    windows = {r.long for r in rules} | {r.short for r in rules}
    budget_window = timedelta(days=cfg.budget_days)
    if store_status:
        windows.add(budget_window)
    report = SloReport(now)
    alerts: list[NewAlert] = []
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        active = set(
            conn.execute(
                select(Request.feature_id)
                .distinct()
                .where(Request.ts >= now - longest, Request.ts < now)
            ).scalars()
        )
        # One grouped query per window for the features on the default objectives, one
        # per window and feature for those with overrides.
        default = objectives_for("", cfg)
        counts: dict[timedelta, dict[str, dict[str, Counts]]] = {}
        for w in windows:
            counts[w] = _counts(conn, None, default, now - w, now)
            for feature in sorted(active & set(cfg.overrides)):
                own = _counts(conn, feature, objectives_for(feature, cfg), now - w, now)
                counts[w][feature] = own.get(feature, {})
        for feature in sorted(active):
            objectives = objectives_for(feature, cfg)
            by_window = {w: counts[w].get(feature, {}) for w in windows}
            feature_alerts, feature_rows = _evaluate_feature(
                conn, cfg, rules, feature, objectives, by_window, budget_window, now
            )
            alerts += feature_alerts
            rows += feature_rows
    report.features = len(active)
    report.firing = [f"{a.feature_id}/{a.metric}/{a.series_suffix}" for a in alerts]
    with engine.begin() as conn:
        status = cast(Table, SloStatus.__table__)
        for row in rows if store_status else []:
            conn.execute(
                delete(status).where(
                    and_(status.c.feature_id == row["feature_id"], status.c.slo == row["slo"])
                )
            )
            conn.execute(insert(status), row)
        report.alert_ids = record_alerts(
            conn, alerts, cooldown=timedelta(hours=cfg.cooldown_hours), now=now
        )
    return report


def _evaluate_feature(
    conn: Connection,
    cfg: SloSettings,
    rules: tuple[BurnRule, ...],
    feature: str,
    objectives: list[Objective],
    counts: dict[timedelta, dict[str, Counts]],
    budget_window: timedelta,
    now: datetime,
) -> tuple[list[NewAlert], list[dict[str, Any]]]:
    empty = Counts(0, 0)
    last: dict[str, Counts] | None = None
    alerts: list[NewAlert] = []
    rows: list[dict[str, Any]] = []
    for objective in objectives:
        slo = objective.slo
        burns = {
            _label(w): burn_rate(c.get(slo, empty), objective.objective) for w, c in counts.items()
        }
        firing: dict[str, bool] = {}
        for rule in rules:
            long = counts[rule.long].get(slo, empty)
            short = counts[rule.short].get(slo, empty)
            if short.events < rule.min_bad:
                if last is None:
                    last = _last_counts(
                        conn, feature, objectives, now, max(r.long for r in rules), cfg
                    )
                short = extend_short(short, last[slo], rule.min_bad)
            firing[rule.name] = bool(fires(rule, objective.objective, long, short))
            if firing[rule.name]:
                began, model = _bad_stretch(conn, feature, objective, now - rule.long, now)
                alerts.append(_alert(feature, model, objective, rule, long, short, began, now))
        spent = counts.get(budget_window, {}).get(slo, empty)
        allowed = (1.0 - objective.objective) * spent.events
        rows.append(
            {
                "feature_id": feature,
                "slo": slo,
                "evaluated_at": now,
                "objective": objective.objective,
                "threshold_ms": objective.threshold_ms,
                "budget_days": cfg.budget_days,
                "events": int(spent.events),
                "bad_events": int(spent.bad),
                "remaining_budget": 1.0 - spent.bad / allowed if allowed > 0 else None,
                "burn_rates": {k: (None if v != v else round(v, 4)) for k, v in burns.items()},
                "paging": firing.get("page", False),
                "ticketing": firing.get("ticket", False),
            }
        )
    return alerts, rows


def _label(window: timedelta) -> str:
    minutes = window.total_seconds() / 60
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes / 1440:g}d"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g}h"
    return f"{minutes:g}m"


def _bad_conditions(objectives: list[Objective]) -> dict[str, tuple[Any, Any]]:
    """SLO -> (is an event, is a bad event) as SQL conditions (module docstring SLIs)."""
    ok = Request.error.is_(None)
    out: dict[str, tuple[Any, Any]] = {}
    for o in objectives:
        if o.slo == "latency":
            out["latency"] = (ok, and_(ok, Request.latency_ms > o.threshold_ms))
        elif o.slo == "ttft":
            has = and_(ok, Request.ttft_ms.is_not(None))
            out["ttft"] = (has, and_(has, Request.ttft_ms > o.threshold_ms))
        else:
            out["errors"] = (true(), Request.error.is_not(None))
    return out


def _counts(
    conn: Connection,
    feature: str | None,
    objectives: list[Objective],
    since: datetime,
    until: datetime,
) -> dict[str, dict[str, Counts]]:
    """feature -> SLO -> counts in [since, until), for one feature or all of them."""
    conditions = _bad_conditions(objectives)
    columns: list[Any] = [Request.feature_id]
    for slo, (event, bad) in conditions.items():
        columns.append(func.sum(case((event, 1), else_=0)).label(f"{slo}_events"))
        columns.append(func.sum(case((bad, 1), else_=0)).label(f"{slo}_bad"))
    query = select(*columns).where(Request.ts >= since, Request.ts < until)
    if feature is not None:
        query = query.where(Request.feature_id == feature)
    out: dict[str, dict[str, Counts]] = {}
    for row in conn.execute(query.group_by(Request.feature_id)).mappings():
        out[row["feature_id"]] = {
            slo: Counts(int(row[f"{slo}_events"] or 0), int(row[f"{slo}_bad"] or 0))
            for slo in conditions
        }
    return out


def _last_counts(
    conn: Connection,
    feature: str,
    objectives: list[Objective],
    now: datetime,
    longest: timedelta,
    cfg: SloSettings,
) -> dict[str, Counts]:
    """Events and bad events among each SLO's last ``min_bad_events`` events."""
    rows = conn.execute(
        select(Request.latency_ms, Request.ttft_ms, Request.error)
        .where(Request.feature_id == feature, Request.ts >= now - longest, Request.ts < now)
        .order_by(Request.ts.desc())
        .limit(LAST_ROWS)
    ).all()
    k = cfg.min_bad_events
    out: dict[str, Counts] = {}
    for o in objectives:
        flags: list[bool] = []
        for latency, ttft, error in rows:
            if len(flags) == k:
                break
            if o.slo == "errors":
                flags.append(error is not None)
            elif error is None and o.slo == "latency":
                flags.append(latency > (o.threshold_ms or 0))
            elif error is None and ttft is not None:
                flags.append(ttft > (o.threshold_ms or 0))
        out[o.slo] = Counts(len(flags), sum(flags))
    return out


def _bad_stretch(
    conn: Connection, feature: str, objective: Objective, since: datetime, until: datetime
) -> tuple[datetime, str | None]:
    """The first bad event of the window (to the minute), where the alert's window starts
    so triage compares the burning stretch with what came before it; and the model with
    the most bad events (the SLO is the feature's, the cause is often one model)."""
    _, bad = _bad_conditions([objective])[objective.slo]
    rows = conn.execute(
        select(Request.model_id, func.count(), func.min(Request.ts))
        .where(Request.feature_id == feature, Request.ts >= since, Request.ts < until, bad)
        .group_by(Request.model_id)
    ).all()
    if not rows:
        return since, None
    first = min(r[2] for r in rows)
    model = min(rows, key=lambda r: (-r[1], r[0]))[0]
    return first.replace(second=0, microsecond=0), model


def _alert(
    feature: str,
    model: str | None,
    objective: Objective,
    rule: BurnRule,
    long: Counts,
    short: Counts,
    began: datetime,
    now: datetime,
) -> NewAlert:
    rate = burn_rate(long, objective.objective)
    action = "page" if rule.name == "page" else "ticket"
    hours = rule.long.total_seconds() / 3600
    return NewAlert(
        kind="slo_breach",
        flow=FLOW,
        severity=rule.severity,
        feature_id=feature,
        model_id=model,
        metric=f"{objective.slo}_slo_burn",
        value=rate,
        threshold=rule.burn_rate,
        window_start=began,
        window_end=now,
        message=(
            f"{feature}: SLO '{objective.describe()}' burning its error budget {rate:.1f}x "
            f"over {hours:g} h ({long.bad} of {long.events} bad; {short.bad} of "
            f"{short.events} in the short window) - {action} (fast burn >= {rule.burn_rate:g}x)"
            if rule.name == "page"
            else f"{feature}: SLO '{objective.describe()}' burning its error budget "
            f"{rate:.1f}x over {hours:g} h ({long.bad} of {long.events} bad) - {action} "
            f"(slow burn >= {rule.burn_rate:g}x)"
        ),
        details={
            "slo": objective.slo,
            "rule": rule.name,
            "objective": objective.objective,
            "threshold_ms": objective.threshold_ms,
            "long_window_minutes": rule.long.total_seconds() / 60,
            "short_window_minutes": rule.short.total_seconds() / 60,
            "long_events": int(long.events),
            "long_bad": int(long.bad),
            "short_events": int(short.events),
            "short_bad": int(short.bad),
        },
        series_suffix=rule.name,
    )
