"""Triage of a quality alert over generated RAG traffic with a quality incident, judged by
the judge core against the simulator: the sample shows the lowest-judged answers with the
judge's reasons; the flagged cases become golden candidates, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy import select as sa_select

from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.evals.dataset import load_dataset
from llmwatch.ingest import ingest_paths
from llmwatch.judge.job import chart, judge, judge_setup, select
from llmwatch.settings import Settings
from llmwatch.simulator import SimulatorServer
from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.traffic import generate_traffic
from llmwatch.simulator.writer import GenerationSummary, write_traffic
from llmwatch.triage import add_from_flagged, build_report, default_candidates_path
from llmwatch.warehouse.models import Judgement

MODEL = "gpt-4o-2024-08-06"
SCENARIO = f"""
[scenario]
name = "triage-quality"
start = 2025-06-02T00:00:00Z
days = 2
seed = 5
requests_per_day = 2400

[[incidents]]
kind = "quality_regression"
feature = "rag_qa"
model = "{MODEL}"
start = "+1d08h"
end = "+1d22h"
quality_drop = 0.6
hallucination_rise = 0.2
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, GenerationSummary]:
    scenario = Scenario.loads(SCENARIO)
    traffic = generate_traffic(scenario, include_text=True)
    return scenario, write_traffic(traffic, tmp_path_factory.mktemp("triage-quality"))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(latency_ms=1).start()
    yield server
    server.stop()


@pytest.fixture
def quality_alert(
    engine: Engine,
    generated: tuple[Scenario, GenerationSummary],
    sim: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> dict:
    scenario, files = generated
    for name, value in {
        "LLMWATCH_JUDGE_BASE_URL": sim.base_url,
        "LLMWATCH_JUDGE_MODEL": "gpt-4o-mini-2024-07-18",
        "LLMWATCH_JUDGE__DEFAULT_SAMPLE_RATE": "0",
        "LLMWATCH_JUDGE__SAMPLE_RATES": '{"rag_qa": 0.35}',
        "LLMWATCH_JUDGE__REQUESTS_PER_SECOND": "1000",
        "LLMWATCH_JUDGE__CONCURRENCY": "16",
        "LLMWATCH_JUDGE__CHART_WARMUP_WINDOWS": "8",
        "LLMWATCH_JUDGE__CHART_MIN_WINDOW_N": "4",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    ingest_paths(engine, files.request_files, settings)
    setup = judge_setup(settings)
    selection = select(engine, setup, scenario.start, scenario.end)
    asyncio.run(judge(engine, setup, selection))
    chart(engine, setup, scenario.end, now=scenario.end + timedelta(hours=1))
    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["kind"] == "quality_regression"]
    assert alerts, "the quality incident should have raised a quality_regression"
    return alerts[0]


def test_quality_triage_shows_the_lowest_judged_answers_and_learns_once(
    engine: Engine, quality_alert: dict, tmp_path: Path
) -> None:
    report = build_report(engine, quality_alert["id"], limit=10)
    assert report.metric.name == "judge_score"
    samples = report.samples
    assert len(samples) == 10
    scores = [s["judge_score"] for s in samples]
    assert scores == sorted(scores)
    assert all(s["judge_reasons"] for s in samples)
    assert {(s["feature_id"], s["model_id"]) for s in samples} == {("rag_qa", MODEL)}
    # the sample is the worst of the alert's window and slice
    with engine.connect() as conn:
        window_scores = conn.execute(
            sa_select(Judgement.score)
            .where(Judgement.feature_id == "rag_qa", Judgement.status == "ok")
            .where(Judgement.request_ts >= report.window_start)
            .where(Judgement.request_ts < report.window_end)
        ).scalars()
        in_window = sorted(window_scores)
    assert scores == in_window[:10]
    # RAG records have context, and the rubric rated its relevance
    assert all(s["context"] for s in samples)
    assert all(s["context_relevance"] is not None for s in samples)
    feature = next(b for b in report.breakdowns if b.dimension == "feature_id")
    assert feature.moved == "rag_qa"

    result = add_from_flagged(engine, quality_alert["id"], limit=10)
    assert result.path == default_candidates_path(quality_alert["id"])
    assert len(result.added) == 10
    dataset = load_dataset(result.path)
    assert [e.id for e in dataset.examples] == [f"flagged-{s['request_id']}" for s in samples]
    assert {e.check.type for e in dataset.examples} == {"judge"}
    comments = [
        json.loads(line[2:])
        for line in result.path.read_text().splitlines()
        if line.startswith("# ")
    ]
    assert [c["request_id"] for c in comments] == [s["request_id"] for s in samples]
    assert all(c["judge_reasons"] for c in comments)

    again = add_from_flagged(engine, quality_alert["id"], limit=10)
    assert again.added == []
    assert len(again.already_present) == 10
    assert len(load_dataset(result.path).examples) == 10

    # through the CLI, to another file: the live dataset is never touched
    out = tmp_path / "review.jsonl"
    cli = CliRunner().invoke(
        main, ["golden", "add-from-flagged", str(quality_alert["id"]), "--out", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    expected = min(20, len(in_window))  # the CLI's default limit
    assert f"{expected} candidate(s) added" in cli.output
    assert len(load_dataset(out).examples) == expected
