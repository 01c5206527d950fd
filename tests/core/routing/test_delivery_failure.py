"""A channel that gives up on deliveries raises ONE routing incident, which resolves when
the channel delivers again (issue 16.4), with a real receiver answering 403."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from llmwatch.incidents import maintain_incidents
from llmwatch.routing import deliver_pending, webhook_channels
from llmwatch.warehouse.models import Alert, Incident, IncidentNotification
from llmwatch.warehouse.models import NotificationDelivery as Delivery
from tests.core.routing.receiver import webhook_receiver
from tests.core.test_incidents import T0, settings_for, window_alert
from tests.core.test_incidents import flow_run as store_and_deliver


def _incidents(engine: Engine, kind: str) -> list[object]:
    with engine.connect() as conn:
        query = select(Incident.__table__).where(Incident.kind == kind).order_by(Incident.id)
        return list(conn.execute(query).all())


def _events(engine: Engine, incident_id: int) -> list[str]:
    with engine.connect() as conn:
        query = (
            select(IncidentNotification.event)
            .where(IncidentNotification.incident_id == incident_id)
            .order_by(IncidentNotification.id)
        )
        return list(conn.execute(query).scalars())


def test_dead_deliveries_raise_one_incident_per_channel_resolved_when_it_delivers(
    engine: Engine,
) -> None:
    zero = timedelta(0)
    with webhook_receiver("/hook", script=[403] * 3) as hook:
        settings = settings_for(hook.url, resolve_after_hours=100.0, repeat_interval_hours=1e3)
        # Three series, three notifications, all refused for good by the channel.
        for hour, feature in enumerate(("chat", "rag", "search")):
            alert = window_alert(hour, feature=feature)
            store_and_deliver(
                engine, settings, [alert], T0 + timedelta(hours=hour + 1), cooldown=zero
            )

        (failure,) = _incidents(engine, "delivery_failure")
        assert (failure.state, failure.scope, failure.severity) == (
            "open",
            "webhook:ops",
            "warning",
        )
        assert _events(engine, failure.id) == ["opened"]
        with engine.connect() as conn:
            dead = conn.execute(select(Delivery.status).where(Delivery.status == "dead")).all()
            failure_alerts = conn.execute(
                select(Alert.message).where(Alert.kind == "delivery_failure")
            ).scalars().all()  # fmt: skip
            # Its own failure is not queued to the channel that cannot take it.
            own = conn.execute(
                select(Delivery.notification_id)
                .join(IncidentNotification, IncidentNotification.id == Delivery.notification_id)
                .where(IncidentNotification.incident_id == failure.id)
            ).all()
        assert len(dead) == 3
        assert own == []
        # Each run that buried deliveries saw the condition; the cool-down keeps one alert.
        assert len(failure_alerts) == 1
        assert "HTTP 403" in failure_alerts[0]
        assert "redeliver --dead" in failure_alerts[0]
        assert len(hook.attempts) == 3
        assert hook.accepted == []

        # Silence does not resolve it: a dead channel stays dead while nothing is sent.
        maintain_incidents(engine, settings, T0 + timedelta(days=3))
        assert _incidents(engine, "delivery_failure")[0].state == "open"

        # The receiver is fixed: the next notification gets through and resolves it.
        store_and_deliver(
            engine, settings, [window_alert(4, feature="billing")], T0 + timedelta(hours=5)
        )
        (failure,) = _incidents(engine, "delivery_failure")
        assert failure.state == "resolved"
        assert _events(engine, failure.id) == ["opened", "resolved"]
        # Other channels hear of the resolve; this one is never sent its own failure.
        deliver_pending(engine, list(webhook_channels(settings)), settings)
    assert [(b["feature_id"], b["event"]) for b in hook.accepted] == [("billing", "opened")]
    assert len(_incidents(engine, "delivery_failure")) == 1
