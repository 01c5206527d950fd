"""Delivery cannot jam: refused or exhausted deliveries go dead, the queue moves on,
and `llmwatch alerts redeliver` sends them again on purpose (issue 16.4)."""

from __future__ import annotations

import os

from click.testing import CliRunner
from sqlalchemy import Engine

from llmwatch.cli import main
from llmwatch.routing import deliver_pending, webhook_channels
from llmwatch.settings import RoutingSettings, Webhook, get_settings
from tests.core.routing.receiver import webhook_receiver
from tests.core.routing.test_delivery import SECRET, alert, deliveries, store


def settings_for(url: str, **changes: object) -> RoutingSettings:
    values: dict[str, object] = {
        "webhooks": [Webhook(name="ops", url=url)],
        "attempts_per_run": 3,
        "backoff_s": 0.0,
        "timeout_s": 2.0,
    }
    values.update(changes)
    return RoutingSettings(**values)  # type: ignore[arg-type]


def test_a_payload_answered_403_goes_dead_and_the_channel_delivers_the_rest(
    engine: Engine,
) -> None:
    ids = store(engine, [alert(i) for i in range(5)])
    with webhook_receiver(f"/hooks/{SECRET}") as hook:
        hook.refuse[str(ids[1])] = 403
        settings = settings_for(hook.url)
        (report,) = deliver_pending(engine, list(webhook_channels(settings)), settings)
        (again,) = deliver_pending(engine, list(webhook_channels(settings)), settings)

    assert report.delivered == [ids[0], *ids[2:]]
    assert report.dead == [ids[1]]
    assert report.pending == 0
    rows = {r[0]: r for r in deliveries(engine)}
    assert rows[ids[1]][2:] == ("dead", 1, "HTTP 403")  # refused for good: tried once
    assert [rows[i][2] for i in ids if i != ids[1]] == ["delivered"] * 4
    assert [int(h["X-Llmwatch-Alert-Id"]) for h in hook.headers] == [ids[0], *ids[2:]]
    # A later run neither retries the dead one nor resends the others.
    assert (again.delivered, again.dead, again.failed) == ([], [], [])
    assert len(hook.attempts) == 5


def test_429_and_5xx_stay_retryable_until_the_attempt_budget_is_spent(engine: Engine) -> None:
    ids = store(engine, [alert(0), alert(1)])
    with webhook_receiver("/hook", [429, 503, 408, 500]) as hook:
        settings = settings_for(hook.url, attempts_per_run=2, max_attempts=4)
        first = deliver_pending(engine, list(webhook_channels(settings)), settings)[0]
        second = deliver_pending(engine, list(webhook_channels(settings)), settings)[0]

    assert (first.failed, first.dead, first.delivered) == ([ids[0]], [], [])
    assert second.dead == [ids[0]]  # 4 attempts spent: given up, and the queue moves on
    assert second.delivered == [ids[1]]
    rows = {r[0]: r for r in deliveries(engine)}
    assert rows[ids[0]][2:4] == ("dead", 4)
    assert rows[ids[0]][4] == "HTTP 500 (gave up after 4 attempts)"


def test_redeliver_sends_a_dead_alert_again_on_purpose(engine: Engine, warehouse_url: str) -> None:
    ids = store(engine, [alert(0), alert(1)])
    with webhook_receiver("/hook") as hook:
        hook.refuse[str(ids[0])] = 400
        hook.refuse[str(ids[1])] = 413
        settings = settings_for(hook.url)
        deliver_pending(engine, list(webhook_channels(settings)), settings)
        assert [r[2] for r in deliveries(engine)] == ["dead", "dead"]
        hook.refuse.clear()  # the receiver was fixed

        os.environ["LLMWATCH_ROUTING__WEBHOOKS"] = f'[{{"name": "ops", "url": "{hook.url}"}}]'
        os.environ["LLMWATCH_ROUTING__PREFECT_EVENTS"] = "false"
        get_settings.cache_clear()  # storing the alerts read the settings already
        try:
            runner = CliRunner()
            one = runner.invoke(main, ["alerts", "redeliver", str(ids[0])])
            assert one.exit_code == 0, one.output
            assert [r[2] for r in deliveries(engine)] == ["delivered", "dead"]
            rest = runner.invoke(main, ["alerts", "redeliver", "--dead"])
            assert rest.exit_code == 0, rest.output
        finally:
            del os.environ["LLMWATCH_ROUTING__WEBHOOKS"]
            del os.environ["LLMWATCH_ROUTING__PREFECT_EVENTS"]
            get_settings.cache_clear()

    assert [r[2] for r in deliveries(engine)] == ["delivered", "delivered"]
    assert "1 queued again" in one.output
    assert [h["X-Llmwatch-Alert-Id"] for h in hook.headers] == [str(ids[0]), str(ids[1])]
    listing = CliRunner().invoke(main, ["alerts"])  # the plain listing still works
    assert listing.exit_code == 0
    assert f"#{ids[0]}" in listing.output
