"""The compare-versions flow over generated canary traffic, and its CLI gate."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from flows.compare_versions import compare_versions
from llmwatch.cli import main
from tests.core.compare.traffic import (
    BASELINE,
    END,
    EQUAL,
    SLOW,
    START,
    ingest_canary_traffic,
    insert_judgements,
)
from tests.flows.conftest import read_artifacts


def test_compare_flow_and_cli_gate(engine: Engine, tmp_path: Path) -> None:
    ingest_canary_traffic(engine, tmp_path / "traffic")
    insert_judgements(engine, {BASELINE: 4.0, EQUAL: 4.0, SLOW: 4.0})

    # The slower candidate: rollback, with the evidence published as artifacts.
    result = compare_versions(
        baseline=BASELINE, candidate=SLOW, since=START.isoformat(), until=END.isoformat()
    )
    assert result.verdict == "rollback"
    assert result.check("latency").status == "regressed"
    assert result.check("quality").status == "ok"
    table = read_artifacts("compare-checks")[0]["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    assert {row["check"]: row["status"] for row in rows}["ttft"] == "regressed"
    assert read_artifacts("compare-verdict")[0]["data"].startswith("# ROLLBACK")

    runner = CliRunner()
    period = ["--since", START.isoformat(), "--until", END.isoformat()]
    equal = runner.invoke(
        main, ["run", "compare", "--baseline", BASELINE, "--candidate", EQUAL, *period]
    )
    assert equal.exit_code == 0, equal.output
    assert "VERDICT: PROMOTE" in equal.output

    slow = runner.invoke(
        main,
        ["run", "compare", "--baseline", BASELINE, "--candidate", SLOW, *period, "--json"],
    )
    assert slow.exit_code == 1, slow.output
    assert json.loads(slow.output)["verdict"] == "rollback"

    # Ten minutes of traffic: not enough data.
    early = START.replace(minute=10).isoformat()
    args = ["run", "compare", "--baseline", BASELINE, "--candidate", SLOW, "--since", "10m"]
    hold = runner.invoke(main, [*args, "--until", early])
    assert hold.exit_code == 3, hold.output
    assert "VERDICT: HOLD" in hold.output

    bad = runner.invoke(
        main, ["run", "compare", "--baseline", BASELINE, "--candidate", SLOW, "--since", "soon"]
    )
    assert bad.exit_code == 2
    assert "neither a duration" in bad.output
