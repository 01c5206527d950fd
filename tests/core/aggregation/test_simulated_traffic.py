"""The simulator's generated traffic, ingested through llmwatch.ingest, back-filled hour by
hour and SLO burn rates evaluated over it, on default settings: injected incidents alert
in their window for their series, a clean week is quiet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from llmwatch.aggregation import run_window, windows_between
from llmwatch.alerts import list_alerts
from llmwatch.ingest import ingest_paths
from llmwatch.settings import CostSettings, Settings, SloSettings
from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.traffic import generate_traffic
from llmwatch.simulator.writer import GenerationSummary, write_traffic
from llmwatch.slo.evaluate import evaluate_slos, evaluation_times

INCIDENTS = """
[scenario]
name = "cost-aggregation-incidents"
start = 2025-06-02T00:00:00Z
days = 4
seed = 42
requests_per_day = 12000

[[incidents]]
kind = "cost_spike"
feature = "support_chat"
model = "gpt-4o-mini-2024-07-18"
start = "+2d10h"
end = "+2d14h"

[[incidents]]
kind = "latency_slo_breach"
feature = "rag_qa"
model = "gpt-4o-2024-08-06"
start = "+2d15h"
end = "+2d18h"
factor = 4.0

[[incidents]]
kind = "survivorship_bias"
feature = "support_chat"
start = "+3d08h"
end = "+3d20h"
"""

CLEAN_WEEK = """
[scenario]
name = "clean-week"
start = 2025-06-02T00:00:00Z
days = 7
seed = 7
requests_per_day = 12000
"""

SETTINGS = CostSettings()


@dataclass
class Generated:
    scenario: Scenario
    files: GenerationSummary


def _generate(text: str, out: Path) -> Generated:
    scenario = Scenario.loads(text)
    traffic = generate_traffic(scenario, include_text=False)
    return Generated(scenario, write_traffic(traffic, out))


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(INCIDENTS, tmp_path_factory.mktemp("incidents"))


@pytest.fixture(scope="module")
def clean_week(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(CLEAN_WEEK, tmp_path_factory.mktemp("clean"))


def _ingest_and_back_fill(engine: Engine, generated: Generated) -> list[dict[str, object]]:
    settings = Settings()
    ingest_paths(engine, generated.files.request_files, settings)
    ingest_paths(engine, generated.files.signal_files, settings, signals=True)
    scenario = generated.scenario
    for window in windows_between(scenario.start, scenario.end):
        run_window(engine, window, SETTINGS)
    # SLO burn rates every 5 minutes (30 over the clean week, to keep the test short).
    step = timedelta(minutes=5 if scenario.days < 7 else 30)
    for at in evaluation_times(scenario.start, scenario.end, step):
        evaluate_slos(engine, SloSettings(), at, store_status=False)
    with engine.connect() as conn:
        return list_alerts(conn)


def test_incidents_alert_in_their_window_for_their_series(
    engine: Engine, incidents: Generated
) -> None:
    alerts = _ingest_and_back_fill(engine, incidents)
    hourly = [a for a in alerts if a["kind"] != "slo_breach"]
    got = {(a["kind"], a["feature_id"], a["model_id"], a["window_start"]) for a in hourly}
    truth = {t.kind: t for t in incidents.scenario.ground_truth()}
    spike, slow, unhappy = (
        truth["cost_spike"],
        truth["latency_slo_breach"],
        truth["survivorship_bias"],
    )
    hour = timedelta(hours=1)
    assert got == {
        # caught in the spike's first hour, on median tokens and median cost per request
        ("token_spike", spike.feature, spike.model, spike.start.isoformat()),
        ("cost_anomaly", spike.feature, spike.model, spike.start.isoformat()),
        # the pattern is caught in its first hour, and again once the cool-down is over
        ("survivorship_bias", unhappy.feature, "gpt-4o-mini-2024-07-18", unhappy.start.isoformat()),
        (
            "survivorship_bias",
            unhappy.feature,
            "gpt-4o-mini-2024-07-18",
            (unhappy.start + 6 * hour).isoformat(),
        ),
    }
    # The latency SLO of the slow feature pages within 15 minutes of the slowdown, once
    # (the cool-down holds it for the stretch); the only other burn is the cost spike's
    # long answers slowing its feature down (a ticket, during the spike).
    slo = [a for a in alerts if a["kind"] == "slo_breach"]
    pages = [a for a in slo if a["severity"] == "critical"]
    assert [(a["feature_id"], a["metric"]) for a in pages] == [(slow.feature, "latency_slo_burn")]
    paged_at = datetime.fromisoformat(pages[0]["window_end"])
    assert slow.start < paged_at <= slow.start + timedelta(minutes=15)
    for alert in slo:
        if alert["feature_id"] != slow.feature:
            assert (alert["feature_id"], alert["severity"]) == (spike.feature, "warning")
            assert spike.start < datetime.fromisoformat(alert["window_end"]) <= spike.end


def test_a_clean_week_raises_no_alert(engine: Engine, clean_week: Generated) -> None:
    assert _ingest_and_back_fill(engine, clean_week) == []
