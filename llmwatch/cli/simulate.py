"""``llmwatch simulate``: the offline provider simulator and traffic generator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from llmwatch.cli.common import parse_utc

Command = Callable[..., Any]


def _scenario_option(default: str | None) -> Callable[[Command], Command]:
    return click.option(
        "--scenario",
        default=default,
        show_default=True,
        help="Scenario TOML file, 'demo' for the shipped one, or 'none' for clean traffic.",
    )


def _scenario_source(value: str | None) -> str | None:
    return None if value in (None, "none") else value


@click.group()
def simulate() -> None:
    """Simulated LLM provider and production traffic: no network, no keys."""


@simulate.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@_scenario_option("demo")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--latency-scale", default=1.0, show_default=True, help="Multiply simulated latencies."
)
@click.option("--latency-ms", type=float, help="Make every call take exactly this long.")
@click.option("--clock", help="Scenario time to start from (ISO-8601); default: wall clock.")
@click.option("--speed", default=1.0, show_default=True, help="Scenario seconds per second.")
def serve(
    host: str,
    port: int,
    scenario: str | None,
    seed: int,
    latency_scale: float,
    latency_ms: float | None,
    clock: str | None,
    speed: float,
) -> None:
    """Run the OpenAI-compatible simulator in the foreground until Ctrl-C."""
    from llmwatch.simulator import SimulatorServer

    sim = SimulatorServer(
        _scenario_source(scenario),
        host=host,
        port=port,
        seed=seed,
        latency_scale=latency_scale,
        latency_ms=latency_ms,
    )
    sim.start()
    if clock:
        sim.set_clock(parse_utc(clock), frozen=False, speed=speed)
    click.echo(f"llmwatch simulator ({sim.scenario.name}) at {sim.base_url} - Ctrl-C to stop")
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        sim.stop()


@simulate.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for requests-*.jsonl, signals-*.jsonl and ground_truth.json.",
)
@_scenario_option("demo")
@click.option("--start", help="First day (ISO-8601); default: the scenario's start.")
@click.option("--days", type=float, help="Default: the scenario's length.")
@click.option("--requests-per-day", type=int, help="Mean requests per day.")
@click.option("--seed", type=int, help="Default: the scenario's seed.")
@click.option("--no-text", is_flag=True, help="Leave out prompts, answers and contexts.")
@click.option("--gzip", "compress", is_flag=True, help="Write .jsonl.gz files.")
def generate(
    out_dir: Path,
    scenario: str | None,
    start: str | None,
    days: float | None,
    requests_per_day: int | None,
    seed: int | None,
    no_text: bool,
    compress: bool,
) -> None:
    """Generate request records and user signals (SPEC 3.1/3.2) with the scenario's incidents."""
    from llmwatch.simulator.writer import generate as generate_files

    summary = generate_files(
        out_dir,
        _scenario_source(scenario),
        start=parse_utc(start) if start else None,
        days=days,
        requests_per_day=requests_per_day,
        seed=seed,
        include_text=not no_text,
        compress=compress,
    )
    rate = summary.requests / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"{summary.requests} requests in {len(summary.request_files)} files, "
        f"{summary.signals} signals, in {summary.seconds:.1f}s ({rate:,.0f} records/s) "
        f"-> {summary.out_dir}"
    )


@simulate.command("ground-truth")
@_scenario_option("demo")
@click.option("--start", help="Move the scenario to this start (ISO-8601).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def ground_truth_command(scenario: str | None, start: str | None, as_json: bool) -> None:
    """List the scenario's incidents and the alert kind that should catch each."""
    from llmwatch.simulator.scenario import Scenario

    loaded = Scenario.load(_scenario_source(scenario) or "demo")
    if start:
        loaded = loaded.with_start(parse_utc(start))
    truths = loaded.ground_truth()
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in truths], indent=2))
        return
    for t in truths:
        scope = "/".join(x for x in (t.feature, t.model) if x) or "-"
        click.echo(
            f"{t.start:%Y-%m-%d %H:%M} .. {t.end:%Y-%m-%d %H:%M}  {t.kind:<20} {scope:<45} "
            f"-> {', '.join(t.alert_kinds)}"
        )
