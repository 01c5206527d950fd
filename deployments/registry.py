"""Every deployment of llmwatch, with its schedule: the one list that ``llmwatch serve``
serves and that ``prefect.yaml`` is generated from (SPEC 1, 4.8).

Each deployment allows one run at a time: a run that would overlap a running one is
cancelled (CANCEL_NEW) rather than queued, so a slow run never builds a backlog. The
warehouse design makes an overlap harmless anyway; the limit keeps it from happening.
Parameters are the flows' own, so a manual run overrides any of them, e.g.
``prefect deployment run 'golden-set/daily' --param target=candidate --param baseline=pinned``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TAGS = ("llmwatch",)
# Interval runs fall on whole minutes (every 5 minutes: :00, :05 ...), whenever served.
INTERVAL_ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
COLLISION_STRATEGY = "CANCEL_NEW"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    # "package.module:function" of the flow.
    flow: str
    description: str
    interval_seconds: int | None = None
    # Cron schedules are in UTC, like every timestamp in the warehouse.
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int = 1

    def __post_init__(self) -> None:
        if (self.interval_seconds is None) == (self.cron is None):
            raise ValueError(f"{self.name}: give exactly one of interval_seconds and cron")

    @property
    def entrypoint(self) -> str:
        """The flow as a file path from the repository root (prefect.yaml's form)."""
        module, function = self.flow.split(":")
        return f"{module.replace('.', '/')}.py:{function}"

    def load_flow(self) -> Any:
        module, function = self.flow.split(":")
        return getattr(importlib.import_module(module), function)

    @property
    def flow_name(self) -> str:
        return str(self.load_flow().name)

    @property
    def full_name(self) -> str:
        """``<flow>/<deployment>``, as ``prefect deployment run`` takes it."""
        return f"{self.flow_name}/{self.name}"


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name="every-minute",
        flow="flows.ingest:ingest_flow",
        description="Load new request and signal files from the inbox.",
        interval_seconds=60,
    ),
    DeploymentSpec(
        name="hourly",
        flow="flows.cost_aggregation:cost_aggregation_flow",
        description="Cost and operational metrics of the last complete hours; cost, token "
        "and survivorship alerts.",
        # Five minutes past the hour: late records of the hour that just closed are in.
        cron="5 * * * *",
    ),
    DeploymentSpec(
        name="every-minute",
        flow="flows.slo_burn:slo_burn_flow",
        description="SLO burn rates on the raw records: fast burn pages, slow burn tickets.",
        # Every minute, like ingest: an outage at 50 requests/h pages within 15 min (p95).
        interval_seconds=60,
    ),
    DeploymentSpec(
        name="every-5-minutes",
        flow="flows.sample_and_judge:sample_and_judge",
        description="Judge the sampled requests ingested since the last run; EWMA quality charts.",
        interval_seconds=300,
    ),
    DeploymentSpec(
        name="daily",
        flow="flows.golden_set:golden_set",
        description="Golden-set evaluation of every configured target.",
        cron="0 3 * * *",
    ),
    DeploymentSpec(
        name="daily",
        flow="flows.drift_report:drift_report_flow",
        description="Evidently drift report of yesterday (UTC) against the reference.",
        # Yesterday's late records and judgements have settled by then.
        cron="30 1 * * *",
    ),
    DeploymentSpec(
        name="daily",
        flow="flows.judge_calibration:judge_calibration",
        description="The judge on its calibration set of known verdicts: judge_drift.",
        # Before the golden set (03:00), whose results the judge does not touch, and
        # after the drift report; a daily run at 144 calls a day is cheap.
        cron="45 2 * * *",
    ),
    DeploymentSpec(
        name="weekly",
        flow="flows.canary_probes:canary_probes",
        description="Canary probes against every pinned target: silent provider changes.",
        cron="0 4 * * 1",
    ),
    DeploymentSpec(
        name="daily",
        flow="flows.retention:retention_flow",
        description="Delete raw requests and blank texts older than the retention ages.",
        # After the drift report (01:30) has read yesterday's texts.
        cron="15 2 * * *",
    ),
)


def schedule_dict(spec: DeploymentSpec) -> dict[str, Any]:
    """The schedule as prefect.yaml writes it."""
    if spec.interval_seconds is not None:
        return {
            "interval": spec.interval_seconds,
            "anchor_date": INTERVAL_ANCHOR.isoformat(),
            "timezone": "UTC",
            "active": True,
        }
    return {"cron": spec.cron, "timezone": "UTC", "active": True}


def to_runner_deployment(spec: DeploymentSpec, paused: bool = False) -> Any:
    """The deployment ``prefect.serve`` runs in this process."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron, Interval

    schedule = (
        Interval(spec.interval_seconds, anchor_date=INTERVAL_ANCHOR, timezone="UTC")
        if spec.interval_seconds is not None
        else Cron(str(spec.cron), timezone="UTC")
    )
    return spec.load_flow().to_deployment(
        name=spec.name,
        description=spec.description,
        schedules=[schedule],
        paused=paused,
        parameters=dict(spec.parameters),
        tags=list(TAGS),
        concurrency_limit=ConcurrencyLimitConfig(
            limit=spec.concurrency_limit,
            collision_strategy=ConcurrencyLimitStrategy(COLLISION_STRATEGY),
        ),
    )
