"""Alerts (SPEC 3.5): stored first, de-duplicated per series with a cool-down.

The cool-down is measured on the alert's window, not on the wall clock, so re-running
or back-filling a window never alerts twice for the same condition, while a condition
that comes back after the cool-down alerts again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from llmwatch.incidents import join_incident, quiet_age, touch_incident
from llmwatch.redact import redact, redact_json
from llmwatch.settings import get_settings
from llmwatch.warehouse.models import Alert, Incident

ALERT_KINDS = frozenset(
    {
        "slo_breach",
        "cost_anomaly",
        "token_spike",
        "quality_regression",
        "judge_failure",
        "judge_drift",
        "canary_regression",
        "golden_regression",
        "input_drift",
        "survivorship_bias",
        "ingest_rejects",
        "delivery_failure",
    }
)
SEVERITIES = frozenset({"info", "warning", "critical"})
DEFAULT_COOLDOWN = timedelta(hours=6)


@dataclass(frozen=True)
class NewAlert:
    kind: str
    flow: str
    message: str
    severity: str = "warning"
    feature_id: str | None = None
    model_id: str | None = None
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Extra discriminator for the series (e.g. a probe id or a file fingerprint).
    series_suffix: str = ""
    # Part of the incident's group beside kind x feature x model (a channel's name).
    scope: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def series_key(self) -> str:
        parts = [self.kind, self.feature_id or "", self.model_id or "", self.metric or ""]
        if self.series_suffix:
            parts.append(self.series_suffix)
        return "|".join(parts)


def record_alerts(
    conn: Connection,
    alerts: list[NewAlert],
    cooldown: timedelta = DEFAULT_COOLDOWN,
    now: datetime | None = None,
    notify: bool = True,
) -> list[int]:
    """Store the alerts not suppressed by an earlier one of the same series, each
    joined to its incident (llmwatch.incidents), which queues the notifications.

    An alert is suppressed when the same series already has an alert whose window
    starts within ``cooldown`` of this one's (alerts without a window compare their
    creation time); it still tells its open incident that the condition persists.
    ``notify=False`` stores and groups without telling anyone (a gate run); so does an
    alert about a window older than ``incidents.quiet_age`` (a back-fill). Returns the
    ids of the stored alerts.
    """
    created_at = now or datetime.now(UTC)
    stored: list[int] = []
    routing = get_settings().routing if alerts else None
    for alert in alerts:
        anchor = alert.window_start or created_at
        seen_at = alert.window_end or anchor
        if _suppressed(conn, alert, anchor, cooldown):
            touch_incident(conn, alert.kind, alert.feature_id, alert.model_id, seen_at, alert.scope)
            continue
        row = {
            "created_at": created_at,
            "kind": alert.kind,
            "severity": alert.severity,
            "flow": alert.flow,
            "feature_id": alert.feature_id,
            "model_id": alert.model_id,
            "metric": alert.metric,
            "value": alert.value,
            "threshold": alert.threshold,
            "window_start": alert.window_start,
            "window_end": alert.window_end,
            "message": redact(alert.message),
            "details": redact_json(alert.details) or None,
            "series_key": alert.series_key,
        }
        alert_id = conn.execute(insert(Alert).returning(Alert.id), row).scalar_one()
        assert routing is not None
        fresh = seen_at > created_at - quiet_age(routing, alert.kind)
        join_incident(
            conn, alert_id, row, seen_at, created_at, notify=notify and fresh, scope=alert.scope
        )
        stored.append(alert_id)
    return stored


def _suppressed(conn: Connection, alert: NewAlert, anchor: datetime, cooldown: timedelta) -> bool:
    anchor_column = Alert.window_start if alert.window_start else Alert.created_at
    query = (
        select(Alert.id)
        .where(Alert.series_key == alert.series_key)
        .where(anchor_column > anchor - cooldown)
        .where(anchor_column < anchor + cooldown)
        .limit(1)
    )
    return conn.execute(query).first() is not None


def list_alerts(
    conn: Connection,
    since: datetime | None = None,
    *,
    kind: str | None = None,
    feature_id: str | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """Alerts created at or after ``since``, oldest first, as SPEC 3.5 dictionaries
    with their ``incident_id`` and the incident's ``state``. ``state`` 'open' means the
    incident is not resolved (open or acknowledged)."""
    query = (
        select(Alert.__table__, Incident.state)
        .outerjoin(Incident, Incident.id == Alert.incident_id)
        .order_by(Alert.created_at, Alert.id)
    )
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if feature_id is not None:
        query = query.where(Alert.feature_id == feature_id)
    if state == "open":
        query = query.where(Incident.state.in_(("open", "acknowledged")))
    elif state is not None:
        query = query.where(Incident.state == state)
    rows = conn.execute(query).mappings()
    return [
        {**alert_to_dict(row), "incident_id": row["incident_id"], "state": row["state"]}
        for row in rows
    ]


SPEC_FIELDS = (
    "id",
    "created_at",
    "kind",
    "severity",
    "flow",
    "feature_id",
    "model_id",
    "metric",
    "value",
    "threshold",
    "window_start",
    "window_end",
    "message",
    "details",
)


def alert_to_dict(row: Any) -> dict[str, Any]:
    """A JSON-ready dictionary of the SPEC 3.5 fields of an alert row mapping."""
    out: dict[str, Any] = {}
    for name in SPEC_FIELDS:
        value = row[name]
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out
