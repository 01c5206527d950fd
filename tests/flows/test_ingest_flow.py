"""The ingest flow as the schedule runs it: a real Prefect flow run."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from flows.ingest import ingest_flow
from llmwatch.warehouse.models import Request, UserSignal
from tests.flows.conftest import read_artifacts
from tests.s3server import SECRET_KEY, S3Server

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def test_flow_ingests_the_inbox_once(engine: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / ".llmwatch" / "inbox"
    (inbox / "requests").mkdir(parents=True)
    (inbox / "signals").mkdir(parents=True)
    shutil.copy(SAMPLE / "requests.jsonl", inbox / "requests")
    shutil.copy(SAMPLE / "otel_traces.json", inbox / "requests")
    shutil.copy(SAMPLE / "signals.jsonl.gz", inbox / "signals")

    first = ingest_flow()
    # The rejects alert is on the reports site at once.
    assert "ingest_rejects" in Path("reports/index.html").read_text()
    Path("reports/index.html").unlink()
    second = ingest_flow()
    # Nothing new stored, nothing to rebuild (ingest runs every minute).
    assert not Path("reports/index.html").exists()

    assert first.total("loaded") > 3040
    assert first.total("rejected") == 9
    assert second.total("loaded") == 0
    assert second.files_skipped == 3
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Request)).scalar_one() == 3040
        assert conn.execute(select(func.count()).select_from(UserSignal)).scalar_one() > 1000
    artifacts = read_artifacts("ingest-summary")
    assert len(artifacts) >= 2
    assert "requests.jsonl" in str(artifacts[-1]["data"])


def test_a_corrupt_file_is_quarantined_and_the_rest_of_the_inbox_loads(
    engine: Engine, tmp_path: Path
) -> None:
    from llmwatch.alerts import list_alerts
    from llmwatch.warehouse.models import QuarantinedFile

    inbox = tmp_path / ".llmwatch" / "inbox"
    (inbox / "requests").mkdir(parents=True)
    (inbox / "signals").mkdir(parents=True)
    (inbox / "requests" / "0-corrupt.json.gz").write_bytes(b"\x1f\x8b\x08\x00not gzip at all")
    shutil.copy(SAMPLE / "requests.jsonl", inbox / "requests")
    shutil.copy(SAMPLE / "signals.jsonl.gz", inbox / "signals")

    summary = ingest_flow()

    assert summary.files_quarantined == 1
    assert summary.total("loaded") > 3000
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(UserSignal)).scalar_one() > 1000
        assert conn.execute(select(func.count()).select_from(QuarantinedFile)).scalar_one() == 1
        quarantine_alerts = [
            a for a in list_alerts(conn) if a["details"].get("path", "").endswith("corrupt.json.gz")
        ]
    assert len(quarantine_alerts) == 1
    assert ingest_flow().files_quarantined == 1  # known bad: skipped, no second alert
    with engine.connect() as conn:
        assert len([a for a in list_alerts(conn) if "corrupt" in a["message"]]) == 1


def test_flow_reads_an_object_store_inbox_once_and_never_logs_its_keys(
    engine: Engine, s3_server: S3Server, s3_inbox: str, caplog: pytest.LogCaptureFixture
) -> None:
    from llmwatch.redact import MASK, redact

    bucket, _, prefix = s3_inbox.removeprefix("s3://").partition("/")
    client = s3_server.client()
    for local, key in [
        (SAMPLE / "requests.jsonl", "requests/requests.jsonl"),
        (SAMPLE / "otel_traces.json", "requests/otel_traces.json"),
        (SAMPLE / "signals.jsonl.gz", "signals/signals.jsonl.gz"),
    ]:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=local.read_bytes())

    with caplog.at_level(logging.DEBUG):
        first = ingest_flow()
        second = ingest_flow()

    assert first.total("rejected") == 9
    assert {f.kind for f in first.files} == {"requests", "signals"}
    assert second.files == []  # loaded objects are not even downloaded again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Request)).scalar_one() == 3040
        assert conn.execute(select(func.count()).select_from(UserSignal)).scalar_one() > 1000
    first_summary = read_artifacts("ingest-summary")[1]  # newest first
    assert f"{s3_inbox}/requests/requests.jsonl" in str(first_summary["data"])
    assert redact(f"secret={SECRET_KEY}") == f"secret={MASK}"
    assert SECRET_KEY not in caplog.text
