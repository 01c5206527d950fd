"""The reports site from the warehouse, on SQLite and PostgreSQL: the pages, their links,
their charts, and escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, insert, update

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.site import generate_site
from llmwatch.site.layout import slug
from llmwatch.warehouse.models import DriftColumn, DriftRun, WindowMetrics, WindowTemplateSpend
from tests.core.site.warehouse_rows import FEATURES, HOSTILE, START, fill_warehouse

NOW = datetime(2025, 6, 3, 0, 30, tzinfo=UTC)


def _drift_run(engine: Engine, day: date) -> None:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(DriftRun),
            {
                "run_id": f"drift-{day}", "report_date": day.isoformat(),
                "reference_start": start - timedelta(days=7), "reference_end": start,
                "current_start": start, "current_end": start + timedelta(days=1),
                "n_reference": 5000, "n_current": 2000, "drift_share": 0.4, "n_drifted": 1,
                "n_columns": 2, "report_path": f"reports/drift/{day}.html",
                "created_at": start + timedelta(days=1),
            },
        )  # fmt: skip
        conn.execute(
            insert(DriftColumn),
            [
                {"run_id": f"drift-{day}", "column_name": "input_length", "method": "K-S p_value",
                 "score": 0.001, "threshold": 0.05, "drifted": True},
                {"run_id": f"drift-{day}", "column_name": HOSTILE, "method": "Jensen-Shannon",
                 "score": 0.02, "threshold": 0.1, "drifted": False},
            ],
        )  # fmt: skip


def links(page: Path) -> list[str]:
    return re.findall(r'href="([^"]+)"', page.read_text())


def all_pages(reports: Path) -> list[Path]:
    return sorted(p for p in reports.rglob("*.html") if p.parent.name != "drift")


def test_every_page_link_resolves_and_alert_links_lead_to_triage_pages(
    engine: Engine, tmp_path: Path
) -> None:
    fill_warehouse(engine)
    _drift_run(engine, date(2025, 6, 2))
    reports = tmp_path / "reports"
    (reports / "drift").mkdir(parents=True)
    (reports / "drift" / "2025-06-02.html").write_text("<html>evidently</html>")

    generate_site(engine, reports, now=NOW)

    pages = all_pages(reports)
    names = {p.relative_to(reports).as_posix() for p in pages}
    for r in ("", "@7d", "@30d"):
        assert {f"index{r}.html", f"feature/rag_qa{r}.html", f"model/gpt-4o-mini{r}.html"} <= names
    assert "triage/1.html" in names  # written for the alert, without `llmwatch triage`
    assert "drift-summary/2025-06-02.html" in names
    for page in pages:
        if page.parent.name == "triage":
            continue
        for href in links(page):
            assert (page.parent / href).resolve().is_file(), (page, href)
    home = (reports / "index.html").read_text()
    assert 'href="triage/1.html"' in home
    assert 'class="alert-series"' in home


def test_home_shows_alerts_grouped_by_series_with_age_and_feature_rows(
    engine: Engine, tmp_path: Path
) -> None:
    fill_warehouse(engine)
    t = START + timedelta(hours=20)
    with engine.begin() as conn:  # two alerts of one series (past the cool-down) and another
        record_alerts(conn, [NewAlert(kind="slo_breach", flow="cost", feature_id="support_chat",
                                      model_id="gpt-4o-mini", metric="error_rate",
                                      severity="critical", message="errors up",
                                      window_start=t, window_end=t + timedelta(hours=1))],
                      now=NOW - timedelta(minutes=75))  # fmt: skip
        record_alerts(conn, [NewAlert(kind="slo_breach", flow="cost", feature_id="support_chat",
                                      model_id="gpt-4o-mini", metric="error_rate",
                                      severity="warning", message="errors still up",
                                      window_start=t - timedelta(hours=12),
                                      window_end=t - timedelta(hours=11))],
                      now=NOW - timedelta(minutes=5))  # fmt: skip

        record_alerts(conn, [NewAlert(kind="input_drift", flow="drift", message="drifted",
                                      window_start=START, window_end=START + timedelta(days=1))],
                      now=NOW - timedelta(minutes=1))  # fmt: skip

    home = generate_site(engine, tmp_path / "r", now=NOW).read_text()

    # Three scoped alerted windows on each of the four operations charts and the three
    # cost charts (by model per hour, by feature and model per day); the all-traffic day
    # is none.
    assert home.count('class="alert-band"') == 3 * 7
    series_rows = re.findall(r'<tr class="alert-series">(.*?)</tr>', home)
    assert len(series_rows) == 3  # slo_breach x support_chat x gpt-4o-mini, quality, drift
    first = series_rows[0]  # the critical series first
    assert "slo_breach" in first
    assert ">critical<" in first
    assert '<a href="triage/3.html" class="triage">#3</a>' in first  # latest alert of it
    assert '<a href="triage/2.html" class="triage">#2</a>' in first  # earlier in series
    assert "<td>5 min</td>" in first
    assert "2025-06-02 08:00 .. 2025-06-02 09:00" in first  # minutes, no microseconds
    assert "<th>cost 2025-06-02</th>" in home  # the day of the newest window, named
    rows = re.findall(r'<tr class="feature-row">(.*?)</tr>', home)
    assert [re.search(r">([a-z_]+)</a>", r).group(1) for r in rows] == sorted(FEATURES)  # type: ignore[union-attr]
    support = rows[1]
    assert '<a href="feature/support_chat.html">' in support
    assert 'class="num state-bad">1.9%' in support  # the critical error-rate alert (46/2400)
    assert ">2,400<" in support
    assert 'class="num state-bad">' in rows[0]  # rag_qa's chart signalled


def test_error_rate_is_per_feature_not_diluted(engine: Engine, tmp_path: Path) -> None:
    fill_warehouse(engine)
    with engine.begin() as conn:
        conn.execute(
            update(WindowMetrics)
            .where(WindowMetrics.feature_id == "rag_qa")
            .values(error_count=30, error_rate=0.3)
        )
    home = generate_site(engine, tmp_path / "r", now=NOW).read_text()
    chart = re.search(r'data-chart="Error rate per hour by feature">(.*?)</figure>', home)
    assert chart is not None
    assert 'data-series="rag_qa"' in chart.group(1)
    assert 'data-series="support_chat"' in chart.group(1)
    assert ">30 %</text>" in chart.group(1)  # the top of the axis: rag_qa's own rate
    assert 'class="num state-ok">30.0%' in home


def test_feature_page_charts_ticks_bands_and_fitted_control_chart(
    engine: Engine, tmp_path: Path
) -> None:
    fill_warehouse(engine)
    reports = tmp_path / "r"
    generate_site(engine, reports, now=NOW)
    page = (reports / "feature" / "rag_qa.html").read_text()

    charts = re.findall(r'<figure class="chart" data-chart="([^"]+)">', page)
    assert charts == [
        "judge_score per judged window, baseline mean 4.200",
        "Cost per hour by model (USD)",
        "Cost per day by model (USD, last 7 days)",
        "Requests per hour by model",
        "Latency percentiles (ms, worst model and hour in each hour)",
        "Time to first token (ms, worst model and hour in each hour)",
        "Error rate per hour by model",
        "Error and refusal rate per hour",
        "Tokens per hour",
    ]
    assert page.count('class="alert-band"') == len(charts)  # the alerted window on every chart
    assert len(re.findall(r'class="xtick"[^>]*>([^<]+)<', page)) >= 5 * len(charts)
    quality = page[: page.index("Cost per hour")]
    yticks = [float(v.split()[0]) for v in re.findall(r'class="ytick"[^>]*>([^<]+)<', quality)]
    assert min(yticks) > 3.5  # fitted to the data and the limits (4.0 .. 4.4), not from 0
    assert quality.count('class="signal"') == 2
    for name in ("window mean", "EWMA", "UCL", "LCL", "p50", "p95", "p99"):
        assert f'data-series="{name}"' in page
    assert "USD</text>" in page
    assert "ms</text>" in page
    assert "%</text>" in page
    assert '<a href="rag_qa@7d.html" class="range">' in page
    assert '<a href="../index.html">Home</a>' in page


def test_range_pages_use_daily_buckets(engine: Engine, tmp_path: Path) -> None:
    fill_warehouse(engine, hours=24 * 10)
    reports = tmp_path / "r"
    generate_site(engine, reports, now=NOW)
    week = (reports / "index@7d.html").read_text()
    month = (reports / "index@30d.html").read_text()
    day = (reports / "index.html").read_text()

    def points(page: str, chart: str) -> int:
        found = re.search(rf'data-chart="{re.escape(chart)}">.*?points="([^"]+)"', page)
        assert found is not None
        return len(found.group(1).split())

    assert points(day, "Cost per hour by feature (USD)") == 24
    assert points(week, "Cost per day by feature (USD)") == 7
    assert points(month, "Cost per day by feature (USD)") == 10  # all the data there is
    # The alert of the last day's 22:00 window is on the daily charts: their axis runs to
    # the end of the last day, not to its first hour where its point is drawn.
    for page in (week, month):
        chart = re.search(r'data-chart="Cost per day by feature \(USD\)">(.*?)</figure>', page)
        assert chart is not None
        assert chart.group(1).count('class="alert-band"') == 1
    assert "<b>last 7 days</b>" in week
    assert '<a href="index.html" class="range">last 24 h</a>' in week


def test_drift_summary_frames_the_evidently_report(engine: Engine, tmp_path: Path) -> None:
    fill_warehouse(engine)
    _drift_run(engine, date(2025, 6, 2))
    _drift_run(engine, date(2025, 6, 3))
    reports = tmp_path / "reports"
    (reports / "drift").mkdir(parents=True)
    (reports / "drift" / "2025-06-03.html").write_text("<html>report</html>")

    home = generate_site(engine, reports, now=NOW).read_text()
    frame = (reports / "drift-summary" / "2025-06-03.html").read_text()

    assert "<title>Drift report 2025-06-03 - llmwatch</title>" in frame
    assert "reference period 2025-05-27 00:00 .. 2025-06-03 00:00 UTC" in frame
    assert "<td>input_length</td><td>K-S p_value</td><td>0.001</td>" in frame
    assert '<a href="../drift/2025-06-03.html">Evidently report 2025-06-03</a>' in frame
    assert '<a href="../index.html">Home</a>' in frame
    assert '<a href="drift-summary/2025-06-03.html">2025-06-03</a>' in home
    assert "(file missing)" in (reports / "drift-summary" / "2025-06-02.html").read_text()
    assert HOSTILE not in frame


def test_hostile_ids_and_text_are_escaped_and_stay_in_their_folder(
    engine: Engine, tmp_path: Path
) -> None:
    hostile_feature = '"><img src=x onerror=alert(1)>../../x'
    fill_warehouse(engine, features=(hostile_feature, "rag_qa"))
    reports = tmp_path / "reports"
    generate_site(engine, reports, now=NOW)
    pages = list(reports.rglob("*.html"))
    assert all(reports in p.parents for p in pages)
    assert (reports / "feature" / f"{slug(hostile_feature)}.html").is_file()
    for page in pages:
        text = page.read_text()
        assert "<script" not in text
        assert "<img" not in text
        assert HOSTILE not in text
    assert (
        "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;"
        in (reports / "index.html").read_text()
    )


def test_empty_warehouse_gives_a_page_with_no_data_panels(engine: Engine, tmp_path: Path) -> None:
    page = generate_site(engine, tmp_path / "reports", now=NOW).read_text()
    assert "No alerts." in page
    assert page.count("No windows in this range.") == 2
    assert page.count("No data yet.") == 5  # four operations charts and cost by model
    assert "No drift reports yet." in page
    assert "No judged windows yet." in page


def test_cost_per_day_and_top_spenders_by_template_show_the_unpriced_share(
    engine: Engine, tmp_path: Path
) -> None:
    fill_warehouse(engine, hours=24 * 3)
    t = WindowTemplateSpend
    with engine.begin() as conn:  # rag_qa's template spends twice as much, a quarter unpriced
        conn.execute(
            update(WindowMetrics)
            .where(WindowMetrics.feature_id == "rag_qa")
            .values(unpriced_count=25)
        )
        conn.execute(
            update(t)
            .where(t.feature_id == "rag_qa", t.prompt_template_id == "rag_qa-v1")
            .values(cost_total_usd=t.cost_total_usd * 2, unpriced_count=25)
        )
    reports = tmp_path / "r"
    home = generate_site(engine, reports, now=NOW).read_text()

    for chart in ("Cost per hour by model (USD)", "Cost per day by feature (USD, last 7 days)",
                  "Cost per day by model (USD, last 7 days)"):  # fmt: skip
        assert f'data-chart="{chart}"' in home
    days = re.findall(r'<tr class="cost-day"><td>([0-9-]+)</td>', home)
    assert days == ["2025-06-04", "2025-06-03", "2025-06-02"]
    assert "600 of the 4,800 requests in this range (12.5%) had no price" in home

    spenders = re.findall(r'<tr class="spender">(.*?)</tr>', home)
    cells = [re.findall(r"<td[^>]*>(?:<a [^>]*>)?([^<]*)", s) for s in spenders]
    assert [c[1:4] for c in cells] == [
        ["rag_qa", "gpt-4o-mini", "rag_qa-v1"],
        ["support_chat", "gpt-4o-mini", "support_chat-v1"],
        ["rag_qa", "gpt-4o-mini", "(none)"],  # a tie with the next: by name
        ["support_chat", "gpt-4o-mini", "(none)"],
    ]
    # The last 24 windows (i = 48 .. 71) cost 0.5 + 0.1 i each: 154.80 per feature.
    # rag_qa-v1: 2 x 0.7 x 154.80 = 216.72 of 216.72 + 0.7 x 154.80 + 2 x 0.3 x 154.80.
    assert cells[0][4:] == ["$216.72", "51.9%", "1,680", "$129.00", "600 (35.7%)"]
    assert 'class="num state-warn">600 (35.7%)' in spenders[0]
    page = (reports / "feature" / "rag_qa.html").read_text()
    mine = re.findall(r'<tr class="spender">(.*?)</tr>', page)
    assert len(mine) == 2
    assert "support_chat" not in "".join(mine)
    assert 'data-chart="Cost per day by model (USD, last 7 days)"' in page


def test_windows_without_template_spend_are_said_not_hidden(engine: Engine, tmp_path: Path) -> None:
    fill_warehouse(engine)
    with engine.begin() as conn:
        conn.execute(delete(WindowTemplateSpend))
    home = generate_site(engine, tmp_path / "r", now=NOW).read_text()
    assert "No spend by prompt template recorded for this range" in home
    assert '<tr class="spender">' not in home


def test_feature_page_shows_its_slos_with_the_budget_left(engine: Engine, tmp_path: Path) -> None:
    from llmwatch.warehouse.models import SloStatus

    fill_warehouse(engine)
    common = {"feature_id": "rag_qa", "evaluated_at": NOW - timedelta(minutes=4),
              "budget_days": 30.0, "paging": False, "ticketing": False}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(SloStatus), [
            {**common, "slo": "latency", "objective": 0.99, "threshold_ms": 10_000.0,
             "events": 5000, "bad_events": 75, "remaining_budget": -0.5,
             "burn_rates": {"1h": 20.0, "5m": 18.0}, "paging": True},
            {**common, "slo": "errors", "objective": 0.99, "threshold_ms": None,
             "events": 5000, "bad_events": 10, "remaining_budget": 0.8,
             "burn_rates": {"1h": 0.5, "5m": None}},
        ])  # fmt: skip
    reports = tmp_path / "r"
    generate_site(engine, reports, now=NOW)
    page = (reports / "feature" / "rag_qa.html").read_text()
    table = page.split('<table class="slos">', 1)[1].split("</table>", 1)[0]
    errors, latency = table.split("<tr>")[2:]  # ordered by SLO name
    assert "99.00% requests under 10,000 ms (30 d)" in latency
    assert '<td class="state-bad">-50%</td>' in latency
    assert "5m 18.0x, 1h 20.0x" in latency  # shortest window first
    assert ">page<" in latency
    assert '<td class="state-ok">80%</td>' in errors
    assert "5m -, 1h 0.5x" in errors  # a window without events has no burn rate
    assert "75 / 5,000" in latency
    other = (reports / "feature" / "support_chat.html").read_text()
    assert "No SLO evaluated for this feature yet." in other


def test_home_lists_unresolved_incidents_first_with_a_triage_link(
    engine: Engine, tmp_path: Path
) -> None:
    from llmwatch.incidents import resolve

    fill_warehouse(engine)
    t = START + timedelta(hours=20)
    with engine.begin() as conn:
        for kind, feature, severity in [
            ("token_spike", "rag_qa", "warning"),
            ("cost_anomaly", "support_chat", "critical"),
        ]:
            record_alerts(conn, [NewAlert(kind=kind, flow="cost", feature_id=feature,
                                          model_id="gpt-4o-mini", metric="cost_total_usd",
                                          severity=severity, message=f"{kind} up",
                                          window_start=t, window_end=t + timedelta(hours=1))],
                          now=NOW - timedelta(hours=2))  # fmt: skip
    reports = tmp_path / "r"
    home = generate_site(engine, reports, now=NOW).read_text()
    assert home.index('id="incidents"') < home.index('id="alerts"')
    table = home.split('<table id="incidents">', 1)[1].split("</table>", 1)[0]
    rows = table.split('<tr class="incident">')[1:]
    assert "cost_anomaly" in rows[0]  # the critical one first
    assert 'class="sev-critical">critical' in rows[0]
    assert any("token_spike" in row for row in rows)
    for row in rows:
        (target,) = re.findall(r'href="(triage/\d+\.html)"', row)
        assert (reports / target).is_file()

    incident_id = int(re.findall(r"<td>#(\d+)</td>", rows[0])[0])
    with engine.begin() as conn:
        resolve(conn, incident_id, NOW)
    home = generate_site(engine, reports, now=NOW).read_text()
    assert home.count('<tr class="incident">') == len(rows) - 1
    assert f"<td>#{incident_id}</td>" not in home


def test_charts_keep_ten_lines_and_fold_the_rest(engine: Engine, tmp_path: Path) -> None:
    """200 features (the cardinality cap's default) would draw 200 lines and legends off
    the chart: the nine busiest keep their line, the rest share one."""
    features = tuple(f"f{i:02d}" for i in range(15))
    fill_warehouse(engine, features=features)
    with engine.begin() as conn:  # f14 busiest, f00 quietest
        for i, feature in enumerate(features):
            conn.execute(
                update(WindowMetrics)
                .where(WindowMetrics.feature_id == feature)
                .values(request_count=100 + i)
            )
    home = generate_site(engine, tmp_path / "r", now=NOW).read_text()
    chart = re.search(r'data-chart="Requests per hour by feature">(.*?)</figure>', home)
    assert chart is not None
    lines = re.findall(r'data-series="([^"]+)"', chart.group(1))
    assert sorted(lines) == sorted([f"f{i:02d}" for i in range(6, 15)] + ["other (6)"])
    # The folded line carries the six quietest features' requests (100 + ... + 105 an
    # hour, not their mean): far above every other line (smaller y in SVG).
    heights = {
        name: [float(p.split(",")[1]) for p in points.split()]
        for name, points in re.findall(
            r'data-series="([^"]+)"[^>]*points="([^"]+)"', chart.group(1)
        )
    }
    other = heights.pop("other (6)")
    assert max(other) < min(min(v) for v in heights.values())
    assert ">800 req</text>" in chart.group(1)  # the axis's round top above 615
    assert len(re.findall(r'<tr class="feature-row">', home)) == 15  # the table keeps all


def test_the_site_keeps_the_cardinality_cap(engine: Engine, tmp_path: Path) -> None:
    """Issue 16.8: 30 features in a window under a cap of 5 give 5 feature pages and
    rows (the tail is __other__)."""
    from llmwatch.aggregation import run_window
    from llmwatch.settings import CostSettings
    from tests.core.aggregation.test_cardinality import CAP, traffic
    from tests.core.aggregation.traffic import BASE_TIME

    traffic(engine)
    run_window(engine, BASE_TIME, CostSettings(max_distinct_per_window=CAP))
    reports = tmp_path / "r"
    home = generate_site(engine, reports, now=BASE_TIME + timedelta(hours=2)).read_text()
    pages = sorted(p.name for p in (reports / "feature").glob("*.html") if "@" not in p.name)
    assert pages == ["__other__.html", "f00.html", "f01.html", "f02.html", "f03.html"]
    assert len(re.findall(r'<tr class="feature-row">', home)) == CAP
    assert len(re.findall(r'<tr class="model-row">', home)) <= CAP


def test_an_alert_kind_the_site_does_not_know_is_shown_generically(
    engine: Engine, tmp_path: Path
) -> None:
    """New kinds (judge_drift, ...) arrive from other jobs, possibly a newer version
    writing the same warehouse: listed, linked and shaded like any other, their text
    escaped, no cell colour guessed for them."""
    from llmwatch.warehouse.models import Alert

    fill_warehouse(engine)
    t = START + timedelta(hours=20)
    with engine.begin() as conn:
        (new_id,) = record_alerts(conn, [NewAlert(kind="judge_failure", flow="judge",
                                                  feature_id="rag_qa", model_id="gpt-4o-mini",
                                                  metric="agreement", severity="warning",
                                                  message="the judge moved", window_start=t,
                                                  window_end=t + timedelta(hours=1))],
                                  now=NOW - timedelta(minutes=3))  # fmt: skip
        conn.execute(update(Alert).where(Alert.id == new_id).values(kind="judge_drift<b>"))
    reports = tmp_path / "r"
    home = generate_site(engine, reports, now=NOW).read_text()
    (row,) = [
        r for r in re.findall(r'<tr class="alert-series">(.*?)</tr>', home) if "judge_drift" in r
    ]
    assert "judge_drift&lt;b&gt;" in row
    (target,) = re.findall(r'href="(triage/\d+\.html)"', row)
    assert (reports / target).is_file()
    page = (reports / "feature" / "rag_qa.html").read_text()
    assert "judge_drift&lt;b&gt;" in page
    assert 'class="alert-band"' in page
