"""End to end: `llmwatch demo` as a user runs it (its own process, its own local Prefect
API, the simulator on 127.0.0.1), at reduced size; every injected incident must be caught
by the alert kind meant for it, and nothing may alert on the clean stretches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
DAYS = 6
# The smallest volume at which the hourly rules see enough: ~20 extraction calls per hour
# on the smaller model, ~10 explicit votes per hour on support_chat.
REQUESTS_PER_DAY = 6_000


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    work = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMWATCH_", "PREFECT_"))}
    env |= {"PREFECT_HOME": str(work / "prefect"), "DO_NOT_TRACK": "1"}
    data_dir, out = work / "demo", work / "demo.json"
    proc = subprocess.run(
        [sys.executable, "-m", "llmwatch", "demo", "--data-dir", str(data_dir),
         "--days", str(DAYS), "--requests-per-day", str(REQUESTS_PER_DAY), "--json", str(out)],
        cwd=work, env=env, capture_output=True, text=True, timeout=1100,
    )  # fmt: skip
    assert out.exists(), f"demo failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(out.read_text()), data_dir, proc.stdout


def test_every_injected_incident_is_caught_by_its_alert_kind(demo_run) -> None:
    report, _, stdout = demo_run
    incidents = report["incidents"]
    assert {i["kind"] for i in incidents} == {
        "cost_spike", "error_burst", "latency_slo_breach", "silent_model_change",
        "quality_regression", "survivorship_bias", "input_shift",
    }  # fmt: skip
    for incident in incidents:
        assert incident["alert_kind"] in incident["caught_by"], (incident, stdout)
        # Caught while it lasted (or, for a daily job, on its day) - not a day later.
        assert 0 <= incident["delay_s"] <= 12 * 3600, (incident, stdout)
    assert f"{len(incidents)} of {len(incidents)} injected incidents caught" in stdout


def test_nothing_alerts_on_the_clean_stretches(demo_run) -> None:
    report, _, stdout = demo_run
    assert report["unmatched"] == [], stdout
    # Side effects are alerts of another kind on an incident's series while it lasts.
    for alert in report["related"]:
        assert alert["during"], alert


def test_reports_site_and_settings_are_in_the_demo_dir(demo_run) -> None:
    _, data_dir, stdout = demo_run
    index = data_dir / "reports" / "index.html"
    assert index.is_file()
    drift = sorted((data_dir / "reports" / "drift").glob("*.html"))
    assert len(drift) == DAYS - 2  # one per day after the two baseline days
    assert (data_dir / "warehouse.db").is_file()
    assert "reports:" in stdout


def test_each_injected_incident_notifies_open_and_resolve_at_most(demo_run) -> None:
    """Issue 14: one incident per injected incident, at most opened + resolved (+ one
    severity rise); nothing on the clean stretches; the manual gate run tells nobody."""
    report, _, stdout = demo_run
    for incident in report["incidents"]:
        events = incident["notifications"]
        assert events.count("opened") == 1, (incident["kind"], events, stdout)
        assert events.count("escalated") <= 1, (incident["kind"], events)
        assert len(events) - events.count("escalated") <= 2, (incident["kind"], events)
    assert report["unmatched_notifications"] == []
    assert report["gate_notifications"] == 0
    assert "Manual gate run (no --notify)" in stdout
