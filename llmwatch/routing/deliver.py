"""Queue, claim and deliver incident notifications channel by channel (see the package
docstring). A notification is one transition of an incident (llmwatch.incidents)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from llmwatch.alerts import NewAlert, alert_to_dict, record_alerts
from llmwatch.incidents import resolve_series
from llmwatch.redact import redact
from llmwatch.settings import RoutingSettings, get_settings
from llmwatch.triage.report import triage_page_name
from llmwatch.warehouse.models import Alert, Incident, IncidentNotification
from llmwatch.warehouse.models import NotificationDelivery as Delivery

PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"
MAX_ERROR_CHARS = 500
DELIVERY_FAILURE = "delivery_failure"

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A channel did not accept an alert; the message must hold no secret.

    ``retryable=False``: the channel answered that this alert will never be accepted
    as it is (e.g. HTTP 400, 403, 413): sending it again cannot help.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Channel(Protocol):
    """A destination for alerts. ``name`` is the key in alert_deliveries."""

    name: str
    # None: every kind.
    kinds: list[str] | None
    severities: list[str]

    @property
    def display(self) -> str: ...

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver one alert or raise DeliveryError."""

    def close(self) -> None: ...


@dataclass
class ChannelReport:
    channel: str
    queued: int = 0
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Given up on (not retryable, or out of attempts): status 'dead', with the reason.
    dead: list[int] = field(default_factory=list)
    # Still pending after this run (failed, or not tried once the channel failed).
    pending: int = 0
    last_error: str | None = None


def deliver_pending(
    engine: Engine,
    channels: list[Channel],
    settings: RoutingSettings,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> list[ChannelReport]:
    """Queue new alerts for every channel, then send each pending delivery, oldest first.

    A delivery is tried ``attempts_per_run`` times with exponential back-off; when it
    still fails, it goes back to pending and the channel is left alone for the rest of
    this run (a dead endpoint costs one delivery's retries per run, not one per alert).
    A delivery the channel refuses for good (a non-retryable answer), or that used up
    ``max_attempts`` over all runs, becomes 'dead' with its reason, and the channel
    goes on with the next alert: one bad alert never holds the others back.
    """
    reports = []
    for channel in channels:
        report = ChannelReport(channel.name)
        with engine.begin() as conn:
            report.queued = enqueue(conn, channel, now() - timedelta(hours=settings.backfill_hours))
        try:
            _deliver_channel(engine, channel, settings, report, now, sleep)
        finally:
            channel.close()
        with engine.begin() as conn:
            report.pending = count_pending(conn, channel.name)
            _channel_health(conn, channel, report, now())
        reports.append(report)
    return reports


def _channel_health(
    conn: Connection, channel: Channel, report: ChannelReport, now: datetime
) -> None:
    """A channel that gave up on deliveries has one ``delivery_failure`` incident (each
    later dead delivery joins it); it resolves when the channel delivers again."""
    if report.dead:
        alert = NewAlert(
            kind=DELIVERY_FAILURE,
            flow="routing",
            severity="warning",
            metric="dead_deliveries",
            value=float(len(report.dead)),
            message=(
                f"{channel.display} gave up on {len(report.dead)} notification(s) "
                f"(last: {report.last_error}); `llmwatch alerts redeliver --dead` sends "
                "them again once the channel is fixed"
            ),
            details={"channel": channel.name, "notification_ids": report.dead},
            series_suffix=channel.name,
            scope=channel.name,
        )
        record_alerts(conn, [alert], now=now)
    elif report.delivered:
        resolve_series(
            conn, DELIVERY_FAILURE, None, None, now, by="channel delivers again", scope=channel.name
        )


def _deliver_channel(
    engine: Engine,
    channel: Channel,
    settings: RoutingSettings,
    report: ChannelReport,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> None:
    claim_timeout = timedelta(seconds=settings.claim_timeout_s)
    with engine.connect() as conn:
        candidates = claimable(conn, channel.name, now() - claim_timeout)
    for notification_id in candidates:
        with engine.begin() as conn:
            # Another run may have claimed it since we listed it: only one sends.
            if not claim(conn, notification_id, channel.name, now(), now() - claim_timeout):
                continue
            alert = read_notification(conn, notification_id)
        error, retryable, attempts = _send(channel, alert, notification_id, settings, sleep)
        with engine.begin() as conn:
            used = finish(conn, notification_id, channel.name, now(), attempts, error)
            dead = error is not None and (not retryable or used >= settings.max_attempts)
            if error is not None and dead:
                reason = error if not retryable else f"{error} (gave up after {used} attempts)"
                bury(conn, notification_id, channel.name, now(), reason)
        if error is None:
            report.delivered.append(notification_id)
            continue
        report.last_error = error
        if dead:
            report.dead.append(notification_id)
            log.error("notification %d to %s is dead: %s", notification_id, channel.display, error)
            continue
        report.failed.append(notification_id)
        log.warning("%s failing; its pending alerts wait for the next run", channel.display)
        return


def _send(
    channel: Channel,
    alert: dict[str, Any],
    notification_id: int,
    settings: RoutingSettings,
    sleep: Callable[[float], None],
) -> tuple[str | None, bool, int]:
    """(error or None, whether it may succeed later, attempts made) for one delivery."""
    error: str | None = None
    attempts = 0
    for attempt in range(settings.attempts_per_run):
        if attempt:
            sleep(settings.backoff_s * 2 ** (attempt - 1))
        attempts += 1
        try:
            channel.send(alert)
        except DeliveryError as exc:
            error = redact(str(exc))[:MAX_ERROR_CHARS]
            log.warning(
                "notification %d to %s: attempt %d failed: %s",
                notification_id,
                channel.display,
                attempts,
                error,
            )
            if not exc.retryable:
                return error, False, attempts
        else:
            return None, True, attempts
    return error, True, attempts


def enqueue(conn: Connection, channel: Channel, since: datetime) -> int:
    """Add a pending delivery for each notification the channel takes that has none yet."""
    no_row = ~exists().where(
        and_(
            Delivery.notification_id == IncidentNotification.id,
            Delivery.channel == channel.name,
        )
    )
    query = (
        select(IncidentNotification.id)
        .join(Incident, Incident.id == IncidentNotification.incident_id)
        .where(no_row, IncidentNotification.created_at >= since)
        .where(IncidentNotification.severity.in_(channel.severities))
    )
    if channel.kinds is not None:
        query = query.where(Incident.kind.in_(channel.kinds))
    # A channel is not told about its own failure: it would refuse that too.
    query = query.where(
        or_(
            Incident.kind != DELIVERY_FAILURE,
            Incident.scope.is_(None),
            Incident.scope != channel.name,
        )
    )
    ids = list(conn.execute(query.order_by(IncidentNotification.id)).scalars())
    if not ids:
        return 0
    stamp = datetime.now(UTC)
    rows = [
        {"notification_id": i, "channel": channel.name, "status": PENDING, "attempts": 0,
         "last_error": None, "updated_at": stamp}
        for i in ids
    ]  # fmt: skip
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # A concurrent run may queue the same notification: the primary key keeps one row.
    conn.execute(insert(Delivery).on_conflict_do_nothing(), rows)
    return len(ids)


def _claimable(channel: str, stale_before: datetime) -> Any:
    return and_(
        Delivery.channel == channel,
        or_(
            Delivery.status == PENDING,
            and_(Delivery.status == SENDING, Delivery.updated_at < stale_before),
        ),
    )


def claimable(conn: Connection, channel: str, stale_before: datetime) -> list[int]:
    """Pending deliveries, and those claimed by a run that died, oldest first."""
    query = select(Delivery.notification_id).where(_claimable(channel, stale_before))
    return list(conn.execute(query.order_by(Delivery.notification_id)).scalars())


def claim(
    conn: Connection, notification_id: int, channel: str, now: datetime, stale_before: datetime
) -> bool:
    result = conn.execute(
        update(Delivery)
        .where(Delivery.notification_id == notification_id, _claimable(channel, stale_before))
        .values(status=SENDING, updated_at=now)
    )
    return result.rowcount == 1


def finish(
    conn: Connection,
    notification_id: int,
    channel: str,
    now: datetime,
    attempts: int,
    error: str | None,
) -> int:
    """Record an outcome; the delivery's attempts over all runs."""
    return conn.execute(
        update(Delivery)
        .where(Delivery.notification_id == notification_id, Delivery.channel == channel)
        .values(
            status=PENDING if error else DELIVERED,
            attempts=Delivery.attempts + attempts,
            last_error=error,
            updated_at=now,
        )
        .returning(Delivery.attempts)
    ).scalar_one()


def bury(conn: Connection, notification_id: int, channel: str, now: datetime, reason: str) -> None:
    """Give up on a delivery: 'dead' keeps it out of the queue until redelivered."""
    conn.execute(
        update(Delivery)
        .where(Delivery.notification_id == notification_id, Delivery.channel == channel)
        .values(status=DEAD, last_error=reason[:MAX_ERROR_CHARS], updated_at=now)
    )


def redeliver(conn: Connection, alert_ids: list[int] | None, now: datetime) -> int:
    """Queue deliveries again on purpose, with a fresh attempt budget: the dead (and
    delivered, to send them again) deliveries of notifications about the given alerts,
    or with None every dead delivery. Returns how many were queued."""
    query = update(Delivery)
    if alert_ids is None:
        query = query.where(Delivery.status == DEAD)
    else:
        about = select(IncidentNotification.id).where(IncidentNotification.alert_id.in_(alert_ids))
        query = query.where(
            Delivery.notification_id.in_(about), Delivery.status.in_((DEAD, DELIVERED))
        )
    result = conn.execute(query.values(status=PENDING, attempts=0, updated_at=now))
    return result.rowcount


def read_notification(conn: Connection, notification_id: int) -> dict[str, Any]:
    """What channels receive: the alert the notification is about (SPEC 3.5 fields) with
    the incident's id, state, severity, the transition, a one-line summary and the
    triage command."""
    query = (
        select(
            Alert.__table__,
            IncidentNotification.id.label("notification_id"),
            IncidentNotification.event,
            IncidentNotification.summary,
            IncidentNotification.state.label("incident_state"),
            IncidentNotification.severity.label("incident_severity"),
            IncidentNotification.created_at.label("notified_at"),
            Incident.opened_at,
            Incident.resolved_at,
            Incident.alert_count,
            Incident.scope,
        )
        .join(IncidentNotification, IncidentNotification.alert_id == Alert.id)
        .join(Incident, Incident.id == IncidentNotification.incident_id)
        .where(IncidentNotification.id == notification_id)
    )
    row = conn.execute(query).mappings().one()
    out = alert_to_dict(row)
    resolved = row["resolved_at"] if row["event"] == "resolved" else None
    out.update(
        notification_id=row["notification_id"],
        incident_id=row["incident_id"],
        event=row["event"],
        state=row["incident_state"],
        severity=row["incident_severity"],
        summary=row["summary"],
        alert_count=row["alert_count"],
        opened_at=row["opened_at"].isoformat(),
        resolved_at=resolved.isoformat() if resolved else None,
        duration_s=(resolved - row["opened_at"]).total_seconds() if resolved else None,
        scope=row["scope"],
        triage=f"llmwatch triage {row['id']}",
        page=str(get_settings().reports_dir / triage_page_name(row["id"])),
    )
    return out


def count_pending(conn: Connection, channel: str) -> int:
    query = select(Delivery.notification_id).where(
        Delivery.channel == channel, Delivery.status.in_((PENDING, SENDING))
    )
    return len(conn.execute(query).all())
