"""The demo's configuration: one TOML file in the demo data dir, pointing every job at
the simulator, with sample rates and client limits sized for a few minutes on two cores.
Every detection setting (charts, SLOs, judge health, cost rules) is the product's
default: a default that has to be changed to keep the demo quiet is a wrong default."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from llmwatch.settings import CONFIG_ENV_VAR, get_settings
from llmwatch.simulator import Scenario

# The simulator's production models; each is a pinned target for golden and canary runs.
TARGETS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "claude-haiku": "claude-3-5-haiku-20241022",
}
JUDGE_MODEL = "gpt-4o-mini-2024-07-18"
# The simulator accepts any key; the judge client wants one, so the demo sends a dummy.
DEMO_KEY = "demo-key-not-a-secret"


@dataclass(frozen=True)
class DemoConfig:
    data_dir: Path = Path(".llmwatch/demo")
    days: int = 6
    requests_per_day: int = 6_000
    seed: int = 42
    scenario: str | Path = "demo"
    # The first days are clean: they are the baselines of drift and of the control charts.
    baseline_days: int = 2
    # Judged share of each feature's traffic: what the judge costs is the team's choice
    # (the RAG feature, whose answers matter most, is judged more); it is not a detection
    # threshold, the chart adapts to the volume it gets.
    judge_sample_rate: float = 0.03
    # A manual gate on the last day (canary of the candidate against the baseline, the
    # candidate being the silently changed model): it stores what it finds and notifies
    # nobody.
    gate_target: str = "gpt-4o-mini"
    gate_baseline: str = "gpt-4o"
    judge_sample_rates: tuple[tuple[str, float], ...] = (("rag_qa", 0.35),)
    probe_repeats: int = 2
    drift_sample_size: int = 3_000

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.db"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def traffic_dir(self) -> Path:
        return self.data_dir / "traffic"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "llmwatch.toml"

    def load_scenario(self) -> Scenario:
        return Scenario.load(self.scenario)

    def period(self, scenario: Scenario) -> tuple[datetime, datetime]:
        return scenario.start, scenario.start + timedelta(days=self.days)

    def replay_hours(self, scenario: Scenario) -> float:
        """From the scenario's start to now, and a day to spare: every replayed window."""
        start, _ = self.period(scenario)
        return (datetime.now(UTC) - start).total_seconds() / 3600 + 24


def settings_toml(config: DemoConfig, base_url: str, scenario: Scenario) -> str:
    """The demo's llmwatch.toml: every endpoint is the simulator at ``base_url``."""
    start, _ = config.period(scenario)
    baseline_end = start + timedelta(days=config.baseline_days)
    rates = ", ".join(f"{json.dumps(k)} = {v}" for k, v in config.judge_sample_rates)
    lines = [
        "# Written by `llmwatch demo`: every LLM endpoint is the local simulator.",
        f"data_dir = {_path(config.data_dir)}",
        f"reports_dir = {_path(config.reports_dir)}",
        f"warehouse_url = {json.dumps('sqlite:///' + str(config.warehouse_path.resolve()))}",
        f"judge_base_url = {json.dumps(base_url)}",
        f"judge_model = {json.dumps(JUDGE_MODEL)}",
        f"judge_api_key = {json.dumps(DEMO_KEY)}",
        "",
        "[judge]",
        f"default_sample_rate = {config.judge_sample_rate}",
        f"sample_rates = {{ {rates} }}",
        "requests_per_second = 1000",
        "concurrency = 16",
        "backoff_base_s = 0.05",
        "max_calls_per_run = 100000",
        "commit_every = 500",
        "",
        "[evals]",
        f"probe_repeats = {config.probe_repeats}",
        "concurrency = 16",
        "backoff_base_s = 0.05",
        "",
        "[drift]",
        f"baseline_start = {_utc(start)}",
        f"baseline_end = {_utc(baseline_end)}",
        f"sample_size = {config.drift_sample_size}",
        "",
        "[routing]",
        "# The demo replays past days as if they were live, so its back-fills notify like",
        "# live runs would (a real back-fill of old windows stays quiet: the default 6 h).",
        f"quiet_backfill_hours = {config.replay_hours(scenario):g}",
        "",
    ]
    for name, model in TARGETS.items():
        lines += [f'[targets."{name}"]', f"base_url = {json.dumps(base_url)}"]
        lines += [f"model = {json.dumps(model)}", ""]
    return "\n".join(lines)


@contextmanager
def demo_settings(config_path: Path) -> Iterator[None]:
    """Within the block every job reads the demo's file and nothing else: other
    ``LLMWATCH_*`` variables are set aside, so the demo never touches a real warehouse."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("LLMWATCH_")}
    for name in saved:
        del os.environ[name]
    os.environ[CONFIG_ENV_VAR] = str(config_path.resolve())
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("LLMWATCH_")]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()


def _path(path: Path) -> str:
    return json.dumps(str(path.resolve()))


def _utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
