"""Incidents (SPEC 4.7): alerts of one series grouped into what people are told about.

An alert joins the unresolved incident of its group (kind × feature × model, where the
kinds of one ``FAMILY`` count as one kind; a canary or golden run is one alert with its
probes or intents as evidence) or opens one. People are notified of
transitions only: opened, severity rose, resolved, and a reminder for an incident still
open after ``repeat_interval_hours`` — each an ``incident_notifications`` row, delivered
through ``llmwatch.routing`` with the same guarantees alerts had. An incident whose
condition was not seen for ``resolve_after_hours`` (per kind) resolves by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.settings import RoutingSettings
from llmwatch.warehouse.models import UNRESOLVED_SQL, Alert, Incident, IncidentNotification

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
UNRESOLVED = (OPEN, ACKNOWLEDGED)
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SUMMARY_CHARS = 200
# Kinds whose incidents resolve on an event, not on silence: a dead channel stays dead
# while nothing is sent to it (llmwatch.routing resolves it when the channel delivers).
RESOLVED_BY_EVENT = frozenset({"delivery_failure"})


class IncidentError(Exception):
    """A by-hand transition that does not apply (unknown id, already resolved)."""


# Kinds that are one symptom seen by two detectors share their incident: spend and tokens
# per request rise together; a canary and a golden run see the same model change.
FAMILY = {
    "cost_anomaly": "cost",
    "token_spike": "cost",
    "canary_regression": "model_change",
    "golden_regression": "model_change",
}


def group_key(
    kind: str, feature_id: str | None, model_id: str | None, scope: str | None = None
) -> str:
    key = "|".join((FAMILY.get(kind, kind), feature_id or "", model_id or ""))
    return f"{key}|{scope}" if scope else key


def join_incident(
    conn: Connection, alert_id: int, row: Mapping[str, Any], seen_at: datetime, now: datetime,
    notify: bool = True, scope: str | None = None,
) -> int:  # fmt: skip
    """Attach a stored alert to its group's unresolved incident, or open one; queue a
    notification when the incident opens or its severity rises. Returns the incident id.

    Opening is a claim on the series: the partial unique index lets one unresolved
    incident exist per group, so a run that loses the race joins the winner's."""
    key = group_key(row["kind"], row["feature_id"], row["model_id"], scope)
    incident = _unresolved(conn, key)
    incident_id = None
    if incident is None:
        incident_id = _open(conn, key, alert_id, row, seen_at, now, scope)
        if incident_id is None:
            incident = _unresolved(conn, key)
            if incident is None:
                raise IncidentError(f"the unresolved incident of {key} vanished while joining")
    if incident_id is not None:
        event: str | None = "opened"
    else:
        incident_id = incident.id
        rose = SEVERITY_RANK[row["severity"]] > SEVERITY_RANK[incident.severity]
        values: dict[str, Any] = {
            "updated_at": now,
            "alert_count": Incident.alert_count + 1,
            "last_seen_at": max(seen_at, incident.last_seen_at),
        }
        if rose:
            values.update(severity=row["severity"], worst_alert_id=alert_id)
        conn.execute(update(Incident).where(Incident.id == incident_id).values(**values))
        event = "escalated" if rose else None
    conn.execute(update(Alert).where(Alert.id == alert_id).values(incident_id=incident_id))
    if event is not None and notify:
        _notify(conn, incident_id, alert_id, event, now, _summary(event, row, scope))
    return incident_id


def _open(
    conn: Connection, key: str, alert_id: int, row: Mapping[str, Any], seen_at: datetime,
    now: datetime, scope: str | None,
) -> int | None:  # fmt: skip
    """Insert the group's incident; None when a concurrent run's is already there."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(Incident)
        .values(
            group_key=key,
            kind=row["kind"],
            feature_id=row["feature_id"],
            model_id=row["model_id"],
            scope=scope,
            state=OPEN,
            severity=row["severity"],
            opened_at=now,
            updated_at=now,
            resolved_at=None,
            last_seen_at=seen_at,
            last_notified_at=None,
            first_alert_id=alert_id,
            worst_alert_id=alert_id,
            alert_count=1,
            note=None,
        )
        .on_conflict_do_nothing(index_elements=["group_key"], index_where=text(UNRESOLVED_SQL))
        .returning(Incident.id)
    )
    found = conn.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def touch_incident(
    conn: Connection,
    kind: str,
    feature_id: str | None,
    model_id: str | None,
    seen_at: datetime,
    scope: str | None = None,
) -> None:
    """The condition was seen again (an alert held back by cool-down): the incident is
    still live and must not resolve by itself."""
    incident = _unresolved(conn, group_key(kind, feature_id, model_id, scope))
    if incident is not None and seen_at > incident.last_seen_at:
        conn.execute(
            update(Incident).where(Incident.id == incident.id).values(last_seen_at=seen_at)
        )


def maintain(
    conn: Connection,
    now: datetime,
    resolve_after: timedelta,
    resolve_after_by_kind: Mapping[str, timedelta],
    repeat_interval: timedelta,
) -> list[int]:
    """Resolve incidents whose condition has been clear long enough, and remind about
    open ones not notified for ``repeat_interval``. Returns the notification ids queued."""
    queued: list[int] = []
    rows = conn.execute(select(Incident.__table__).where(Incident.state.in_(UNRESOLVED))).all()
    for incident in rows:
        if incident.kind in RESOLVED_BY_EVENT:
            continue
        clear_for = resolve_after_by_kind.get(incident.kind, resolve_after)
        if incident.last_seen_at <= now - clear_for:
            queued += _resolve(conn, incident, now, note=None, by="condition clear")
        elif (
            incident.state == OPEN
            and incident.last_notified_at is not None
            and incident.last_notified_at <= now - repeat_interval
        ):
            summary = f"still open: {_scope(incident)} since {incident.opened_at.isoformat()}"
            queued.append(
                _notify(conn, incident.id, incident.worst_alert_id, "repeat", now, summary)
            )
    return queued


def resolve_after(settings: RoutingSettings, kind: str) -> timedelta:
    hours = settings.resolve_after_hours_by_kind.get(kind, settings.resolve_after_hours)
    return timedelta(hours=hours)


def quiet_age(settings: RoutingSettings, kind: str) -> timedelta:
    """Alerts about conditions older than this are back-fills: stored, not notified.
    Never shorter than the kind's resolve time, so nothing notifies open and resolve at once."""
    return max(timedelta(hours=settings.quiet_backfill_hours), resolve_after(settings, kind))


def maintain_incidents(engine: Engine, settings: RoutingSettings, now: datetime) -> list[int]:
    """``maintain`` with the routing settings, in its own transaction."""
    by_kind = {k: timedelta(hours=h) for k, h in settings.resolve_after_hours_by_kind.items()}
    with engine.begin() as conn:
        return maintain(
            conn,
            now,
            resolve_after=timedelta(hours=settings.resolve_after_hours),
            resolve_after_by_kind=by_kind,
            repeat_interval=timedelta(hours=settings.repeat_interval_hours),
        )


def acknowledge(conn: Connection, incident_id: int, now: datetime) -> None:
    incident = _get(conn, incident_id)
    if incident.state != OPEN:
        raise IncidentError(f"incident {incident_id} is {incident.state}, not open")
    conn.execute(
        update(Incident)
        .where(Incident.id == incident_id)
        .values(state=ACKNOWLEDGED, updated_at=now)
    )


def resolve(conn: Connection, incident_id: int, now: datetime, note: str | None = None) -> None:
    incident = _get(conn, incident_id)
    if incident.state == RESOLVED:
        raise IncidentError(f"incident {incident_id} is already resolved")
    _resolve(conn, incident, now, note=note, by="by hand")


def resolve_series(
    conn: Connection,
    kind: str,
    feature_id: str | None,
    model_id: str | None,
    now: datetime,
    by: str,
    scope: str | None = None,
) -> list[int]:
    """Resolve the series' unresolved incident, if any, because its condition ended (e.g.
    a channel delivered again). Returns the notification ids queued."""
    incident = _unresolved(conn, group_key(kind, feature_id, model_id, scope))
    if incident is None:
        return []
    return _resolve(conn, incident, now, note=None, by=by)


def list_incidents(
    conn: Connection,
    state: str | None = None,
    since: datetime | None = None,
    kind: str | None = None,
    feature_id: str | None = None,
) -> list[dict[str, Any]]:
    """Incidents, newest first; ``state`` 'open' means not resolved (open or acknowledged)."""
    query = select(Incident.__table__).order_by(Incident.opened_at.desc(), Incident.id.desc())
    if state == OPEN:
        query = query.where(Incident.state.in_(UNRESOLVED))
    elif state is not None:
        query = query.where(Incident.state == state)
    if since is not None:
        query = query.where(Incident.opened_at >= since)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    if feature_id is not None:
        query = query.where(Incident.feature_id == feature_id)
    out = []
    for row in conn.execute(query):
        values = row._asdict()
        item = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
        item.pop("group_key")
        item["triage"] = f"llmwatch triage {row.worst_alert_id}"
        item["summary"] = f"{_scope(row)}: {row.alert_count} alert(s)"
        out.append(item)
    return out


def _resolve(
    conn: Connection, incident: Any, now: datetime, note: str | None, by: str
) -> list[int]:
    conn.execute(
        update(Incident)
        .where(Incident.id == incident.id)
        .values(state=RESOLVED, resolved_at=now, updated_at=now, note=note)
    )
    # An incident nobody was told about (a quiet gate run) resolves quietly too.
    if incident.last_notified_at is None:
        return []
    duration = _duration(now - incident.opened_at)
    summary = (
        f"resolved ({by}) after {duration}: {_scope(incident)}, {incident.alert_count} alert(s)"
        + (f"; note: {note}" if note else "")
    )
    return [_notify(conn, incident.id, incident.worst_alert_id, "resolved", now, summary)]


def _notify(
    conn: Connection, incident_id: int, alert_id: int, event: str, now: datetime, summary: str
) -> int:
    incident = _get(conn, incident_id)
    notification_id = conn.execute(
        insert(IncidentNotification).returning(IncidentNotification.id),
        {"incident_id": incident_id, "alert_id": alert_id, "event": event,
         "state": incident.state, "severity": incident.severity, "created_at": now,
         "summary": summary[:SUMMARY_CHARS]},
    ).scalar_one()  # fmt: skip
    conn.execute(update(Incident).where(Incident.id == incident_id).values(last_notified_at=now))
    return int(notification_id)


def _unresolved(conn: Connection, key: str) -> Any:
    query = (
        select(Incident.__table__)
        .where(Incident.group_key == key, Incident.state.in_(UNRESOLVED))
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def _get(conn: Connection, incident_id: int) -> Any:
    query = select(Incident.__table__).where(Incident.id == incident_id)
    incident = conn.execute(query).first()
    if incident is None:
        raise IncidentError(f"no incident {incident_id}")
    return incident


def _scope(incident: Any) -> str:
    parts = (incident.feature_id, incident.model_id, incident.scope)
    scope = "/".join(p for p in parts if p)
    return f"{incident.kind} {scope}".strip()


def _summary(event: str, row: Mapping[str, Any], scope_part: str | None = None) -> str:
    scope = "/".join(p for p in (row["feature_id"], row["model_id"], scope_part) if p)
    first_line = str(row["message"]).splitlines()[0] if row["message"] else ""
    return f"{event} [{row['severity']}] {row['kind']} {scope}: {first_line}"


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
