"""Incidents (SPEC 4.7): alerts grouped per series, people notified on transitions only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from llmwatch.alerts import NewAlert, list_alerts, record_alerts
from llmwatch.cli import main
from llmwatch.incidents import maintain_incidents
from llmwatch.routing import deliver_pending, webhook_channels
from llmwatch.settings import RoutingSettings, Webhook
from llmwatch.warehouse.models import Incident, IncidentNotification
from tests.core.routing.receiver import webhook_receiver

T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def window_alert(hour: int, severity: str = "warning", feature: str = "chat") -> NewAlert:
    return NewAlert(
        kind="cost_anomaly",
        flow="cost",
        severity=severity,
        feature_id=feature,
        model_id="m1",
        metric="cost_usd",
        value=12.0 + hour,
        threshold=5.0,
        window_start=T0 + hour * HOUR,
        window_end=T0 + (hour + 1) * HOUR,
        message=f"cost {12 + hour} USD over 5 USD",
    )


def settings_for(url: str, **extra: Any) -> RoutingSettings:
    return RoutingSettings(
        webhooks=[Webhook(name="ops", url=url, kind="json")],
        attempts_per_run=1,
        backoff_s=0.0,
        timeout_s=2.0,
        backfill_hours=1e6,
        **extra,
    )


def flow_run(
    engine: Engine, settings: RoutingSettings, alerts: list[NewAlert], now: datetime, **kw: Any
) -> None:
    """What one flow run does: store its alerts, then the deliver step."""
    with engine.begin() as conn:
        record_alerts(conn, alerts, now=now, **kw)
    maintain_incidents(engine, settings, now)
    deliver_pending(engine, list(webhook_channels(settings)), settings)


def incidents(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Incident.__table__).order_by(Incident.id)).all())


def test_five_alerting_windows_give_one_incident_one_open_and_one_resolve(engine: Engine) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        for hour in range(5):
            # No cool-down: every window stores an alert, and all join one incident.
            now = T0 + (hour + 1) * HOUR + timedelta(minutes=5)
            flow_run(engine, settings, [window_alert(hour)], now, cooldown=timedelta(0))
        (incident,) = incidents(engine)
        assert (incident.state, incident.alert_count) == ("open", 5)
        assert [b["event"] for b in hook.accepted] == ["opened"]
        opened = hook.accepted[0]
        assert opened["incident_id"] == incident.id
        assert opened["state"] == "open"
        assert opened["severity"] == "warning"
        assert opened["triage"] == f"llmwatch triage {incident.first_alert_id}"
        assert "cost_anomaly chat/m1" in opened["summary"]

        # One clean window: not yet clear for the 2 h default.
        flow_run(engine, settings, [], T0 + 6 * HOUR + timedelta(minutes=5))
        assert len(hook.accepted) == 1
        # Two clean windows: resolved, notified once with the duration.
        flow_run(engine, settings, [], T0 + 7 * HOUR + timedelta(minutes=5))
        flow_run(engine, settings, [], T0 + 8 * HOUR + timedelta(minutes=5))
    assert [b["event"] for b in hook.accepted] == ["opened", "resolved"]
    resolved = hook.accepted[1]
    assert resolved["state"] == "resolved"
    assert resolved["duration_s"] == (6 * HOUR).total_seconds()
    assert "after 6 h 00 min" in resolved["summary"]
    (incident,) = incidents(engine)
    assert incident.state == "resolved"


def test_an_alert_held_back_by_cool_down_keeps_its_incident_open(engine: Engine) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        for hour in range(5):
            now = T0 + (hour + 1) * HOUR + timedelta(minutes=5)
            flow_run(engine, settings, [window_alert(hour)], now)  # default 6 h cool-down
    (incident,) = incidents(engine)
    assert (incident.state, incident.alert_count) == ("open", 1)
    assert incident.last_seen_at == T0 + 5 * HOUR
    assert [b["event"] for b in hook.accepted] == ["opened"]


def test_a_severity_rise_notifies_once_and_a_new_series_opens_its_own(engine: Engine) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        zero = timedelta(0)
        flow_run(engine, settings, [window_alert(0)], T0 + HOUR, cooldown=zero)
        flow_run(engine, settings, [window_alert(1, "critical")], T0 + 2 * HOUR, cooldown=zero)
        flow_run(engine, settings, [window_alert(2, "warning")], T0 + 3 * HOUR, cooldown=zero)
        flow_run(engine, settings, [window_alert(2, feature="rag")], T0 + 3 * HOUR, cooldown=zero)
    assert [(b["event"], b["severity"], b["feature_id"]) for b in hook.accepted] == [
        ("opened", "warning", "chat"),
        ("escalated", "critical", "chat"),
        ("opened", "warning", "rag"),
    ]
    chat, _ = incidents(engine)
    assert (chat.severity, chat.alert_count, chat.worst_alert_id) == ("critical", 3, 2)


def test_a_failing_webhook_still_gets_each_transition_exactly_once(engine: Engine) -> None:
    with webhook_receiver(script=[500, 503, 500, 502]) as hook:
        settings = settings_for(hook.url)
        zero = timedelta(0)
        for hour in range(5):
            now = T0 + (hour + 1) * HOUR
            severity = "critical" if hour == 3 else "warning"
            flow_run(engine, settings, [window_alert(hour, severity)], now, cooldown=zero)
        for hour in range(6, 10):
            flow_run(engine, settings, [], T0 + hour * HOUR)
    assert len(hook.attempts) == 4 + 3
    assert [b["event"] for b in hook.accepted] == ["opened", "escalated", "resolved"]
    assert len({b["notification_id"] for b in hook.accepted}) == 3


def test_a_quiet_run_stores_and_groups_but_notifies_nobody(engine: Engine) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        flow_run(engine, settings, [window_alert(0, "critical")], T0 + HOUR, notify=False)
        flow_run(engine, settings, [], T0 + 10 * HOUR)
    assert hook.attempts == []
    (incident,) = incidents(engine)
    assert incident.state == "resolved"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IncidentNotification)).scalar() == 0


def test_reminder_after_the_repeat_interval_but_not_when_acknowledged(
    engine: Engine, warehouse_url: str
) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url, repeat_interval_hours=3.0, resolve_after_hours=100.0)
        flow_run(engine, settings, [window_alert(0)], T0 + HOUR)
        flow_run(engine, settings, [], T0 + 3 * HOUR)
        flow_run(engine, settings, [], T0 + 4 * HOUR + timedelta(minutes=1))
        flow_run(engine, settings, [], T0 + 5 * HOUR)
        assert [b["event"] for b in hook.accepted] == ["opened", "repeat"]
        (incident,) = incidents(engine)
        result = CliRunner().invoke(main, ["incidents", "ack", str(incident.id)])
        assert result.exit_code == 0, result.output
        flow_run(engine, settings, [], T0 + 9 * HOUR)
        assert [b["event"] for b in hook.accepted] == ["opened", "repeat"]


def test_ack_and_resolve_by_hand_from_the_cli(engine: Engine, warehouse_url: str) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        flow_run(engine, settings, [window_alert(0)], T0 + HOUR)
        (incident,) = incidents(engine)
        runner = CliRunner()
        listed = runner.invoke(main, ["incidents", "--json"])
        assert listed.exit_code == 0, listed.output
        (row,) = orjson.loads(listed.output)
        assert (row["id"], row["state"], row["alert_count"]) == (incident.id, "open", 1)
        for flags, count in (
            (["--kind", "cost_anomaly", "--feature", "chat"], 1),
            (["--kind", "slo_breach"], 0),
            (["--feature", "rag"], 0),
        ):
            filtered = runner.invoke(main, ["incidents", "--json", *flags])
            assert len(orjson.loads(filtered.output)) == count, flags

        assert runner.invoke(main, ["incidents", "ack", str(incident.id)]).exit_code == 0
        again = runner.invoke(main, ["incidents", "ack", str(incident.id)])
        assert again.exit_code == 1
        assert "acknowledged, not open" in again.output
        done = runner.invoke(
            main, ["incidents", "resolve", str(incident.id), "--note", "rolled back"]
        )
        assert done.exit_code == 0, done.output
        assert orjson.loads(runner.invoke(main, ["incidents", "--json"]).output) == []
        (row,) = orjson.loads(runner.invoke(main, ["incidents", "--state", "all", "--json"]).output)
        assert (row["state"], row["note"]) == ("resolved", "rolled back")
        missing = runner.invoke(main, ["incidents", "resolve", "999"])
        assert missing.exit_code == 1
        assert "no incident 999" in missing.output

        (alert,) = orjson.loads(runner.invoke(main, ["alerts", "--json"]).output)
        assert (alert["incident_id"], alert["state"]) == (incident.id, "resolved")
        deliver_pending(engine, list(webhook_channels(settings)), settings)
    assert [b["event"] for b in hook.accepted] == ["opened", "resolved"]
    assert "note: rolled back" in hook.accepted[1]["summary"]
    with engine.connect() as conn:
        assert list_alerts(conn)[0]["state"] == "resolved"


def test_a_backfill_of_old_windows_stores_its_incident_but_notifies_nobody(
    engine: Engine,
) -> None:
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        # Windows that ended 7 h and 8 h before the run (quiet_backfill_hours is 6).
        late = T0 + 9 * HOUR
        old = [window_alert(0), window_alert(1, "critical")]
        flow_run(engine, settings, old, late, cooldown=timedelta(0))
        # A live window of another series in the same run notifies.
        flow_run(engine, settings, [window_alert(8, feature="rag")], late)
        flow_run(engine, settings, [], late + 3 * HOUR)
    assert [(b["event"], b["feature_id"]) for b in hook.accepted] == [
        ("opened", "rag"),
        ("resolved", "rag"),
    ]
    chat, _ = incidents(engine)
    assert (chat.feature_id, chat.state, chat.alert_count) == ("chat", "resolved", 2)
    assert chat.last_notified_at is None
