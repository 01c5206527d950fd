"""Alert delivery from a real flow run: webhook receiver and Prefect events."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect import flow
from sqlalchemy import Engine, select

from llmwatch.alerts import NewAlert, list_alerts, record_alerts
from llmwatch.settings import get_settings
from llmwatch.warehouse.models import NotificationDelivery as AlertDelivery
from tasks.alerts import deliver_pending_alerts
from tests.core.routing.receiver import webhook_receiver

pytestmark = pytest.mark.flow


@flow
def deliver() -> list[Any]:
    return deliver_pending_alerts()


def read_events(resource_prefix: str) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {
                    "occurred": {"since": since},
                    "resource": {"id_prefix": [resource_prefix]},
                },
                "limit": 50,
            },
        )
    return response.json()["events"]


def test_a_flow_delivers_alerts_to_webhooks_and_as_prefect_events(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = os.urandom(4).hex()
    with engine.begin() as conn:
        ids = record_alerts(
            conn,
            [
                NewAlert(kind="cost_anomaly", flow="cost", feature_id=f"f-{marker}",
                         metric="cost_p50_usd", message="cost per request up 4x"),
                NewAlert(kind="input_drift", flow="drift", severity="critical",
                         feature_id=f"f-{marker}", message="prompt length drifted"),
            ],
        )  # fmt: skip
    with webhook_receiver("/hook/secret", script=[500, 500, 500]) as hook:
        monkeypatch.setenv("LLMWATCH_ROUTING__WEBHOOKS", f'[{{"name":"ops","url":"{hook.url}"}}]')
        monkeypatch.setenv("LLMWATCH_ROUTING__ATTEMPTS_PER_RUN", "3")
        monkeypatch.setenv("LLMWATCH_ROUTING__BACKOFF_S", "0")
        get_settings.cache_clear()
        first = {r.channel: r for r in deliver()}
        second = {r.channel: r for r in deliver()}
        third = {r.channel: r for r in deliver()}

    assert first["webhook:ops"].delivered == []
    assert first["webhook:ops"].pending == 2
    assert second["webhook:ops"].delivered == ids
    assert third["webhook:ops"].delivered == []
    assert [body["id"] for body in hook.accepted] == ids
    assert first["prefect-event"].delivered == ids
    assert second["prefect-event"].delivered == []

    with engine.connect() as conn:
        statuses = conn.execute(select(AlertDelivery.channel, AlertDelivery.status)).all()
    assert sorted(statuses) == sorted(
        [("prefect-event", "delivered")] * 2 + [("webhook:ops", "delivered")] * 2
    )

    # The events reach the Prefect server (the events worker sends them asynchronously).
    # Alert ids repeat across the backends' warehouses: the marker tells this test's apart.
    wanted = {f"llmwatch.alert.{i}" for i in ids}
    deadline = time.monotonic() + 30
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = [
            e for e in read_events("llmwatch.incident.")
            if e["resource"].get("llmwatch.alert_id") in wanted
            and e["resource"].get("llmwatch.feature_id") == f"f-{marker}"
        ]  # fmt: skip
        if len(events) == 2:
            break
        time.sleep(0.5)
    by_resource = {e["resource"]["llmwatch.alert_id"]: e for e in events}
    assert set(by_resource) == wanted
    # The event's resource is the incident, so an Automation can follow its transitions.
    with engine.connect() as conn:
        incident_of = {a["id"]: a["incident_id"] for a in list_alerts(conn)}
    for alert_id in ids:
        event = by_resource[f"llmwatch.alert.{alert_id}"]
        assert event["resource"]["prefect.resource.id"] == (
            f"llmwatch.incident.{incident_of[alert_id]}"
        )
        assert event["related"][0]["prefect.resource.id"] == f"llmwatch.alert.{alert_id}"
        assert event["payload"]["incident_id"] == incident_of[alert_id]
    drift = by_resource[f"llmwatch.alert.{ids[1]}"]
    assert drift["event"] == "llmwatch.alert.input_drift"
    assert drift["resource"]["llmwatch.severity"] == "critical"
    assert drift["payload"]["message"] == "prompt length drifted"
    cost = by_resource[f"llmwatch.alert.{ids[0]}"]
    assert cost["event"] == "llmwatch.alert.cost_anomaly"
    assert cost["resource"]["llmwatch.feature_id"] == f"f-{marker}"
