from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.routing import deliver_pending, redact_url, slack_payload, webhook_channels
from llmwatch.routing.deliver import claim, enqueue
from llmwatch.settings import RoutingSettings, Webhook
from llmwatch.warehouse.models import NotificationDelivery as AlertDelivery
from tests.core.routing.receiver import webhook_receiver

# Recent windows: alerts about old ones are back-fills, which notify nobody.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
SECRET = "T000/B000/XXXXsecretXXXX"


def alert(i: int, kind: str = "slo_breach", severity: str = "warning") -> NewAlert:
    return NewAlert(
        kind=kind,
        flow="cost",
        severity=severity,
        feature_id=f"feature-{i}",
        model_id="m<1>",
        metric="latency_p99_ms",
        value=9000.5,
        threshold=5000.0,
        window_start=T0 + timedelta(hours=i),
        window_end=T0 + timedelta(hours=i + 1),
        message=f"p99 over SLO on <feature-{i}>",
    )


def store(engine: Engine, alerts: list[NewAlert]) -> list[int]:
    with engine.begin() as conn:
        return record_alerts(conn, alerts)


def deliveries(engine: Engine) -> list[tuple[int, str, str, int, str | None]]:
    query = select(
        AlertDelivery.notification_id,
        AlertDelivery.channel,
        AlertDelivery.status,
        AlertDelivery.attempts,
        AlertDelivery.last_error,
    ).order_by(AlertDelivery.channel, AlertDelivery.notification_id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def test_failing_webhooks_get_every_alert_exactly_once_over_several_runs(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = store(engine, [alert(i) for i in range(4)])
    # JSON hook: two 500s, a timeout, a 502, then healthy. Slack hook: healthy.
    with (
        webhook_receiver(f"/hooks/{SECRET}", [500, 500, "slow", 502], slow_s=1.0) as hook,
        webhook_receiver(f"/services/{SECRET}") as slack,
    ):
        settings = RoutingSettings(
            webhooks=[
                Webhook(name="ops", url=hook.url, kind="json"),
                Webhook(name="chat", url=slack.url, kind="slack"),
            ],
            attempts_per_run=2,
            backoff_s=0.01,
            timeout_s=0.3,
        )

        def run() -> dict[str, list[int]]:
            reports = deliver_pending(engine, list(webhook_channels(settings)), settings)
            return {r.channel: r.delivered for r in reports}

        first = run()  # 500, 500: the first alert stays pending, the rest wait
        assert first == {"webhook:ops": [], "webhook:chat": ids}
        assert len(hook.attempts) == 2
        second = run()  # timeout, 502: still pending
        assert second == {"webhook:ops": [], "webhook:chat": []}
        third = run()  # healthy again: everything goes, in order
        assert third["webhook:ops"] == ids
        later = store(engine, [alert(10, kind="cost_anomaly")])
        fourth = run()
        assert fourth == {"webhook:ops": later, "webhook:chat": later}
        assert run() == {"webhook:ops": [], "webhook:chat": []}

    everything = [*ids, *later]
    assert [body["id"] for body in hook.accepted] == everything
    assert [h["X-Llmwatch-Alert-Id"] for h in hook.headers] == [str(i) for i in everything]
    assert hook.accepted[0]["kind"] == "slo_breach"
    assert hook.accepted[0]["feature_id"] == "feature-0"
    assert hook.accepted[0]["window_start"] == T0.isoformat()
    assert len(slack.accepted) == len(everything)
    assert set(slack.accepted[0]) == {"text"}
    assert "&lt;feature-0&gt;" in slack.accepted[0]["text"]

    rows = deliveries(engine)
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (i, c, "delivered") for i in everything for c in ("webhook:chat", "webhook:ops")
    }
    first_ops = next(r for r in rows if r[0] == ids[0] and r[1] == "webhook:ops")
    assert first_ops[3] == 5  # two runs of two failed attempts, then one success
    # The URL's token reaches neither the logs nor the warehouse.
    assert "failed: HTTP 500" in caplog.text
    assert SECRET not in caplog.text
    assert all(SECRET not in (r[4] or "") for r in rows)


def test_a_dead_endpoint_keeps_alerts_pending_with_a_clean_error(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = store(engine, [alert(i) for i in range(3)])
    with webhook_receiver(f"/x/{SECRET}") as gone:
        url = gone.url  # the port is closed once the receiver stops
    settings = RoutingSettings(
        webhooks=[Webhook(name="gone", url=f"{url}?token={SECRET}")],
        attempts_per_run=3,
        backoff_s=0.0,
        timeout_s=0.5,
    )
    (report,) = deliver_pending(engine, list(webhook_channels(settings)), settings)
    assert report.delivered == []
    assert report.failed == [ids[0]]
    assert report.pending == 3
    assert report.last_error is not None
    assert report.last_error.startswith("ConnectError")
    rows = deliveries(engine)
    assert [(r[2], r[3]) for r in rows] == [("pending", 3), ("pending", 0), ("pending", 0)]
    assert SECRET not in caplog.text
    assert all(SECRET not in (r[4] or "") for r in rows)


def test_channels_take_only_their_severities_and_kinds_and_recent_alerts(engine: Engine) -> None:
    ids = store(
        engine,
        [
            alert(0, severity="info"),
            alert(1, severity="critical"),
            alert(2, kind="cost_anomaly", severity="critical"),
        ],
    )
    settings = RoutingSettings(
        webhooks=[
            Webhook(name="pager", url="http://127.0.0.1:9/p", min_severity="critical"),
            Webhook(name="finance", url="http://127.0.0.1:9/f", kinds=["cost_anomaly"]),
        ]
    )
    pager, finance = webhook_channels(settings)
    with engine.begin() as conn:
        assert enqueue(conn, pager, T0 - timedelta(days=1000)) == 2
        assert enqueue(conn, pager, T0 - timedelta(days=1000)) == 0  # queued once
        # Alerts created before the back-fill horizon are not queued for a new channel.
        assert enqueue(conn, finance, datetime.now(UTC) + timedelta(minutes=1)) == 0
        assert enqueue(conn, finance, T0 - timedelta(days=1000)) == 1
    assert [(r[0], r[1]) for r in deliveries(engine)] == [
        (ids[2], "webhook:finance"),
        (ids[1], "webhook:pager"),
        (ids[2], "webhook:pager"),
    ]


def test_one_claim_wins_and_a_dead_claim_is_taken_over(engine: Engine) -> None:
    (alert_id,) = store(engine, [alert(0)])
    (channel,) = webhook_channels(RoutingSettings(webhooks=[Webhook(name="a", url="http://h/x")]))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        enqueue(conn, channel, now - timedelta(days=1))
        stale_before = now - timedelta(minutes=5)
        assert claim(conn, alert_id, channel.name, now, stale_before)
        assert not claim(conn, alert_id, channel.name, now, stale_before)
        later = now + timedelta(minutes=6)
        assert claim(conn, alert_id, channel.name, later, later - timedelta(minutes=5))


def test_redaction_and_slack_text() -> None:
    assert (
        redact_url(f"https://hooks.slack.com/services/{SECRET}?a=b") == "https://hooks.slack.com/…"
    )
    assert redact_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/…"
    text = slack_payload(
        {"id": 7, "kind": "input_drift", "severity": "critical", "flow": "drift",
         "feature_id": None, "model_id": None, "metric": "drift_share", "value": 0.5,
         "threshold": 0.25, "window_start": None, "window_end": None,
         "message": "drift & <b>more</b>", "details": None}
    )["text"]  # fmt: skip
    assert text.splitlines() == [
        ":rotating_light: [critical] input_drift",
        "drift &amp; &lt;b&gt;more&lt;/b&gt;",
        "drift_share = 0.5 (threshold 0.25)",
        "llmwatch alert #7 from flow drift",
    ]


def test_webhook_config_is_checked() -> None:
    with pytest.raises(ValueError, match="http"):
        Webhook(name="x", url="ftp://h/x")
    with pytest.raises(ValueError, match="unique"):
        RoutingSettings(
            webhooks=[Webhook(name="x", url="http://h/1"), Webhook(name="x", url="http://h/2")]
        )
    # The URL is a secret: it does not show in the settings' repr.
    assert SECRET not in repr(Webhook(name="x", url=f"http://h/{SECRET}"))
