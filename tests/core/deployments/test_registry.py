from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from deployments import prefect_yaml
from deployments.registry import DEPLOYMENTS, to_runner_deployment

ROOT = Path(__file__).resolve().parents[3]


def test_every_job_is_scheduled_once_with_its_cadence() -> None:
    by_flow = {spec.flow_name: spec for spec in DEPLOYMENTS}
    assert len(by_flow) == len(DEPLOYMENTS) == 9
    assert by_flow["ingest"].interval_seconds == 60
    assert by_flow["sample-and-judge"].interval_seconds == 300
    assert by_flow["slo-burn"].interval_seconds == 60
    assert by_flow["cost-aggregation"].cron == "5 * * * *"  # hourly
    assert by_flow["golden-set"].cron == "0 3 * * *"  # daily
    assert by_flow["drift-report"].cron == "30 1 * * *"  # daily
    assert by_flow["canary-probes"].cron == "0 4 * * 1"  # weekly
    assert by_flow["retention"].cron == "15 2 * * *"  # daily, after the drift report
    assert by_flow["judge-calibration"].cron == "45 2 * * *"  # daily
    assert all(spec.concurrency_limit == 1 for spec in DEPLOYMENTS)


def test_served_deployments_never_overlap_and_run_in_utc() -> None:
    for spec in DEPLOYMENTS:
        deployment = to_runner_deployment(spec)
        assert deployment.name == spec.name
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "CANCEL_NEW"
        (schedule,) = deployment.schedules
        assert schedule.schedule.timezone == "UTC"
        assert schedule.active


def test_prefect_yaml_is_generated_from_the_registry() -> None:
    committed = (ROOT / "prefect.yaml").read_text()
    assert committed == prefect_yaml.render(), "run: python -m deployments.prefect_yaml"
    document = yaml.safe_load(committed)
    deployed = {(d["flow_name"], d["name"]) for d in document["deployments"]}
    assert deployed == {(s.flow_name, s.name) for s in DEPLOYMENTS}
    for entry in document["deployments"]:
        path, function = entry["entrypoint"].split(":")
        assert (ROOT / path).is_file()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, function).name == entry["flow_name"]
        assert entry["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
        assert entry["work_pool"]["name"] == prefect_yaml.WORK_POOL
