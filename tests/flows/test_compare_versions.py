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


def test_cli_prints_the_table_once_and_the_feature_warning(engine: Engine, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL
    from sqlalchemy import select, update

    from llmwatch.warehouse.models import Request

    ingest_canary_traffic(engine, tmp_path / "traffic")
    with engine.begin() as conn:
        ids = list(conn.execute(select(Request.request_id).where(Request.model_id == EQUAL)))
        conn.execute(
            update(Request)
            .where(Request.request_id.in_([i for (i,) in ids[::3]]))
            .values(feature_id="rag_qa")
        )
    # A real process against the harness's API, as a user runs it (Prefect logs included).
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    result = subprocess.run(
        [sys.executable, "-m", "llmwatch", "run", "compare", "--baseline", BASELINE,
         "--candidate", EQUAL, "--since", START.isoformat(), "--until", END.isoformat()],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    console = result.stdout + result.stderr
    assert result.returncode in (0, 1, 3), console
    assert console.count("VERDICT:") == 1, console
    header = ["check", "baseline", "candidate"]
    assert sum(line.split()[:3] == header for line in console.splitlines()) == 1, console
    assert console.count("the arms serve different features") == 1, console
