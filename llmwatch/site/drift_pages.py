"""Drift on the site: the table of daily runs and, for each run, a small llmwatch page
that frames Evidently's report with the day, the reference period and the drifted
columns (method and score), and links back home."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from llmwatch.site.layout import drift_report_name, drift_summary_name, frame, link, when


def drift_table(
    runs: list[dict[str, Any]], columns: dict[str, list[dict[str, Any]]], reports_dir: Path,
    root: str,
) -> str:  # fmt: skip
    if not runs:
        return '<p class="empty">No drift reports yet.</p>'
    head = (
        "<tr><th>day</th><th>reference period</th><th>drifted columns</th><th>share</th>"
        "<th>reference rows</th><th>current rows</th><th>Evidently report</th></tr>"
    )
    rows = []
    for run in runs:
        day = str(run["report_date"])
        drifted = [c["column_name"] for c in columns.get(run["run_id"], []) if c["drifted"]]
        share = run["drift_share"]
        css = ' class="drifted"' if run["n_drifted"] else ""
        names = escape(", ".join(drifted[:6]) + (" …" if len(drifted) > 6 else ""))
        rows.append(
            f'<tr class="drift-run"><td>{link(root + drift_summary_name(day), day)}</td>'
            f"<td>{escape(_period(run))}</td>"
            f"<td{css}>{run['n_drifted']} / {run['n_columns']}"
            f"{': ' + names if names else ''}</td>"
            f"<td>{'' if share is None else f'{share:.0%}'}</td>"
            f"<td>{run['n_reference']}</td><td>{run['n_current']}</td>"
            f"<td>{_report_link(day, reports_dir, root)}</td></tr>"
        )
    return f'<table id="drift-reports">{head}{"".join(rows)}</table>'


def drift_summary_page(
    run: dict[str, Any], columns: list[dict[str, Any]], reports_dir: Path, generated_at: datetime
) -> tuple[str, str]:
    """(file name, page) of the frame of one drift run."""
    day = str(run["report_date"])
    head = "<tr><th>column</th><th>method</th><th>score</th><th>threshold</th><th>drifted</th></tr>"
    rows = "".join(
        f'<tr class="drift-column"><td>{escape(c["column_name"])}</td>'
        f"<td>{escape(c['method'])}</td>"
        f"<td>{_num(c['score'])}</td><td>{_num(c['threshold'])}</td>"
        f"<td{' class=drifted' if c['drifted'] else ''}>{'yes' if c['drifted'] else 'no'}</td></tr>"
        for c in columns
    )
    body = (
        f"<p>Current period {escape(when(run['current_start']))} .. "
        f"{escape(when(run['current_end']))} UTC ({run['n_current']} requests sampled) against "
        f"the reference period {escape(_period(run))} UTC ({run['n_reference']} requests).</p>"
        f"<p>{run['n_drifted']} of {run['n_columns']} columns drifted"
        + ("" if run["drift_share"] is None else f" ({run['drift_share']:.0%})")
        + f". Full Evidently report: {_report_link(day, reports_dir, '../')}</p>"
        + (f"<table>{head}{rows}</table>" if columns else '<p class="empty">No columns.</p>')
    )
    return drift_summary_name(day), frame(
        f"Drift report {day}", body, root="../", generated_at=generated_at
    )


def _report_link(day: str, reports_dir: Path, root: str) -> str:
    name = drift_report_name(day)
    if not (reports_dir / name).is_file():
        return "(file missing)"
    return link(root + name, f"Evidently report {day}")


def _period(run: dict[str, Any]) -> str:
    return f"{when(run['reference_start'])} .. {when(run['reference_end'])}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
