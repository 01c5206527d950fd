"""``llmwatch demo`` (SPEC 6): the whole product on simulated traffic, offline, no keys."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from llmwatch.demo import DemoFlows


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".llmwatch/demo"),
    show_default=True,
    help="Fresh demo folder (warehouse, traffic, reports); wiped and rebuilt on each run.",
)
@click.option("--days", type=click.IntRange(3, 14), default=6, show_default=True)
@click.option(
    "--requests-per-day", type=click.IntRange(500, 200_000), default=6_000, show_default=True
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the incidents, their alerts and the unmatched alerts to this JSON file.",
)
def demo(
    data_dir: Path, days: int, requests_per_day: int, seed: int, json_path: Path | None
) -> None:
    """Simulate days of traffic with injected incidents, run every job through Prefect,
    build the reports, and show which incidents were caught by which alert.

    Exit status: 0 caught (every incident), 1 missed (an incident was missed, or the demo
    failed), 2 usage or configuration error.
    """
    # Task-level logs would bury the table; PREFECT_LOGGING_LEVEL set by the user wins.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Offline: no telemetry; and a busy machine may need longer to start the local API.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from llmwatch.demo import DemoConfig, DemoDirError, render_report, run_demo

    config = DemoConfig(data_dir=data_dir, days=days, requests_per_day=requests_per_day, seed=seed)
    began = time.perf_counter()
    click.echo(f"llmwatch demo in {data_dir} (simulator on 127.0.0.1, no network, no keys)")
    try:
        result = run_demo(config, prefect_flows(), log=click.echo)
    except DemoDirError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("")
    gate = (result.gate_alerts, result.gate_notifications)
    click.echo(render_report(result.report, result.notifications, gate))
    if json_path is not None:
        payload = result.report.to_dict(result.notifications)
        payload["gate_alerts"] = [
            {"id": a["id"], "incident_id": a["incident_id"]} for a in result.gate_alerts
        ]
        payload["gate_notifications"] = result.gate_notifications
        json_path.write_text(json.dumps(payload, indent=2) + "\n")
    click.echo("")
    click.echo(f"{result.requests} requests in the warehouse {config.warehouse_path}")
    click.echo(f"reports: {result.site_index}")
    click.echo(
        f"settings: {config.config_path} (LLMWATCH_CONFIG={config.config_path} llmwatch ...)"
    )
    click.echo(f"done in {time.perf_counter() - began:.0f} s")
    if result.report.missed:
        raise SystemExit(1)


def prefect_flows() -> DemoFlows:
    """The Prefect flows, adapted to the synchronous calls the demo core makes."""
    import asyncio

    from flows.canary_probes import canary_probes
    from flows.cost_aggregation import cost_aggregation_flow
    from flows.drift_report import drift_report_flow
    from flows.golden_set import golden_set
    from flows.ingest import ingest_flow
    from flows.sample_and_judge import sample_and_judge
    from flows.slo_burn import slo_burn_flow
    from llmwatch.demo import DemoFlows

    return DemoFlows(
        ingest=lambda requests, signals: ingest_flow(request_paths=requests, signal_paths=signals),
        cost=lambda start, end: cost_aggregation_flow(start=start, end=end),
        slo=lambda start, end: slo_burn_flow(start=start, end=end),
        judge=lambda start, end: asyncio.run(sample_and_judge(start=start, end=end)),
        golden=lambda: asyncio.run(golden_set()),
        canary=lambda: asyncio.run(canary_probes()),
        gate=lambda target, baseline: asyncio.run(canary_probes(target=target, baseline=baseline)),
        drift=lambda day: drift_report_flow(report_date=day),
    )
