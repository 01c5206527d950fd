"""The sample-and-judge flow on the Prefect test harness, against the simulator over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from flows.sample_and_judge import JudgeEndpointError, sample_and_judge
from llmwatch.alerts import list_alerts
from llmwatch.judge.store import get_watermark
from llmwatch.settings import get_settings
from llmwatch.simulator import SimulatorServer
from llmwatch.warehouse.models import Judgement
from tests.core.judge.helpers import T0, insert_requests, production_rows

pytestmark = pytest.mark.flow

SWITCHED = "gpt-4o-2024-08-06"
STABLE = "gpt-4o-mini-2024-07-18"
JUDGE = "gpt-4o-mini-2024-07-18"
PER_HOUR = 8
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(latency_ms=2).start()
    yield server
    server.stop()


@pytest.fixture
def judge_env(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "LLMWATCH_JUDGE_BASE_URL": sim.base_url,
        "LLMWATCH_JUDGE_MODEL": JUDGE,
        "LLMWATCH_JUDGE_API_KEY": "sk-flow-test-secret",
        "LLMWATCH_JUDGE__DEFAULT_SAMPLE_RATE": "1.0",
        "LLMWATCH_JUDGE__REQUESTS_PER_SECOND": "1000",
        "LLMWATCH_JUDGE__BACKOFF_BASE_S": "0.01",
        "LLMWATCH_JUDGE__CHART_WARMUP_WINDOWS": "8",
        "LLMWATCH_JUDGE__CHART_MIN_WINDOW_N": "5",
        "LLMWATCH_JUDGE__CHART_BASELINE_MIN_N": "40",
        "LLMWATCH_JUDGE__CHART_BASELINE_HOURS": "0",
        "LLMWATCH_JUDGE__COMMIT_EVERY": "10",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return env


def hours(sim: SimulatorServer, model: str, feature: str, start: int, count: int) -> list[dict]:
    return production_rows(
        sim.base_url,
        model,
        T0 + start * timedelta(hours=1),
        count * PER_HOUR,
        prefix=f"{feature}-{start}",
        spacing=timedelta(hours=1) / PER_HOUR,
        feature_id=feature,
    )


def judged(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Judgement)).scalar_one()
        distinct = conn.execute(
            select(func.count(func.distinct(Judgement.request_id)))
        ).scalar_one()
    return total, distinct


def test_model_switch_raises_quality_regression_for_that_feature(
    engine: Engine, sim: SimulatorServer, judge_env: dict[str, str]
) -> None:
    sim.reset()
    sim.pin_version(SWITCHED, None)
    rows = hours(sim, SWITCHED, "rag_qa", 0, 10) + hours(sim, STABLE, "support_chat", 0, 16)
    sim.pin_version(SWITCHED, "2024-08-06-r2")  # the silent, worse version
    rows += hours(sim, SWITCHED, "rag_qa", 10, 6)
    sim.pin_version(SWITCHED, None)
    insert_requests(engine, rows)

    summary = asyncio.run(sample_and_judge())
    assert summary.selected == len(rows)
    assert summary.judged_ok + summary.failures == len(rows)

    with engine.connect() as conn:
        alerts = list_alerts(conn)
    regressions = [a for a in alerts if a["kind"] == "quality_regression"]
    assert regressions, alerts
    assert {a["feature_id"] for a in regressions} == {"rag_qa"}
    assert {a["model_id"] for a in regressions} == {SWITCHED}
    assert min(a["window_start"] for a in regressions) >= (T0 + timedelta(hours=10)).isoformat()
    assert set(summary.alert_ids) >= {a["id"] for a in regressions}
    # The reports site shows the new alert and the feature's chart without waiting for
    # the next cost or drift run.
    page = Path("reports/index.html").read_text()
    assert "quality_regression" in page.split("<h2>Operations", 1)[0]
    assert "rag_qa" in page.split("<h2>Judged quality", 1)[1].split("<h2>Drift", 1)[0]

    # Running again judges nothing twice and raises nothing new.
    again = asyncio.run(sample_and_judge())
    assert again.selected == 0
    assert again.client["calls"] == 0
    assert again.alert_ids == []
    total, distinct = judged(engine)
    assert total == distinct == len(rows)


def test_flow_fails_clearly_when_the_judge_is_down_and_keeps_nothing_half_done(
    engine: Engine, sim: SimulatorServer, judge_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.reset()
    insert_requests(engine, hours(sim, STABLE, "support_chat", 0, 2))
    monkeypatch.setenv("LLMWATCH_JUDGE__BREAKER_FAILURES", "3")
    get_settings.cache_clear()
    sim.inject(JUDGE, "unavailable", 10_000)
    with pytest.raises(JudgeEndpointError, match="down"):
        asyncio.run(sample_and_judge())
    assert judged(engine) == (0, 0)
    sim.reset()
    summary = asyncio.run(sample_and_judge())
    assert summary.stored == 2 * PER_HOUR


def test_killed_mid_run_then_rerun_loses_and_doubles_nothing(
    engine: Engine, warehouse_url: str, sim: SimulatorServer, judge_env: dict[str, str]
) -> None:
    from prefect.settings import PREFECT_API_URL

    sim.reset()
    rows = hours(sim, STABLE, "support_chat", 0, 8)
    insert_requests(engine, rows)
    slow = SimulatorServer(latency_ms=150).start()
    env = {
        **os.environ,
        **judge_env,
        "LLMWATCH_JUDGE_BASE_URL": slow.base_url,
        "LLMWATCH_JUDGE__CONCURRENCY": "2",
        "LLMWATCH_JUDGE__COMMIT_EVERY": "2",
        # The killed run's claims on the samples it was judging hold this long.
        "LLMWATCH_JUDGE__CLAIM_LEASE_SECONDS": "1",
        "LLMWATCH_WAREHOUSE_URL": warehouse_url,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONPATH": str(REPO),
    }
    code = (
        "import asyncio\n"
        "from flows.sample_and_judge import sample_and_judge\n"
        "asyncio.run(sample_and_judge())\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while judged(engine)[0] < 6:
            assert child.poll() is None, (
                child.stderr.read().decode()[-2000:] if child.stderr else ""
            )
            assert time.monotonic() < deadline, "the child never got going"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        slow.stop()
    partial, _ = judged(engine)
    assert 6 <= partial < len(rows)
    with engine.connect() as conn:
        mark = get_watermark(conn)
    assert mark is None or mark < max(r["ingested_at"] for r in rows)

    time.sleep(1.1)  # the killed run's lease runs out
    summary = asyncio.run(sample_and_judge())
    assert summary.stored == len(rows) - partial
    total, distinct = judged(engine)
    assert total == distinct == len(rows)
    with engine.connect() as conn:
        assert get_watermark(conn) == max(r["ingested_at"] for r in rows)


def test_cli_runs_the_flow_and_says_what_it_did(
    engine: Engine, sim: SimulatorServer, judge_env: dict[str, str]
) -> None:
    from click.testing import CliRunner

    from llmwatch.cli import main

    sim.reset()
    rows = hours(sim, STABLE, "support_chat", 0, 1)
    insert_requests(engine, rows)
    result = CliRunner().invoke(
        main,
        ["run", "judge", "--start", T0.isoformat(), "--end", (T0 + timedelta(hours=1)).isoformat()],
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"judged \d+ request\(s\), \d+ judge failure\(s\), 0 deferred", result.output)
    assert judged(engine)[0] == len(rows)
    assert "sk-flow-test-secret" not in result.output
    with engine.connect() as conn:
        assert get_watermark(conn) is None  # a back-fill leaves the watermark alone


def test_cli_without_judge_endpoint_fails_before_any_flow(engine: Engine) -> None:
    from click.testing import CliRunner

    from llmwatch.cli import main

    result = CliRunner().invoke(main, ["run", "judge"])
    assert result.exit_code != 0
    assert "LLMWATCH_JUDGE_BASE_URL" in result.output
