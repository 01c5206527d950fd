"""The distributional canary through its Prefect flow and the CLI, against the simulator
sampled at temperature 1 (where its answers vary from call to call like a real model's).

The simulator's silent update of gpt-4o-mini (worse at JSON, refuses less) must be
found by the test against the pinned run and confirmed by fresh samples, with one alert;
the unchanged model must stay quiet.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from flows.canary_probes import canary_probes
from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.evals.distribution import CONFIRMED, NO_REFERENCE
from llmwatch.settings import get_settings
from llmwatch.simulator import Scenario, SimulatorServer
from llmwatch.warehouse.models import CanaryPin, CanaryRun, CanarySample

pytestmark = pytest.mark.flow

MINI = "gpt-4o-mini-2024-07-18"
SWITCH = datetime(2025, 6, 5, 12, tzinfo=UTC)  # the demo scenario's silent change of MINI


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(Scenario.load("demo"), latency_ms=1).start()
    yield server
    server.stop()


@pytest.fixture
def config(
    sim: SimulatorServer, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    config = tmp_path / "llmwatch.toml"
    config.write_text(
        f'[targets.mini]\nbase_url = "{sim.base_url}"\nmodel = "{MINI}"\n'
        'api_key_env = "SIM_KEY"\ncanary_test = "distribution"\n\n'
        "[evals]\ndistribution_k = 5\npower_simulations = 50\n"
        "distribution_permutations = 499\nbackoff_base_s = 0.01\nconcurrency = 8\n"
    )
    monkeypatch.setenv("SIM_KEY", "sk-canary-test-secret")
    get_settings.cache_clear()
    sim.reset()
    sim.set_clock(SWITCH - timedelta(days=1))
    return config


def test_without_a_pinned_run_the_canary_is_inconclusive(config: Path, engine: Engine):
    result = asyncio.run(canary_probes(target="mini"))
    verdict = result.reports[0].distribution
    assert verdict is not None
    assert verdict.state == NO_REFERENCE
    assert "llmwatch canary pin mini" in verdict.note
    assert result.inconclusive
    assert not result.regressed


def test_unchanged_model_is_quiet_and_a_silent_update_is_confirmed_once(
    sim: SimulatorServer, config: Path, engine: Engine
):
    runner = CliRunner()
    pinned = runner.invoke(main, ["canary", "pin", "mini"])
    assert pinned.exit_code == 0, pinned.output
    assert "pinned run" in pinned.output

    for _ in range(2):
        quiet = runner.invoke(main, ["run", "canary", "--target", "mini"])
        assert quiet.exit_code == 0, quiet.output
        assert "p=" in quiet.output
        assert "power >=" in quiet.output
    with engine.connect() as conn:
        assert list_alerts(conn) == []

    sim.set_clock(SWITCH + timedelta(hours=1))  # the provider updates the model silently
    changed = runner.invoke(main, ["run", "canary", "--target", "mini"])
    assert changed.exit_code == 1, changed.output
    assert "CHANGED (confirmed by fresh samples)" in changed.output
    assert "VERDICT: REGRESSION (distribution of mini)" in changed.output
    with engine.connect() as conn:
        alerts = list_alerts(conn)
        n_runs = conn.execute(select(func.count()).select_from(CanaryRun)).scalar_one()
        n_with_samples = conn.execute(
            select(func.count(func.distinct(CanarySample.run_id)))
        ).scalar_one()
        pin_run = conn.execute(select(CanaryPin.run_id)).scalar_one()
        pin_samples = conn.execute(
            select(func.count()).where(CanarySample.run_id == pin_run)
        ).scalar_one()
    # pin + two quiet runs + the changed run and its confirmation, all with samples.
    assert n_runs == n_with_samples == 5
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["kind"] == "canary_regression"
    assert alert["model_id"] == MINI
    details = alert["details"]
    assert details["state"] == CONFIRMED
    assert details["first"]["p_value"] < 0.05
    assert details["confirmation"]["p_value"] < 0.05
    assert details["confirmation_run_id"]
    assert details["power"]["k"] == 5
    assert details["evidence"]["reference"]["served_models"]
    assert details["evidence"]["run"]["output_chars"]["p50"] > 0
    assert pin_samples == details["first"]["n_reference"]  # the pin took 2k per probe
    assert details["first"]["n_candidate"] * 2 == details["first"]["n_reference"]
    assert "sk-canary-test-secret" not in json.dumps(alerts, default=str)
