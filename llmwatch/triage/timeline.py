"""Isolate: what changed near the alert.

Model ids, provider ``system_fingerprint``s and prompt templates seen for the first time
(first over the whole history, not just the timeline span), canary and golden runs, the
judge's calibration runs (a quality alert may be the judge's, not the application's), and
the other alerts. Each event says whether it touches the alert's feature or model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from llmwatch.warehouse.models import (
    Alert,
    CanaryResult,
    CanaryRun,
    GoldenRun,
    JudgeCalibrationRun,
    Request,
)


@dataclass
class Event:
    at: datetime
    kind: str
    summary: str
    feature_id: str | None = None
    model_id: str | None = None
    related: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def timeline(
    conn: Connection,
    start: datetime,
    end: datetime,
    *,
    alert_id: int,
    feature_id: str | None,
    model_id: str | None,
) -> list[Event]:
    """Events in [start, end), oldest first."""
    events = [
        *_first_seen_models(conn, start, end),
        *_first_seen_request_fingerprints(conn, start, end),
        *_first_seen_templates(conn, start, end),
        *_first_seen_canary_fingerprints(conn, start, end),
        *_canary_runs(conn, start, end),
        *_golden_runs(conn, start, end),
        *_judge_calibration_runs(conn, start, end),
        *_other_alerts(conn, start, end, alert_id),
    ]
    for event in events:
        event.related = bool(
            (model_id and event.model_id == model_id)
            or (feature_id and event.feature_id == feature_id)
        )
    events.sort(key=lambda e: (e.at, e.kind, e.summary))
    return events


def _first_seen_models(conn: Connection, start: datetime, end: datetime) -> list[Event]:
    first = func.min(Request.ts)
    query = (
        select(Request.model_id, first, func.min(Request.feature_id))
        .group_by(Request.model_id)
        .having(first >= start, first < end)
    )
    return [
        Event(at, "new_model", f"model {model} seen for the first time", feature, model)
        for model, at, feature in conn.execute(query)
    ]


def _first_seen_request_fingerprints(
    conn: Connection, start: datetime, end: datetime
) -> list[Event]:
    fingerprint = Request.metadata_json["system_fingerprint"].as_string()
    first = func.min(Request.ts)
    query = (
        select(Request.model_id, fingerprint, first, func.count())
        .where(fingerprint.is_not(None))
        .group_by(Request.model_id, fingerprint)
        .having(first >= start, first < end)
    )
    return [
        Event(
            at,
            "new_system_fingerprint",
            f"{model} answered with system_fingerprint {fp} for the first time (in live traffic)",
            None,
            model,
            details={"system_fingerprint": fp, "requests_since": int(n)},
        )
        for model, fp, at, n in conn.execute(query)
    ]


def _first_seen_templates(conn: Connection, start: datetime, end: datetime) -> list[Event]:
    first = func.min(Request.ts)
    query = (
        select(Request.prompt_template_id, Request.feature_id, first)
        .where(Request.prompt_template_id.is_not(None))
        .group_by(Request.prompt_template_id, Request.feature_id)
        .having(first >= start, first < end)
    )
    return [
        Event(
            at,
            "new_prompt_template",
            f"prompt template {template} first used by {feature}",
            feature,
            details={"prompt_template_id": template},
        )
        for template, feature, at in conn.execute(query)
    ]


def _first_seen_canary_fingerprints(
    conn: Connection, start: datetime, end: datetime
) -> list[Event]:
    first = func.min(CanaryRun.started_at)
    query = (
        select(CanaryRun.target, CanaryRun.model_id, CanaryResult.system_fingerprint, first)
        .join(CanaryResult, CanaryResult.run_id == CanaryRun.run_id)
        .where(CanaryResult.system_fingerprint.is_not(None))
        .group_by(CanaryRun.target, CanaryRun.model_id, CanaryResult.system_fingerprint)
        .having(first >= start, first < end)
    )
    return [
        Event(
            at,
            "new_system_fingerprint",
            f"canary target {target} ({model}) answered with system_fingerprint {fp} "
            f"for the first time",
            None,
            model,
            details={"system_fingerprint": fp, "target": target, "source": "canary"},
        )
        for target, model, fp, at in conn.execute(query)
    ]


def _canary_runs(conn: Connection, start: datetime, end: datetime) -> list[Event]:
    query = select(CanaryRun).where(CanaryRun.started_at >= start, CanaryRun.started_at < end)
    out = []
    for run in conn.execute(query).mappings():
        summary = run["summary"] or {}
        rate = summary.get("pass_rate")
        rate_text = f", pass rate {rate:.0%}" if isinstance(rate, (int, float)) else ""
        out.append(
            Event(
                run["started_at"],
                "canary_run",
                f"canary run of {run['target']} ({run['model_id']}): {run['status']}{rate_text}",
                None,
                run["model_id"],
                details={"run_id": run["run_id"], "status": run["status"], "target": run["target"]},
            )
        )
    return out


def _golden_runs(conn: Connection, start: datetime, end: datetime) -> list[Event]:
    query = select(GoldenRun).where(GoldenRun.started_at >= start, GoldenRun.started_at < end)
    out = []
    for run in conn.execute(query).mappings():
        rate = run["pass_rate"]
        rate_text = f", pass rate {rate:.0%}" if rate is not None else ""
        out.append(
            Event(
                run["started_at"],
                "golden_run",
                f"golden run of {run['target']} ({run['model_id']}): {run['status']}, "
                f"{run['n_passed']}/{run['n_examples']} passed{rate_text}",
                None,
                run["model_id"],
                details={"run_id": run["run_id"], "status": run["status"], "target": run["target"]},
            )
        )
    return out


def _judge_calibration_runs(conn: Connection, start: datetime, end: datetime) -> list[Event]:
    table = JudgeCalibrationRun.__table__
    query = select(table).where(table.c.run_at >= start, table.c.run_at < end)
    out = []
    for run in conn.execute(query).mappings():
        accuracy = "n/a" if run["accuracy"] is None else f"{run['accuracy']:.3f}"
        kappa = "n/a" if run["kappa"] is None else f"{run['kappa']:.3f}"
        out.append(
            Event(
                run["run_at"],
                "judge_calibration",
                f"judge calibration of {run['judge_model']}: accuracy {accuracy}, kappa "
                f"{kappa} on {run['n_judged']}/{run['n_items']} known verdicts, "
                f"{run['verdict']}",
                None,
                run["judge_model"],
                details={"run_id": run["id"], "verdict": run["verdict"]},
            )
        )
    return out


def _other_alerts(conn: Connection, start: datetime, end: datetime, alert_id: int) -> list[Event]:
    query = select(Alert).where(
        Alert.id != alert_id,
        or_(
            Alert.window_start.between(start, end),
            (Alert.window_start.is_(None) & Alert.created_at.between(start, end)),
        ),
    )
    out = []
    for a in conn.execute(query).mappings():
        out.append(
            Event(
                a["window_start"] or a["created_at"],
                "alert",
                f"alert #{a['id']} {a['kind']} ({a['severity']}): {a['message']}",
                a["feature_id"],
                a["model_id"],
                details={"alert_id": a["id"], "kind": a["kind"], "metric": a["metric"]},
            )
        )
    return out
