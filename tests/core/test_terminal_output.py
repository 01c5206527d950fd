"""User strings reach the terminal without control characters (issue 16.9, that part)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.cli import main
from tests.core.ingest.test_loader import record, write_jsonl

HOSTILE = "chat\x1b[2J\x1b]0;pwned\x07\x9b31m\u202eevil"


def test_alerts_and_ingest_print_no_escape_sequences(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        record_alerts(
            conn,
            [
                NewAlert(
                    kind="slo_breach", flow="cost", feature_id=HOSTILE, message=f"p99 {HOSTILE}"
                )
            ],
        )
    path = write_jsonl(
        tmp_path / "in\x1b[2J.jsonl", [record(1), record(1, output="other"), record(2)]
    )
    runner = CliRunner()
    listing = runner.invoke(main, ["alerts"])
    ingest = runner.invoke(main, ["ingest", "-v", str(path)])
    triage = runner.invoke(main, ["triage", "1"])  # the issue named triage too
    assert HOSTILE[:4] in triage.output, triage.output
    for result in (listing, ingest, triage):
        assert result.exit_code in (0, 3), result.output
        for control in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert control not in result.output
    assert "chat[2J]0;pwned31mevil" in listing.output
