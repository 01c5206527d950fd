"""Alerts on the site: grouped by series, each linked to a triage page that exists,
coloured states for the table cells, and shaded bands on the charts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from llmwatch.site.layout import RANGES, age, feature_name, link, model_name, when
from llmwatch.site.svg import Band
from llmwatch.triage import build_report, triage_page_name, write_html

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
QUALITY_KINDS = {
    "quality_regression",
    "judge_failure",
    "judge_drift",
    "golden_regression",
    "canary_regression",
}
NO_WINDOW = timedelta(hours=1)


def write_triage_pages(engine: Engine, reports_dir: Path, alerts: list[dict[str, Any]]) -> None:
    """A triage page for every alert shown that has none on disk yet, so no link is dead."""
    for alert in alerts:
        if not (reports_dir / triage_page_name(alert["id"])).is_file():
            write_html(build_report(engine, int(alert["id"])), reports_dir)


def _series(alert: dict[str, Any]) -> tuple[str, str, str]:
    return (alert["kind"], alert["feature_id"] or "", alert["model_id"] or "")


def alerts_by_series(alerts: list[dict[str, Any]], now: datetime, root: str) -> str:
    """One row per series (kind x feature x model): worst severity first, then newest."""
    if not alerts:
        return '<p class="empty">No alerts.</p>'
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for a in alerts:  # newest first
        groups.setdefault(_series(a), []).append(a)
    ordered = sorted(
        groups.values(),
        key=lambda g: (
            min(SEVERITY_ORDER.get(a["severity"], 3) for a in g),
            -g[0]["created_at"].timestamp(),
        ),
    )
    head = (
        "<tr><th>severity</th><th>kind</th><th>scope</th><th>latest alert</th><th>age</th>"
        "<th>window</th><th>message</th><th>earlier in series</th></tr>"
    )
    rows = []
    for group in ordered:
        latest = group[0]
        severity = min((a["severity"] for a in group), key=lambda s: SEVERITY_ORDER.get(s, 3))
        earlier = " ".join(_triage_link(a, root) for a in group[1:8])
        if len(group) > 8:
            earlier += f" and {len(group) - 8} more"
        rows.append(
            f'<tr class="alert-series"><td class="sev-{escape(severity)}">{escape(severity)}</td>'
            f"<td>{escape(latest['kind'])}</td><td>{scope(latest, root)}</td>"
            f"<td>{_triage_link(latest, root)}</td>"
            f"<td>{escape(age(latest['created_at'], now))}</td>"
            f"<td>{escape(_window(latest))}</td>"
            f'<td class="msg">{escape(_short(latest["message"]))}</td><td>{earlier}</td></tr>'
        )
    return f'<table id="alerts">{head}{"".join(rows)}</table>'


def incidents_table(incidents: list[dict[str, Any]], now: datetime, root: str) -> str:
    """Open and acknowledged incidents, worst severity first, then newest; each links to
    the triage page of its worst alert."""
    if not incidents:
        return '<p class="empty">No open incidents.</p>'
    ordered = sorted(
        incidents,
        key=lambda i: (SEVERITY_ORDER.get(i["severity"], 3), -i["opened_at"].timestamp()),
    )
    head = (
        "<tr><th>incident</th><th>state</th><th>severity</th><th>kind</th><th>scope</th>"
        "<th>open for</th><th>last seen</th><th>alerts</th><th>worst alert</th></tr>"
    )
    rows = [
        f'<tr class="incident"><td>#{int(i["id"])}</td><td>{escape(i["state"])}</td>'
        f'<td class="sev-{escape(i["severity"])}">{escape(i["severity"])}</td>'
        f"<td>{escape(i['kind'])}</td><td>{scope(i, root)}</td>"
        f"<td>{escape(age(i['opened_at'], now))}</td>"
        f"<td>{escape(age(i['last_seen_at'], now))} ago</td><td>{int(i['alert_count'])}</td>"
        f"<td>{_triage_link({'id': i['worst_alert_id']}, root)}</td></tr>"
        for i in ordered
    ]
    return f'<table id="incidents">{head}{"".join(rows)}</table>'


def alerts_table(alerts: list[dict[str, Any]], now: datetime, root: str) -> str:
    """Every alert, newest first (on feature and model pages)."""
    if not alerts:
        return '<p class="empty">No alerts.</p>'
    head = (
        "<tr><th>alert</th><th>severity</th><th>kind</th><th>scope</th><th>created</th>"
        "<th>age</th><th>window</th><th>message</th></tr>"
    )
    rows = [
        f'<tr class="alert"><td>{_triage_link(a, root)}</td>'
        f'<td class="sev-{escape(a["severity"])}">{escape(a["severity"])}</td>'
        f"<td>{escape(a['kind'])}</td><td>{scope(a, root)}</td>"
        f"<td>{escape(when(a['created_at']))}</td><td>{escape(age(a['created_at'], now))}</td>"
        f'<td>{escape(_window(a))}</td><td class="msg">{escape(_short(a["message"]))}</td></tr>'
        for a in alerts
    ]
    return f'<table class="alerts">{head}{"".join(rows)}</table>'


def scope(alert: dict[str, Any], root: str) -> str:
    parts = []
    if alert["feature_id"]:
        parts.append(link(root + feature_name(alert["feature_id"], RANGES[0]), alert["feature_id"]))
    if alert["model_id"]:
        parts.append(link(root + model_name(alert["model_id"], RANGES[0]), alert["model_id"]))
    return " / ".join(parts) or "all traffic"


def _triage_link(alert: dict[str, Any], root: str) -> str:
    return link(root + triage_page_name(alert["id"]), f"#{alert['id']}", "triage")


def _window(alert: dict[str, Any]) -> str:
    if alert["window_start"] is None:
        return "-"
    return f"{when(alert['window_start'])} .. {when(alert['window_end'])}"


def _short(text: str, width: int = 240) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def alert_bands(alerts: Iterable[dict[str, Any]]) -> list[Band]:
    """Shaded windows of the alerts scoped to a feature or model. An all-traffic alert
    (a day of input drift) would shade whole charts and hide the others."""
    bands = []
    for a in alerts:
        if a["window_start"] is None or not (a["feature_id"] or a["model_id"]):
            continue
        end = a["window_end"] or a["window_start"] + NO_WINDOW
        bands.append(Band(a["window_start"], end, f"alert #{a['id']} {a['kind']}"))
    return bands


def column_states(alerts: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Table column -> 'bad' (a critical alert) or 'warn' (a warning) for the alerts given."""
    states: dict[str, str] = {}
    for a in alerts:
        column = _column(a)
        if column is None or a["severity"] == "info":
            continue
        state = "bad" if a["severity"] == "critical" else "warn"
        if states.get(column) != "bad":
            states[column] = state
    return states


def _column(alert: dict[str, Any]) -> str | None:
    metric = alert["metric"] or ""
    if alert["kind"] in QUALITY_KINDS:
        return "quality"
    if "error" in metric or "refusal" in metric:
        return "errors"
    if metric.startswith(("latency", "ttft")):
        return "latency"
    if alert["kind"] in ("cost_anomaly", "token_spike") or "cost" in metric:
        return "cost"
    return None
