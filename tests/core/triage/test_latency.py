"""Triage of a latency SLO alert over the simulator's generated traffic, ingested and
aggregated by the cost core: the scope names the slow feature and model, the timeline the
silent model update that came with the slowdown."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from llmwatch.aggregation import run_window, windows_between
from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.ingest import ingest_paths
from llmwatch.settings import CostSettings, Settings, SloSettings
from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.traffic import generate_traffic
from llmwatch.simulator.writer import GenerationSummary, write_traffic
from llmwatch.slo.evaluate import evaluate_slos, evaluation_times
from llmwatch.triage import build_report, render_text, write_html

SLOW_MODEL = "gpt-4o-2024-08-06"
SCENARIO = f"""
[scenario]
name = "triage-latency"
start = 2025-06-02T00:00:00Z
days = 2
seed = 11
requests_per_day = 6000

[[incidents]]
kind = "latency_slo_breach"
feature = "rag_qa"
model = "{SLOW_MODEL}"
start = "+1d13h"
end = "+1d17h"
factor = 4.0

[[incidents]]
kind = "silent_model_change"
model = "{SLOW_MODEL}"
start = "+1d13h"
to_version = "2024-08-06-r2"
"""
SETTINGS = CostSettings()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, GenerationSummary]:
    scenario = Scenario.loads(SCENARIO)
    traffic = generate_traffic(scenario, include_text=True)
    return scenario, write_traffic(traffic, tmp_path_factory.mktemp("triage-latency"))


@pytest.fixture
def slo_alert(engine: Engine, generated: tuple[Scenario, GenerationSummary]) -> dict:
    scenario, files = generated
    ingest_paths(engine, files.request_files, Settings())
    day = scenario.start + timedelta(days=1)
    for window in windows_between(day + timedelta(hours=11), day + timedelta(hours=18)):
        run_window(engine, window, SETTINGS)
    step = timedelta(minutes=5)
    for at in evaluation_times(day + timedelta(hours=12), day + timedelta(hours=15), step):
        evaluate_slos(engine, SloSettings(), at, store_status=False)
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["kind"] == "slo_breach"]
    assert alerts, "the latency incident should have raised an SLO alert"
    return next(a for a in alerts if a["metric"] == "latency_slo_burn")


def test_scope_names_the_slow_slice_and_timeline_the_change(
    engine: Engine, slo_alert: dict, tmp_path: Path
) -> None:
    report = build_report(engine, slo_alert["id"])
    moved = {b.dimension: b.moved for b in report.breakdowns}
    assert moved["feature_id"] == "rag_qa"
    assert moved["model_id"] == SLOW_MODEL
    rag = next(s for s in report.breakdowns[0].slices if s.value == "rag_qa")
    assert (rag.ratio or 0.0) > 2.5
    assert (rag.tail_current or 0.0) > (rag.tail_baseline or 0.0)

    changes = [e for e in report.events if e.kind == "new_system_fingerprint"]
    assert [(e.model_id, e.related) for e in changes] == [(SLOW_MODEL, True)]
    # The burn alert's window starts at the first slow request (to the minute), which the
    # new fingerprint's first request starts too.
    assert changes[0].at <= report.window_start + timedelta(minutes=1)
    assert changes[0].at >= report.window_start - timedelta(hours=2)
    # the cost flow's other alerts of the incident are on the timeline too
    assert any(e.kind == "alert" for e in report.events)

    # the sample: the slowest affected requests, all of the alert's slice, worst first
    assert len(report.samples) == 20
    assert {(s["feature_id"], s["model_id"]) for s in report.samples} == {("rag_qa", SLOW_MODEL)}
    latencies = [s["latency_ms"] for s in report.samples]
    assert latencies == sorted(latencies, reverse=True)

    text = render_text(report)
    assert "moved most -> rag_qa" in text
    assert "system_fingerprint" in text
    page = write_html(report, tmp_path / "reports")
    assert page == tmp_path / "reports" / "triage" / f"{slo_alert['id']}.html"
    assert "rag_qa" in page.read_text()


def test_cli_prints_report_json_and_writes_the_page(engine: Engine, slo_alert: dict) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["triage", str(slo_alert["id"]), "--json", "--limit", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["alert"]["id"] == slo_alert["id"]
    assert len(data["samples"]) == 5
    assert {b["dimension"]: b["moved"] for b in data["breakdowns"]}["feature_id"] == "rag_qa"
    page = Path("reports/triage", f"{slo_alert['id']}.html")
    assert page.is_file()
    # World-readable, like every report file (a web server serves them).
    assert page.stat().st_mode & 0o777 == 0o644
    assert page.parent.stat().st_mode & 0o777 == 0o755

    text = runner.invoke(main, ["triage", str(slo_alert["id"])])
    assert text.exit_code == 0, text.output
    assert f"Alert #{slo_alert['id']} slo_breach" in text.output

    missing = runner.invoke(main, ["triage", "999999"])
    assert missing.exit_code != 0
    assert "no alert with id 999999" in missing.output
