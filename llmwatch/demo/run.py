"""The demo, top-down: simulator, traffic, ingest, every job over the period, reports,
and the incidents matched against the alerts.

The core stays Prefect-free: the jobs come in as ``DemoFlows`` (the CLI passes the
Prefect flows), and this module decides what runs when, in scenario time.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from llmwatch.alerts import list_alerts
from llmwatch.demo.config import DemoConfig, demo_settings, settings_toml
from llmwatch.demo.match import MatchReport, match_alerts
from llmwatch.settings import get_settings
from llmwatch.simulator import GroundTruth, Scenario, SimulatorServer, ground_truth
from llmwatch.simulator.writer import generate
from llmwatch.site import generate_site
from llmwatch.warehouse import make_engine
from llmwatch.warehouse.engine import upgrade

# Marks a folder as the demo's own, so a re-run may wipe it (and nothing else).
MARKER = ".llmwatch-demo"


class DemoDirError(RuntimeError):
    """The demo data dir exists and is not a demo dir: refusing to wipe it."""


@dataclass(frozen=True)
class DemoFlows:
    """The jobs, called synchronously; each returns the flow's result object."""

    ingest: Callable[[list[str], list[str]], Any]
    cost: Callable[[datetime, datetime], Any]
    slo: Callable[[datetime, datetime], Any]
    judge: Callable[[datetime, datetime], Any]
    golden: Callable[[], Any]
    canary: Callable[[], Any]
    drift: Callable[[date], Any]


@dataclass
class DemoResult:
    config: DemoConfig
    scenario: Scenario
    incidents: list[GroundTruth]
    report: MatchReport
    site_index: Path
    steps: list[tuple[str, float]] = field(default_factory=list)
    requests: int = 0


def run_demo(
    config: DemoConfig, flows: DemoFlows, log: Callable[[str], None] = print
) -> DemoResult:
    fresh_dir(config.data_dir)
    scenario = config.load_scenario()
    start, end = config.period(scenario)
    steps: list[tuple[str, float]] = []

    def step(name: str, began: float) -> None:
        steps.append((name, time.perf_counter() - began))
        log(f"  {name}: {steps[-1][1]:.1f} s")

    # Served with a tiny fixed latency: the recorded latencies are in the traffic files.
    with SimulatorServer(scenario, latency_ms=1, seed=config.seed) as sim:
        config.config_path.write_text(settings_toml(config, sim.base_url, scenario))
        with demo_settings(config.config_path):
            engine = make_engine(get_settings().resolved_warehouse_url())
            upgrade(engine)

            t = time.perf_counter()
            log(f"generating {config.days} days x {config.requests_per_day} requests ...")
            files = generate(
                config.traffic_dir,
                scenario,
                days=config.days,
                requests_per_day=config.requests_per_day,
                seed=config.seed,
            )
            step("traffic generated", t)

            t = time.perf_counter()
            flows.ingest(
                [str(p) for p in files.request_files], [str(p) for p in files.signal_files]
            )
            step("ingest flow", t)

            t = time.perf_counter()
            flows.cost(start, end)
            step("cost-aggregation flow, hour by hour", t)

            t = time.perf_counter()
            flows.slo(start, end)
            step("slo-burn flow, every 5 minutes", t)

            # One run over the whole period: the quality charts advance to the run's
            # horizon, so judging day by day would leave later days off the chart.
            t = time.perf_counter()
            sim.set_clock(end)
            flows.judge(start, end)
            step("sample-and-judge flow", t)

            # Canary probes once a day at midnight (scenario time), so runs before and after
            # the silent model change are compared; the golden set (220 examples per target)
            # on the first and the last day only, to keep the demo short.
            t = time.perf_counter()
            observed_at: dict[int, datetime] = {}
            for day in range(config.days + 1):
                at = start + timedelta(days=day)
                sim.set_clock(at)
                runs = [flows.canary] + ([flows.golden] if day in (0, config.days) else [])
                for run in runs:
                    for alert_id in run().alert_ids:
                        observed_at[alert_id] = at
            step("canary-probes flow daily, golden-set flow first and last day", t)

            t = time.perf_counter()
            for day in range(config.baseline_days, config.days):
                flows.drift((start + timedelta(days=day)).date())
            step("drift-report flow, daily", t)

            index = generate_site(engine, config.reports_dir)
            with engine.connect() as conn:
                alerts = list_alerts(conn)
                requests = _count_requests(conn)
            engine.dispose()

    incidents = incidents_in(scenario, start, end)
    report = match_alerts(incidents, alerts, observed_at=observed_at)
    return DemoResult(config, scenario, incidents, report, index, steps, requests)


def incidents_in(scenario: Scenario, start: datetime, end: datetime) -> list[GroundTruth]:
    """The injected incidents that start inside the generated period, clipped to it."""
    from dataclasses import replace

    return [
        replace(truth, end=min(truth.end, end))
        for truth in ground_truth(scenario)
        if start <= truth.start < end
    ]


def fresh_dir(path: Path) -> None:
    if path.exists():
        if not (path / MARKER).exists() and any(path.iterdir()):
            raise DemoDirError(
                f"{path} exists and was not made by `llmwatch demo`; choose another --data-dir"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by `llmwatch demo`; wiped by the next run\n")


def _count_requests(conn: Any) -> int:
    from sqlalchemy import func, select

    from llmwatch.warehouse.models import Request

    return int(conn.execute(select(func.count()).select_from(Request)).scalar_one())
