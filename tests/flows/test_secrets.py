"""Secrets never reach the console, the warehouse, the reports or Prefect's database
(issue 16.5): each secret the settings know is planted in each error path, real flows
run through the CLI, and everything they wrote is searched for it."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.cli import main
from llmwatch.ingest import ingest_paths
from llmwatch.settings import Settings, get_settings
from llmwatch.warehouse.models import Base
from tests.core.ingest.test_loader import record, write_jsonl
from tests.core.llm.fault_server import Action, FaultServer
from tests.core.routing.receiver import webhook_receiver

pytestmark = pytest.mark.flow

T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)  # the hour of test_loader.record()

JUDGE_KEY = "sk-planted-judge-key-0123456789abcdef"
TARGET_KEY = "planted-target-key-9876543210"
HOOK_TOKEN = "T0PLANTED/B0PLANTED/hooktokenplanted0123"
DB_PASSWORD = "planted-db-password-42"


def echo_body(*keys: str) -> bytes:
    """What a gateway answering 401 says: the request's Authorization header, echoed."""
    echoed = {"Authorization": f"Bearer {keys[0]}", "also": list(keys)}
    return json.dumps({"error": {"message": "invalid api key", "request": echoed}}).encode()


def warehouse_text(engine: Engine) -> str:
    dump = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(dump)


def prefect_database_bytes() -> bytes:
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    APILogHandler().flush()
    time.sleep(1.0)  # the harness server writes the last log batch
    path = Path(str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_planted_secrets_appear_nowhere(
    engine: Engine,
    warehouse_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [JUDGE_KEY, TARGET_KEY, HOOK_TOKEN]
    if warehouse_url.startswith("postgresql"):  # trust auth: any password is accepted
        url = make_url(warehouse_url).set(password=DB_PASSWORD)
        monkeypatch.setenv("LLMWATCH_WAREHOUSE_URL", url.render_as_string(hide_password=False))
        secrets.append(DB_PASSWORD)
    judge = FaultServer(Action(status=401, body=echo_body(JUDGE_KEY, TARGET_KEY))).start()
    reports = tmp_path / "reports"
    with webhook_receiver(f"/hooks/{HOOK_TOKEN}", [500] * 50) as hook:
        for name, value in {
            "LLMWATCH_JUDGE_BASE_URL": judge.base_url,
            "LLMWATCH_JUDGE_MODEL": "gpt-4o-mini-2024-07-18",
            "LLMWATCH_JUDGE_API_KEY": JUDGE_KEY,
            "LLMWATCH_JUDGE__DEFAULT_SAMPLE_RATE": "1.0",
            "LLMWATCH_JUDGE__MAX_RETRIES": "0",
            "PLANTED_TARGET_KEY": TARGET_KEY,
            "LLMWATCH_TARGETS": json.dumps(
                {
                    "prod": {
                        "base_url": judge.base_url,
                        "model": "m",
                        "api_key_env": "PLANTED_TARGET_KEY",
                    }
                }
            ),
            "LLMWATCH_ROUTING__WEBHOOKS": json.dumps([{"name": "ops", "url": hook.url}]),
            "LLMWATCH_ROUTING__ATTEMPTS_PER_RUN": "1",
            "LLMWATCH_ROUTING__BACKOFF_S": "0",
            "LLMWATCH_REPORTS_DIR": str(reports),
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        get_settings()  # as every flow and command does first: registers the secrets
        rows = [
            record(i, input="How do I reset my password?", output="Click reset.") for i in range(3)
        ]
        ingest_paths(engine, [write_jsonl(tmp_path / "r.jsonl", rows)], Settings())
        # A flow that puts an error it caught into an alert: the webhook URL and a key.
        with engine.begin() as conn:
            record_alerts(
                conn,
                [
                    NewAlert(
                        kind="judge_failure",
                        flow="judge",
                        message=f"judge said: Bearer {JUDGE_KEY} via {hook.url}",
                        details={"error": f"key {TARGET_KEY}"},
                    )
                ],
            )

        runner = CliRunner()
        start, end = T0.isoformat(), (T0 + timedelta(hours=2)).isoformat()
        judged = runner.invoke(main, ["run", "judge", "--start", start, "--end", end])
        cost = runner.invoke(main, ["run", "cost", "--start", start, "--end", end])
        listing = runner.invoke(main, ["alerts", "--json"])
        assert hook.attempts, "the webhook failure path was taken"
    judge.stop()

    assert judged.exit_code != 0, judged.output  # the 401 stopped the run
    assert cost.exit_code in (0, 3), cost.output
    console = capfd.readouterr()
    outputs = {
        "console": console.out + console.err + judged.output + cost.output + listing.output,
        "exceptions": repr(judged.exception) + repr(cost.exception),
        "logs": caplog.text,
        "warehouse": warehouse_text(engine),
        "reports": "".join(p.read_text() for p in reports.rglob("*") if p.is_file()),
    }
    assert "[redacted]" in outputs["warehouse"] + outputs["console"]
    prefect_db = prefect_database_bytes()
    for secret in secrets:
        for where, content in outputs.items():
            assert secret not in content, f"{secret} in {where}"
        assert secret.encode() not in prefect_db, f"{secret} in Prefect's database"
