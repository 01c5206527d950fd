"""Prefect task that delivers incident notifications: webhooks from config and Prefect
events.

Every flow calls ``deliver_pending_alerts`` last, so transitions go out as soon as they
are stored, incidents whose condition cleared are resolved, and whatever an earlier run
failed to deliver is retried by the next one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from llmwatch.incidents import maintain_incidents
from llmwatch.routing import (
    Channel,
    ChannelReport,
    DeliveryError,
    deliver_pending,
    webhook_channels,
)
from llmwatch.settings import get_settings
from llmwatch.warehouse import make_engine

EVENT_CHANNEL = "prefect-event"
SEVERITIES = ["info", "warning", "critical"]


class PrefectEventChannel:
    """One ``llmwatch.alert.<kind>`` event per incident notification, for Prefect
    Automations: the resource is the incident (``llmwatch.incident.<id>``, so an
    Automation can follow one incident's transitions), the alert a related resource."""

    name = EVENT_CHANNEL
    kinds: list[str] | None = None
    severities = SEVERITIES
    display = EVENT_CHANNEL

    def send(self, alert: dict[str, Any]) -> None:
        from prefect.events import emit_event
        from prefect.exceptions import EventTooLarge

        key = f"llmwatch.notification.{alert['notification_id']}.{alert['created_at']}"
        kwargs: dict[str, Any] = {
            "event": f"llmwatch.alert.{alert['kind']}",
            "resource": _resource(alert),
            "related": [_alert_resource(alert)],
            # The same id if a crashed run emits it again: Prefect keeps one event.
            "id": uuid.uuid5(uuid.NAMESPACE_URL, key),
            "payload": alert,
        }  # fmt: skip
        try:
            emitted = emit_event(**kwargs)
        except EventTooLarge:
            emitted = emit_event(**{**kwargs, "payload": {**alert, "details": None}})
        if emitted is None:
            raise DeliveryError("Prefect events are not available to this process")

    def close(self) -> None:
        pass


def _alert_resource(alert: dict[str, Any]) -> dict[str, str]:
    return {
        "prefect.resource.id": f"llmwatch.alert.{alert['id']}",
        "prefect.resource.role": "alert",
        "llmwatch.triage": str(alert.get("triage") or ""),
    }


def _resource(alert: dict[str, Any]) -> dict[str, str]:
    resource = {
        "prefect.resource.id": f"llmwatch.incident.{alert['incident_id']}",
        "prefect.resource.name": f"{alert['kind']} {alert.get('feature_id') or ''}".strip(),
        "llmwatch.alert_id": f"llmwatch.alert.{alert['id']}",
        "llmwatch.kind": alert["kind"],
        "llmwatch.severity": alert["severity"],
        "llmwatch.flow": alert["flow"],
        "llmwatch.incident_id": f"llmwatch.incident.{alert['incident_id']}",
        "llmwatch.incident_event": str(alert["event"]),
        "llmwatch.incident_state": str(alert["state"]),
    }
    for field in ("feature_id", "model_id", "metric"):
        if alert.get(field):
            resource[f"llmwatch.{field}"] = str(alert[field])
    return resource


@task(cache_policy=NO_CACHE)
def deliver_pending_alerts() -> list[ChannelReport]:
    """Resolve incidents that cleared, then queue and deliver every notification not yet
    delivered to each channel; never raises for a failing channel (its notifications
    stay pending for the next run)."""
    settings = get_settings()
    channels: list[Channel] = list(webhook_channels(settings.routing))
    if settings.routing.prefect_events:
        channels.append(PrefectEventChannel())
    logger = get_run_logger()
    engine = make_engine(settings.resolved_warehouse_url())
    try:
        # Resolve incidents whose condition cleared (and remind about long-open ones)
        # before delivering, so their notifications go out in this run.
        queued = maintain_incidents(engine, settings.routing, datetime.now(UTC))
        if queued:
            logger.info("%d incident notification(s) from resolves and reminders", len(queued))
        reports = deliver_pending(engine, channels, settings.routing) if channels else []
    finally:
        engine.dispose()
    for report in reports:
        if report.delivered or report.failed or report.dead:
            logger.info(
                "%s: delivered %d, failed %d, dead %d, pending %d%s",
                report.channel, len(report.delivered), len(report.failed), len(report.dead),
                report.pending,
                f" ({report.last_error})" if report.last_error else "",
            )  # fmt: skip
    return reports
