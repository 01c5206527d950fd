"""The reports site: ``reports/index.html``, the page an on-call engineer opens first,
and the pages it links to.

Static files with inline CSS and inline SVG charts: they open from disk with no server
and no network, and a Content-Security-Policy forbids scripts. Pages:

- ``index.html`` (last 24 h, hourly), ``index@7d.html``, ``index@30d.html`` (daily): recent
  alerts grouped by series, each linked to its triage page; one row per feature and per
  model, cells coloured by state; cost, error rate, latency and requests by feature;
- ``feature/<id>[@7d|@30d].html`` and ``model/<id>[...]``: cost, requests, latency and
  TTFT percentiles, error and refusal rate, tokens, judged quality on its control chart,
  with the alerted windows shaded; the alerts and drifted columns;
- ``drift-summary/<day>.html``: the frame of each Evidently report (``drift/<day>.html``);
- ``triage/<alert id>.html``: written here for every alert shown that has none yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from llmwatch.files import write_public_text
from llmwatch.site.alerts import (
    alert_bands,
    alerts_by_series,
    column_states,
    incidents_table,
    write_triage_pages,
)
from llmwatch.site.cost import cost_section
from llmwatch.site.data import SiteData, load_site_data
from llmwatch.site.detail import entity_page
from llmwatch.site.drift_pages import drift_summary_page, drift_table
from llmwatch.site.layout import (
    RANGES,
    Range,
    feature_name,
    frame,
    home_name,
    model_name,
    ms,
    pct,
    range_nav,
    usd,
)
from llmwatch.site.rollup import (
    DAY,
    Bucket,
    day_axis,
    floor,
    rollup,
    series,
    series_key,
    total,
)
from llmwatch.site.svg import Series, line_chart


def generate_site(engine: Engine, reports_dir: Path, *, now: datetime | None = None) -> Path:
    """Write every page of the site from the warehouse; returns the path of index.html."""
    generated_at = now or datetime.now(UTC)
    with engine.connect() as conn:
        data = load_site_data(conn, range_starts=[r.start for r in RANGES])
    write_triage_pages(engine, reports_dir, data.alerts)
    write_triage_pages(engine, reports_dir, [{"id": i["worst_alert_id"]} for i in data.incidents])
    for run in data.drift_runs:
        name, page = drift_summary_page(run, data.drift_columns.get(run["run_id"], []),
                                        reports_dir, generated_at)  # fmt: skip
        write_public_text(reports_dir / name, page)
    index = reports_dir / "index.html"
    for r in RANGES:
        write_public_text(
            reports_dir / home_name(r), render_home(data, r, reports_dir, generated_at)
        )
        if data.newest is None:
            continue
        start = r.start(data.newest)
        rows = [w for w in data.windows if w["window_start"] >= start]
        for feature in data.features:
            page = entity_page(data, r, "feature", feature, rows, reports_dir, generated_at)
            write_public_text(reports_dir / feature_name(feature, r), page)
        for model in data.models:
            page = entity_page(data, r, "model", model, rows, reports_dir, generated_at)
            write_public_text(reports_dir / model_name(model, r), page)
    return index


def render_home(data: SiteData, r: Range, reports_dir: Path, generated_at: datetime) -> str:
    start = r.start(data.newest) if data.newest is not None else None
    rows = [w for w in data.windows if start is not None and w["window_start"] >= start]
    in_range = [a for a in data.alerts if start is None or _anchor(a) >= start]
    sections = [
        f"<h2>Open incidents ({len(data.incidents)})</h2>",
        incidents_table(data.incidents, generated_at, root=""),
        f"<h2>Recent alerts by series ({len(data.alerts)} newest alerts)</h2>",
        alerts_by_series(data.alerts, generated_at, root=""),
        f"<h2>Features ({r.title})</h2>",
        _feature_table(data, rows, in_range, r),
        f"<h2>Models ({r.title})</h2>",
        _model_table(data, rows, in_range, r),
        f"<h2>Operations by feature (per {r.step_name})</h2>",
        _overview_charts(rows, r, alert_bands(in_range)),
        f"<h2>Cost ({r.title})</h2>",
        cost_section(data.windows, data.newest, r, _spend(data, r), bands=alert_bands(in_range)),
        "<h2>Judged quality (EWMA control charts)</h2>",
        _quality_links(data, r),
        "<h2>Drift reports</h2>",
        drift_table(data.drift_runs, data.drift_columns, reports_dir, root=""),
        "<h2>Triage pages on disk</h2>",
        _triage_list(reports_dir),
    ]
    nav = range_nav(r, {x.key: home_name(x) for x in RANGES}, "")
    return frame(f"llmwatch: {r.title}", "".join(sections), root="", generated_at=generated_at,
                 nav=nav)  # fmt: skip


def _spend(data: SiteData, r: Range) -> list[dict[str, Any]]:
    if data.newest is None:
        return []
    return data.template_spend.get(r.start(data.newest), [])


def render_index(data: SiteData, reports_dir: Path, generated_at: datetime) -> str:
    return render_home(data, RANGES[0], reports_dir, generated_at)


def _anchor(alert: dict[str, Any]) -> datetime:
    return alert["window_start"] or alert["created_at"]


def _td(text: str, state: str = "", num: bool = True) -> str:
    classes = " ".join(c for c in ("num" if num else "", f"state-{state}" if state else "") if c)
    return f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>"


def _feature_table(
    data: SiteData, rows: list[dict[str, Any]], alerts: list[dict[str, Any]], r: Range
) -> str:
    if not rows:
        return '<p class="empty">No windows in this range.</p>'
    newest = data.newest
    assert newest is not None
    today = floor(newest, DAY)
    week = [w for w in data.windows if today - 7 * DAY <= w["window_start"] < today]
    quality = {c.feature_id: c for c in data.quality}
    # "Today" is the UTC day of the newest window stored, which is today's date only
    # when traffic is current: the header says which day it is.
    head = (
        "<tr><th>feature</th><th>requests</th><th>error rate</th><th>p95 latency "
        f"(worst hour)</th><th>cost in range</th><th>cost {today:%Y-%m-%d}</th>"
        "<th>that day vs the 7 days before (daily mean)</th>"
        "<th>judged quality (EWMA vs baseline)</th></tr>"
    )
    out = []
    for feature in data.features:
        mine = [w for w in rows if w["feature_id"] == feature]
        b = total(mine)
        states = column_states([a for a in alerts if a["feature_id"] == feature])
        cost_today = sum(
            float(w["cost_total_usd"] or 0) for w in data.windows
            if w["feature_id"] == feature and w["window_start"] >= today
        )  # fmt: skip
        past = sum(float(w["cost_total_usd"] or 0) for w in week if w["feature_id"] == feature)
        days_seen = len({floor(w["window_start"], DAY) for w in week if w["feature_id"] == feature})
        trend, trend_state = "-", "none"
        if days_seen and past > 0:
            ratio = cost_today / (past / days_seen) - 1
            trend = f"{ratio:+.0%} (mean ${past / days_seen:,.2f}/day)"
            trend_state = "ok"
        q_text, q_state = _quality_cell(quality.get(feature), states.get("quality", ""))
        page = feature_name(feature, r)
        out.append(
            f'<tr class="feature-row"><td><a href="{escape(page)}">{escape(feature)}</a></td>'
            + _td(f"{b.requests:,}", "ok" if b.requests else "none")
            + _td(pct(b.error_rate), states.get("errors", "ok"))
            + _td(ms(b.percentile("latency_p95_ms")), states.get("latency", "ok"))
            + _td(usd(b.cost) + _unpriced(b), states.get("cost", "ok"))
            + _td(usd(cost_today), states.get("cost", "ok"))
            + _td(escape(trend), states.get("cost", trend_state))
            + _td(q_text, q_state)
            + "</tr>"
        )
    return f'<table id="features">{head}{"".join(out)}</table>'


def _unpriced(b: Bucket) -> str:
    share = b.unpriced_share
    return f" ({share:.0%} unpriced)" if share else ""


def _quality_cell(chart: Any, alert_state: str) -> tuple[str, str]:
    if chart is None or not chart.ewma:
        return "not judged", "none"
    z = chart.ewma[-1][1]
    lcl = chart.lcl[-1][1] if chart.lcl else None
    base = f"{z:.2f}" + (f" vs {chart.mu0:.2f}" if chart.mu0 is not None else " (baseline phase)")
    if lcl is not None:
        base += f", LCL {lcl:.2f}"
    state = "bad" if chart.signalled else (alert_state or "ok")
    return base, state


def _model_table(
    data: SiteData, rows: list[dict[str, Any]], alerts: list[dict[str, Any]], r: Range
) -> str:
    if not rows:
        return '<p class="empty">No windows in this range.</p>'
    head = (
        "<tr><th>model</th><th>requests</th><th>error rate</th><th>refusal rate</th>"
        "<th>p95 latency (worst hour)</th><th>cost</th><th>features</th></tr>"
    )
    out = []
    for model in data.models:
        mine = [w for w in rows if w["model_id"] == model]
        b = total(mine)
        states = column_states([a for a in alerts if a["model_id"] == model])
        features = len({w["feature_id"] for w in mine})
        out.append(
            f'<tr class="model-row"><td><a href="{escape(model_name(model, r))}">'
            f"{escape(model)}</a></td>"
            + _td(f"{b.requests:,}", "ok" if b.requests else "none")
            + _td(pct(b.error_rate), states.get("errors", "ok"))
            + _td(pct(b.refusal_rate))
            + _td(ms(b.percentile("latency_p95_ms")), states.get("latency", "ok"))
            + _td(usd(b.cost) + _unpriced(b), states.get("cost", "ok"))
            + _td(str(features))
            + "</tr>"
        )
    return f'<table id="models">{head}{"".join(out)}</table>'


def _overview_charts(rows: list[dict[str, Any]], r: Range, bands: Any) -> str:
    by_feature = rollup(rows, r.step, series_key(rows, "feature_id"))
    axis = day_axis(rows, r.step)

    def chart(title: str, value: Callable[[Bucket], float | None], **kw: Any) -> str:
        lines = [Series(f, series(b, value)) for f, b in sorted(by_feature.items())]
        return line_chart(title, lines, bands=bands, x_range=axis, **kw)

    unit = r.step_name
    return (
        chart(f"Cost per {unit} by feature (USD)", lambda b: b.cost, unit="USD")
        + chart(f"Error rate per {unit} by feature", lambda b: b.error_rate, percent=True)
        + chart(
            f"Latency p95 by feature (ms, worst model and hour in each {unit})",
            lambda b: b.percentile("latency_p95_ms"),
            unit="ms",
        )
        + chart(f"Requests per {unit} by feature", lambda b: float(b.requests), unit="req")
    )


def _quality_links(data: SiteData, r: Range) -> str:
    if not data.quality:
        return '<p class="empty">No judged windows yet.</p>'
    items = []
    for c in data.quality:
        state = "bad" if c.signalled else "ok"
        items.append(
            f'<li class="state-{state}"><a href="{escape(feature_name(c.feature_id, r))}">'
            f"{escape(c.feature_id)}: {escape(c.metric)}</a>"
            f"{' - outside its control limits' if c.signalled else ''}</li>"
        )
    return f'<ul id="quality-charts">{"".join(items)}</ul>'


def _triage_list(reports_dir: Path) -> str:
    """Links to the triage pages on disk (triage/<alert id>.html)."""
    folder = reports_dir / "triage"
    ids = sorted(
        (int(p.stem) for p in folder.glob("*.html") if p.stem.isdigit()) if folder.is_dir() else (),
        reverse=True,
    )
    if not ids:
        return '<p class="empty">No triage reports yet.</p>'
    items = "".join(f'<li><a href="triage/{i}.html">alert #{i}</a></li>' for i in ids[:200])
    more = f"<li>and {len(ids) - 200} older</li>" if len(ids) > 200 else ""
    return f'<ul id="triage-reports">{items}{more}</ul>'
