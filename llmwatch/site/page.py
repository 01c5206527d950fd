"""The reports site: ``reports/index.html``, the page an on-call engineer opens first.

A single static file with inline CSS and inline SVG charts: it opens from disk with no
server and no network. Every value that comes from the warehouse is escaped, since
feature ids, messages and alert details can carry user-supplied text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine

from llmwatch.files import write_public_text
from llmwatch.site.data import SiteData, load_site_data
from llmwatch.site.svg import Series, line_chart

DRIFT_DIR = "drift"

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1100px}
h1{margin-bottom:.2rem} .meta{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} .sev-critical{color:#b00020;font-weight:bold} .sev-warning{color:#a15c00}
.drifted{color:#b00020;font-weight:bold} figure.chart{margin:0 0 1rem}
figcaption{font-weight:600;margin-bottom:.25rem} .empty{color:#888}
"""


def drift_report_name(report_date: str) -> str:
    return f"{DRIFT_DIR}/{report_date}.html"


def generate_site(engine: Engine, reports_dir: Path, *, days: int = 7) -> Path:
    """Write ``reports_dir/index.html`` from the warehouse; returns its path."""
    with engine.connect() as conn:
        data = load_site_data(conn, days=days)
    page = render_index(data, reports_dir, generated_at=datetime.now(UTC))
    # Written whole then renamed, world-readable (a web server serves it).
    return write_public_text(reports_dir / "index.html", page)


def render_index(data: SiteData, reports_dir: Path, generated_at: datetime) -> str:
    sections = [
        "<h2>Recent alerts</h2>",
        _alerts_table(data.alerts),
        "<h2>Operations (hourly)</h2>",
        line_chart("Cost per hour (USD)", [Series("all features", data.cost_per_hour)]),
        line_chart(
            "Latency p95 (ms), worst model per feature",
            [Series(feature, points) for feature, points in data.latency_p95.items()],
        ),
        line_chart("Error rate", [Series("all features", data.error_rate)]),
        "<h2>Judged quality (EWMA control charts)</h2>",
        _quality_charts(data),
        "<h2>Drift reports</h2>",
        _drift_table(data.drift_runs, reports_dir),
        "<h2>Triage reports</h2>",
        _triage_list(reports_dir),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        # No script may run on this page, whatever ends up in it.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>llmwatch reports</title><style>{_CSS}</style></head><body>"
        "<h1>llmwatch</h1>"
        f'<p class="meta">Generated {escape(generated_at.isoformat(timespec="seconds"))}</p>'
        + "".join(sections)
        + "</body></html>"
    )


def _quality_charts(data: SiteData) -> str:
    if not data.quality:
        return '<p class="empty">No judged windows yet.</p>'
    out = []
    for chart in data.quality:
        out.append(
            line_chart(
                f"{chart.feature_id}: {chart.metric}",
                [
                    Series("window mean", chart.mean, color="#bbbbbb"),
                    Series("EWMA", chart.ewma, color="#1f77b4", marks=chart.signals),
                    Series("UCL", chart.ucl, color="#d62728", dashed=True),
                    Series("LCL", chart.lcl, color="#d62728", dashed=True),
                ],
            )
        )
    return "".join(out)


def _alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return '<p class="empty">No alerts.</p>'
    head = (
        "<tr>"
        + "".join(
            f"<th>{name}</th>"
            for name in ("created", "kind", "severity", "scope", "window", "message")
        )
        + "</tr>"
    )
    rows = []
    for a in alerts:
        scope = " / ".join(str(p) for p in (a["feature_id"], a["model_id"]) if p) or "all"
        window = f"{a['window_start'] or ''} .. {a['window_end'] or ''}"
        rows.append(
            f'<tr class="alert"><td>{escape(str(a["created_at"]))}</td><td>{escape(a["kind"])}</td>'
            f'<td class="sev-{escape(a["severity"])}">{escape(a["severity"])}</td>'
            f"<td>{escape(scope)}</td><td>{escape(window)}</td><td>{escape(a['message'])}</td></tr>"
        )
    return f'<table id="alerts">{head}{"".join(rows)}</table>'


def _drift_table(runs: list[dict[str, Any]], reports_dir: Path) -> str:
    if not runs:
        return '<p class="empty">No drift reports yet.</p>'
    head = (
        "<tr><th>day</th><th>drifted columns</th><th>share</th>"
        "<th>reference rows</th><th>current rows</th><th>report</th></tr>"
    )
    rows = []
    for run in runs:
        day = str(run["report_date"])
        name = drift_report_name(day)
        link = (
            f'<a href="{escape(quote(name))}">{escape(day)}</a>'
            if (reports_dir / name).is_file()
            else "(file missing)"
        )
        share = run["drift_share"]
        share_text = "" if share is None else f"{share:.0%}"
        css = ' class="drifted"' if run["n_drifted"] else ""
        rows.append(
            f'<tr class="drift-run"><td>{escape(day)}</td>'
            f"<td{css}>{run['n_drifted']} / {run['n_columns']}</td><td>{share_text}</td>"
            f"<td>{run['n_reference']}</td><td>{run['n_current']}</td><td>{link}</td></tr>"
        )
    return f'<table id="drift-reports">{head}{"".join(rows)}</table>'


def _triage_list(reports_dir: Path) -> str:
    """Links to the triage pages on disk (``llmwatch triage`` writes triage/<alert id>.html)."""
    folder = reports_dir / "triage"
    ids = sorted(
        (int(p.stem) for p in folder.glob("*.html") if p.stem.isdigit()) if folder.is_dir() else (),
        reverse=True,
    )
    if not ids:
        return '<p class="empty">No triage reports yet.</p>'
    items = "".join(f'<li><a href="triage/{i}.html">alert #{i}</a></li>' for i in ids)
    return f'<ul id="triage-reports">{items}</ul>'
