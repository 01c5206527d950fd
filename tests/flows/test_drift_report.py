"""The drift report flow on generated traffic, its artifacts, the site, and both pages in
headless Chromium (no network) with a hostile prompt in the data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from llmwatch.alerts import list_alerts
from llmwatch.drift import list_runs, run_columns
from tests.core.drift.traffic import SHIFT_DAY, SHIFTED_COLUMNS, load_traffic, write_traffic
from tests.core.site.warehouse_rows import fill_warehouse
from tests.flows.conftest import read_artifacts

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# If any of this ran, the page title changes or the body gets the attribute.
HOSTILE = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','yes')\"> how to reset"
)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_traffic(tmp_path_factory.mktemp("drift-flow-traffic"))
    # Hostile prompts on the shift day: user text that a report might show.
    lines = [
        json.dumps(
            {
                "request_id": f"hostile-{i}",
                "timestamp": f"{SHIFT_DAY.isoformat()}T12:{i:02d}:00Z",
                "feature_id": "support_chat",
                "model_id": "gpt-4o-mini-2024-07-18",
                "latency_ms": 900,
                "input_tokens": 30,
                "output_tokens": 40,
                "cost_usd": 0.0001,
                "input": f"{HOSTILE} {i}",
                "output": HOSTILE,
                "user_segment": HOSTILE,
            }
        )
        for i in range(40)
    ]
    (folder / "hostile.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _dump_dom(page: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
            "--dump-dom", page.resolve().as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


def test_shift_day_report_alert_artifacts_and_site(
    engine: Engine, warehouse_url: str, traffic: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("LLMWATCH_DRIFT__REFERENCE_DAYS", "2")
    monkeypatch.setenv("LLMWATCH_DRIFT__SAMPLE_SIZE", "3000")
    load_traffic(engine, traffic)
    fill_warehouse(engine)  # hourly windows, a quality chart and an alert with hostile text
    from flows.drift_report import drift_report_flow

    summary = drift_report_flow(report_date=SHIFT_DAY)

    assert summary.report_path == Path("reports/drift/2025-06-05.html")
    assert summary.report_path.stat().st_size > 10_000
    assert set(summary.drifted_columns) >= SHIFTED_COLUMNS
    assert len(summary.alert_ids) == 1
    with engine.connect() as conn:
        (alert,) = [a for a in list_alerts(conn) if a["kind"] == "input_drift"]
        (run,) = list_runs(conn)
        columns = run_columns(conn, run["run_id"])
    assert alert["details"]["report_path"] == str(summary.report_path)
    assert {c["column_name"] for c in columns if c["drifted"]} == set(summary.drifted_columns)

    (link,) = read_artifacts("drift-report")[:1]
    assert link["type"] == "markdown" or link["type"] == "link"
    assert "2025-06-05.html" in json.dumps(link["data"])
    (table,) = read_artifacts("drift-columns")[:1]
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert {r["column"] for r in rows} == set(summary.drifted_columns)

    # Re-running the day replaces the run and does not alert again.
    again = drift_report_flow(report_date=SHIFT_DAY)
    assert again.alert_ids == []
    with engine.connect() as conn:
        assert len(list_runs(conn)) == 1

    if warehouse_url.startswith("postgresql"):
        return  # the pages are the same on both backends; render them once
    index_dom = _dump_dom(Path("reports/index.html"), tmp_path / "chrome1")
    assert index_dom.count("<svg") == 7  # four operations, cost by model, daily cost x 2
    assert index_dom.count('class="series"') >= 6
    assert "&lt;script&gt;document.title" in index_dom
    assert 'href="drift/2025-06-05.html"' in index_dom
    assert "input_drift" in index_dom
    report_dom = _dump_dom(summary.report_path, tmp_path / "chrome2")
    for dom in (index_dom, report_dom):
        assert "<title>pwned</title>" not in dom
        assert 'data-pwned="yes"' not in dom
    # Evidently's page rendered its widgets: React and Plotly build the charts from the
    # embedded data, so the live DOM has far more SVG than the file.
    assert report_dom.count("<svg") > summary.report_path.read_text().count("<svg") + 10


def test_cost_run_regenerates_the_site(engine: Engine, traffic: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from flows.cost_aggregation import cost_aggregation_flow

    load_traffic(engine, traffic)
    start = datetime(2025, 6, 5, 9, tzinfo=UTC)
    cost_aggregation_flow(start=start, end=start + timedelta(hours=3))

    page = Path("reports/index.html").read_text()
    marker = 'data-chart="Cost per hour by feature (USD)"'
    cost_chart = page.split(marker, 1)[1].split("</figure>", 1)[0]
    assert cost_chart.count('class="series"') == 3  # one line per feature of the traffic
    assert "No data yet." not in cost_chart
