"""The reports index page from the warehouse, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from llmwatch.site import generate_site
from llmwatch.warehouse.models import DriftRun
from tests.core.site.warehouse_rows import HOSTILE, fill_warehouse


def _drift_run(engine: Engine, day: date) -> None:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(DriftRun),
            {
                "run_id": f"drift-{day}", "report_date": day.isoformat(),
                "reference_start": start - timedelta(days=7), "reference_end": start,
                "current_start": start, "current_end": start + timedelta(days=1),
                "n_reference": 5000, "n_current": 2000, "drift_share": 0.4, "n_drifted": 6,
                "n_columns": 15, "report_path": f"reports/drift/{day}.html",
                "created_at": start + timedelta(days=1),
            },
        )  # fmt: skip


def test_index_has_charts_alerts_and_drift_reports_all_escaped(
    engine: Engine, tmp_path: Path
) -> None:
    fill_warehouse(engine)
    _drift_run(engine, date(2025, 6, 2))
    _drift_run(engine, date(2025, 6, 3))
    reports = tmp_path / "reports"
    (reports / "drift").mkdir(parents=True)
    (reports / "drift" / "2025-06-03.html").write_text("<html>report</html>")

    page = generate_site(engine, reports).read_text()

    charts = re.findall(r'<figure class="chart" data-chart="([^"]+)">', page)
    assert charts == [
        "Cost per hour (USD)",
        "Latency p95 (ms), worst model per feature",
        "Error rate",
        "rag_qa: judge_score",
    ]
    # Two latency lines (one per feature); the quality chart has mean, EWMA and both limits.
    assert page.count('data-series="rag_qa"') == 1
    assert page.count('data-series="support_chat"') == 1
    for name in ("window mean", "EWMA", "UCL", "LCL"):
        assert f'data-series="{name}"' in page
    assert page.count('fill="#d62728"') == 2  # the two signalled windows
    assert HOSTILE not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "<script" not in page
    assert '<a href="drift/2025-06-03.html">2025-06-03</a>' in page
    assert page.count('class="drift-run"') == 2
    assert "(file missing)" in page  # 2025-06-02's file is not there: no dead link


def test_empty_warehouse_gives_a_page_with_no_data_panels(engine: Engine, tmp_path: Path) -> None:
    page = generate_site(engine, tmp_path / "reports").read_text()
    assert page.count("No data yet.") == 3
    assert "No alerts." in page
    assert "No drift reports yet." in page
    assert "No judged windows yet." in page
