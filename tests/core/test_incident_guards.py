"""Incidents hold under pressure: one unresolved incident per series even with runs
racing, deliveries queued before migration 0004 still delivered, and what channels and
the CLI show about an incident (issue 14)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import llmwatch.incidents as incidents_module
from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.cli import main
from llmwatch.routing import deliver_pending, webhook_channels
from llmwatch.settings import RoutingSettings, Webhook
from llmwatch.warehouse.engine import make_engine, upgrade
from llmwatch.warehouse.models import Incident, IncidentNotification
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.core.routing.receiver import webhook_receiver
from tests.core.test_incidents import HOUR, T0, flow_run, settings_for, window_alert


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_second_unresolved_incident_of_a_series_is_refused(engine: Engine) -> None:
    flow_run(engine, RoutingSettings(), [window_alert(0)], T0 + HOUR)
    with engine.connect() as conn:
        row = dict(conn.execute(select(Incident.__table__)).mappings().one())
    row.pop("id")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Incident), row)
    # A resolved one of the same series is history, not a duplicate.
    with engine.begin() as conn:
        conn.execute(insert(Incident), {**row, "state": "resolved"})
    assert _count(engine, Incident) == 2


def test_a_run_that_lost_the_race_joins_the_winners_incident(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_run(engine, RoutingSettings(), [window_alert(0)], T0 + HOUR)
    # Fault injection: this run's read of the series came before the other run's commit.
    reads: list[str] = []
    real = incidents_module._unresolved

    def stale_first(conn: Any, key: str) -> Any:
        reads.append(key)
        return None if len(reads) == 1 else real(conn, key)

    monkeypatch.setattr(incidents_module, "_unresolved", stale_first)
    with engine.begin() as conn:
        record_alerts(conn, [window_alert(1)], cooldown=timedelta(0), now=T0 + 2 * HOUR)
    (incident,) = _incidents(engine)
    assert (incident.state, incident.alert_count) == ("open", 2)
    assert len(reads) == 2
    with engine.connect() as conn:
        events = conn.execute(select(IncidentNotification.event)).scalars().all()
    assert events == ["opened"]


def test_two_concurrent_runs_open_one_incident(engine: Engine) -> None:
    """Two transactions alert on the same series at once: the second waits for the
    first's claim (unique index on PostgreSQL, the write lock on SQLite) and joins it."""
    zero = timedelta(0)
    errors: list[BaseException] = []
    second_done = threading.Event()

    def second_run() -> None:
        try:
            with engine.begin() as conn:
                record_alerts(conn, [window_alert(1)], cooldown=zero, now=T0 + 2 * HOUR)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            second_done.set()

    with engine.begin() as conn:
        record_alerts(conn, [window_alert(0)], cooldown=zero, now=T0 + HOUR)
        thread = threading.Thread(target=second_run)
        thread.start()
        time.sleep(1.0)
        # It cannot finish while the first run's incident is not committed.
        assert not second_done.is_set()
    thread.join(timeout=30)
    assert errors == []
    (incident,) = _incidents(engine)
    assert (incident.state, incident.alert_count) == ("open", 2)
    assert _count(engine, IncidentNotification) == 1


def _incidents(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Incident.__table__).order_by(Incident.id)).all())


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"llmwatch_mig_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_deliveries_pending_before_incidents_are_delivered_after_the_upgrade(
    empty_url: str,
) -> None:
    engine = make_engine(empty_url)
    upgrade(engine, "0003")
    created = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as conn:
        for alert_id, feature in ((1, "chat"), (2, "chat"), (3, "rag")):
            conn.execute(
                text(
                    "INSERT INTO alerts (id, created_at, kind, severity, flow, feature_id, "
                    "model_id, message, series_key) VALUES (:id, :at, 'cost_anomaly', "
                    "'warning', 'cost', :f, 'm1', :msg, :key)"
                ),
                {"id": alert_id, "at": created, "f": feature, "msg": f"old alert {alert_id}",
                 "key": f"cost_anomaly|{feature}|m1|"},
            )  # fmt: skip
        # Alert 1 was delivered already; 2 and 3 were still waiting for the webhook.
        for alert_id, status, attempts in (
            (1, "delivered", 1),
            (2, "pending", 4),
            (3, "sending", 1),
        ):
            conn.execute(
                text(
                    "INSERT INTO alert_deliveries (alert_id, channel, status, attempts, "
                    "updated_at) VALUES (:a, 'webhook:ops', :s, :n, :at)"
                ),
                {"a": alert_id, "s": status, "n": attempts, "at": created},
            )
    upgrade(engine)

    with engine.connect() as conn:
        old = conn.execute(
            text("SELECT alert_id, status FROM alert_deliveries ORDER BY alert_id")
        ).all()
        notified = conn.execute(
            select(IncidentNotification.alert_id, IncidentNotification.event).order_by(
                IncidentNotification.alert_id
            )
        ).all()
    assert [tuple(r) for r in old] == [(1, "delivered"), (2, "migrated"), (3, "migrated")]
    assert [tuple(r) for r in notified] == [(2, "opened"), (3, "opened")]
    incidents = _incidents(engine)
    assert sorted((i.feature_id, i.state) for i in incidents) == [
        ("chat", "open"),
        ("rag", "open"),
    ]

    with webhook_receiver() as hook:
        settings = RoutingSettings(
            webhooks=[Webhook(name="ops", url=hook.url)], attempts_per_run=1, backoff_s=0.0
        )
        (report,) = deliver_pending(engine, list(webhook_channels(settings)), settings)
        deliver_pending(engine, list(webhook_channels(settings)), settings)
    # Exactly the two that were waiting, once each, with their incident.
    assert sorted(b["id"] for b in hook.accepted) == [2, 3]
    assert {b["incident_id"] for b in hook.accepted} == {i.id for i in incidents}
    assert report.pending == 0
    engine.dispose()


def test_webhook_payloads_carry_the_incident(engine: Engine, tmp_path: Path) -> None:
    with webhook_receiver() as json_hook, webhook_receiver() as slack_hook:
        settings = RoutingSettings(
            webhooks=[
                Webhook(name="ops", url=json_hook.url, kind="json"),
                Webhook(name="chat", url=slack_hook.url, kind="slack"),
            ],
            attempts_per_run=1,
            backoff_s=0.0,
            backfill_hours=1e6,
        )
        flow_run(engine, settings, [window_alert(0)], T0 + HOUR)
    (incident,) = _incidents(engine)
    (body,) = json_hook.accepted
    assert body["incident_id"] == incident.id
    assert (body["state"], body["severity"], body["event"]) == ("open", "warning", "opened")
    assert body["summary"].startswith("opened [warning] cost_anomaly chat/m1:")
    assert body["triage"] == f"llmwatch triage {incident.first_alert_id}"
    assert body["page"] == str(Path("reports") / "triage" / f"{incident.first_alert_id}.html")
    (slack,) = slack_hook.accepted
    lines = slack["text"].splitlines()
    assert f"incident #{incident.id} open: {body['summary']}" in lines
    assert f"triage: llmwatch triage {incident.first_alert_id}" in lines
    assert f"page: {body['page']}" in lines


def test_alerts_cli_shows_the_incident_and_filters(engine: Engine, warehouse_url: str) -> None:
    zero = timedelta(0)
    with engine.begin() as conn:
        record_alerts(conn, [window_alert(0), window_alert(1, feature="rag")], zero, now=T0)
    flow_run(engine, RoutingSettings(), [], T0 + 10 * HOUR)  # both resolve
    with engine.begin() as conn:
        record_alerts(conn, [window_alert(11)], zero, now=datetime.now(UTC))
    runner = CliRunner()

    def ids(*flags: str) -> list[int]:
        result = runner.invoke(main, ["alerts", "--json", *flags])
        assert result.exit_code == 0, result.output
        return [a["id"] for a in orjson.loads(result.output)]

    rows = orjson.loads(runner.invoke(main, ["alerts", "--json"]).output)
    assert [(a["id"], a["feature_id"], a["state"]) for a in rows] == [
        (1, "chat", "resolved"),
        (2, "rag", "resolved"),
        (3, "chat", "open"),
    ]
    assert rows[0]["incident_id"] != rows[2]["incident_id"]  # the series opened anew
    assert ids("--feature", "chat") == [1, 3]
    assert ids("--state", "open") == [3]
    assert ids("--state", "resolved", "--feature", "rag") == [2]
    assert ids("--kind", "slo_breach") == []
    assert ids("--kind", "cost_anomaly", "--since", "1d") == [3]
    text_out = runner.invoke(main, ["alerts", "--feature", "chat"]).output.splitlines()
    assert f"incident=#{rows[2]['incident_id']} open" in text_out[1]
    assert f"incident=#{rows[0]['incident_id']} resolved" in text_out[0]
    bad = runner.invoke(main, ["alerts", "--state", "closed"])
    assert bad.exit_code == 2


def test_two_detectors_of_one_symptom_share_one_incident(engine: Engine) -> None:
    spike = NewAlert(
        kind="token_spike", flow="cost", feature_id="chat", model_id="m1",
        metric="total_tokens_p50", window_start=T0, window_end=T0 + HOUR,
        message="tokens per request 3x",
    )  # fmt: skip
    with webhook_receiver() as hook:
        settings = settings_for(hook.url)
        # Spend and tokens per request rise together: one incident, one notification.
        flow_run(engine, settings, [window_alert(0), spike], T0 + HOUR)
        # Another feature's spike is its own incident.
        flow_run(engine, settings, [window_alert(0, feature="rag")], T0 + HOUR)
    chat, rag = _incidents(engine)
    assert (chat.kind, chat.alert_count, rag.alert_count) == ("cost_anomaly", 2, 1)
    assert [(b["event"], b["feature_id"]) for b in hook.accepted] == [
        ("opened", "chat"),
        ("opened", "rag"),
    ]
