"""incident guards: one unresolved incident per series, incident scope, and alert
deliveries left pending by 0004 carried over to incident notifications

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

* ``incidents.scope``: a part of the series that is neither feature nor model (the
  channel of a ``delivery_failure`` incident).
* A partial unique index on ``incidents.group_key`` over unresolved rows (PostgreSQL and
  SQLite both have partial indexes): two runs racing to open the same series' incident
  cannot both succeed. Duplicates already there are merged into the oldest first.
* Before 0004 an alert was delivered per channel through ``alert_deliveries``; 0004 left
  rows still 'pending' (or 'sending') there, which nothing reads any more. Each such
  alert joins an incident of its series (an existing unresolved one, or one opened here,
  attributed to the alert), gets one notification, and that notification is queued for
  exactly the channels that were still waiting; the old rows are marked 'migrated'.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNRESOLVED = "state IN ('open', 'acknowledged')"
INDEX = "uq_incidents_unresolved_group_key"
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

incidents = sa.table(
    "incidents",
    sa.column("id", sa.BigInteger()),
    sa.column("group_key", sa.Text()),
    sa.column("kind", sa.String()),
    sa.column("feature_id", sa.String()),
    sa.column("model_id", sa.String()),
    sa.column("state", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("opened_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("resolved_at", UTCDateTime()),
    sa.column("last_seen_at", UTCDateTime()),
    sa.column("last_notified_at", UTCDateTime()),
    sa.column("first_alert_id", sa.BigInteger()),
    sa.column("worst_alert_id", sa.BigInteger()),
    sa.column("alert_count", sa.Integer()),
    sa.column("note", sa.Text()),
)
alerts = sa.table(
    "alerts",
    sa.column("id", sa.BigInteger()),
    sa.column("created_at", UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("feature_id", sa.String()),
    sa.column("model_id", sa.String()),
    sa.column("window_start", UTCDateTime()),
    sa.column("window_end", UTCDateTime()),
    sa.column("message", sa.Text()),
    sa.column("incident_id", sa.BigInteger()),
)
old_deliveries = sa.table(
    "alert_deliveries",
    sa.column("alert_id", sa.BigInteger()),
    sa.column("channel", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("updated_at", UTCDateTime()),
)
notifications = sa.table(
    "incident_notifications",
    sa.column("id", sa.BigInteger()),
    sa.column("incident_id", sa.BigInteger()),
    sa.column("alert_id", sa.BigInteger()),
    sa.column("event", sa.String()),
    sa.column("state", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("summary", sa.Text()),
)
deliveries = sa.table(
    "notification_deliveries",
    sa.column("notification_id", sa.BigInteger()),
    sa.column("channel", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("updated_at", UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=256), nullable=True))
    conn = op.get_bind()
    now = datetime.now(UTC)
    _merge_duplicates(conn, now)
    op.create_index(
        INDEX,
        "incidents",
        ["group_key"],
        unique=True,
        postgresql_where=sa.text(UNRESOLVED),
        sqlite_where=sa.text(UNRESOLVED),
    )
    _carry_over_pending_deliveries(conn, now)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("scope")


def _merge_duplicates(conn: sa.Connection, now: datetime) -> None:
    rows = conn.execute(
        sa.select(incidents.c.id, incidents.c.group_key, incidents.c.alert_count)
        .where(incidents.c.state.in_(("open", "acknowledged")))
        .order_by(incidents.c.id)
    ).all()
    keep: dict[str, int] = {}
    for incident_id, key, count in rows:
        if key not in keep:
            keep[key] = incident_id
            continue
        target = keep[key]
        conn.execute(
            alerts.update().where(alerts.c.incident_id == incident_id).values(incident_id=target)
        )
        conn.execute(
            incidents.update()
            .where(incidents.c.id == target)
            .values(alert_count=incidents.c.alert_count + count, updated_at=now)
        )
        conn.execute(
            incidents.update()
            .where(incidents.c.id == incident_id)
            .values(
                state="resolved",
                resolved_at=now,
                updated_at=now,
                note=f"merged into incident {target} (migration 0005)",
            )
        )


def _carry_over_pending_deliveries(conn: sa.Connection, now: datetime) -> None:
    waiting = conn.execute(
        sa.select(
            alerts.c.id,
            alerts.c.created_at,
            alerts.c.kind,
            alerts.c.severity,
            alerts.c.feature_id,
            alerts.c.model_id,
            alerts.c.window_start,
            alerts.c.window_end,
            alerts.c.message,
            alerts.c.incident_id,
        )
        .where(
            alerts.c.id.in_(
                sa.select(old_deliveries.c.alert_id).where(
                    old_deliveries.c.status.in_(("pending", "sending"))
                )
            )
        )
        .order_by(alerts.c.id)
    ).all()
    for alert in waiting:
        incident_id = alert.incident_id or _join(conn, alert, now)
        scope = "/".join(p for p in (alert.feature_id, alert.model_id) if p)
        first_line = (alert.message or "").splitlines()[0] if alert.message else ""
        notification_id = conn.execute(
            notifications.insert().returning(notifications.c.id),
            {"incident_id": incident_id, "alert_id": alert.id, "event": "opened",
             "state": "open", "severity": alert.severity, "created_at": now,
             "summary": f"opened [{alert.severity}] {alert.kind} {scope}: {first_line} "
                        "(queued before incidents)"[:200]},
        ).scalar_one()  # fmt: skip
        conn.execute(
            incidents.update().where(incidents.c.id == incident_id).values(last_notified_at=now)
        )
        channels = conn.execute(
            sa.select(old_deliveries.c.channel, old_deliveries.c.attempts).where(
                old_deliveries.c.alert_id == alert.id,
                old_deliveries.c.status.in_(("pending", "sending")),
            )
        ).all()
        for channel, attempts in channels:
            conn.execute(
                deliveries.insert(),
                {"notification_id": notification_id, "channel": channel, "status": "pending",
                 "attempts": attempts, "last_error": None, "updated_at": now},
            )  # fmt: skip
        conn.execute(
            old_deliveries.update()
            .where(
                old_deliveries.c.alert_id == alert.id,
                old_deliveries.c.status.in_(("pending", "sending")),
            )
            .values(status="migrated", updated_at=now)
        )


def _join(conn: sa.Connection, alert: sa.Row, now: datetime) -> int:
    key = "|".join((alert.kind, alert.feature_id or "", alert.model_id or ""))
    seen = alert.window_end or alert.window_start or alert.created_at
    found = conn.execute(
        sa.select(incidents.c.id, incidents.c.severity, incidents.c.last_seen_at).where(
            incidents.c.group_key == key, incidents.c.state.in_(("open", "acknowledged"))
        )
    ).first()
    if found is None:
        incident_id = conn.execute(
            incidents.insert().returning(incidents.c.id),
            {"group_key": key, "kind": alert.kind, "feature_id": alert.feature_id,
             "model_id": alert.model_id, "state": "open", "severity": alert.severity,
             "opened_at": alert.created_at, "updated_at": now, "resolved_at": None,
             "last_seen_at": seen, "last_notified_at": None, "first_alert_id": alert.id,
             "worst_alert_id": alert.id, "alert_count": 1, "note": None},
        ).scalar_one()  # fmt: skip
    else:
        incident_id = found.id
        values: dict[str, object] = {
            "alert_count": incidents.c.alert_count + 1,
            "updated_at": now,
            "last_seen_at": max(seen, found.last_seen_at),
        }
        if SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get(found.severity, 0):
            values.update(severity=alert.severity, worst_alert_id=alert.id)
        conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
    conn.execute(alerts.update().where(alerts.c.id == alert.id).values(incident_id=incident_id))
    return int(incident_id)
