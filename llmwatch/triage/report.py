"""The triage report: built from the warehouse, rendered as text, JSON and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from llmwatch.files import write_public_text
from llmwatch.triage.metrics import SLO_TAIL_METRICS, TAIL_METRICS, MetricSpec, spec_for
from llmwatch.triage.samples import affected_responses
from llmwatch.triage.scope import BASELINE, Breakdown, breakdowns
from llmwatch.triage.timeline import Event, timeline
from llmwatch.warehouse.models import Alert

TRIAGE_DIR = "triage"
DEFAULT_LIMIT = 20
# How far before the alert window the timeline looks for changes, and how far after.
LOOK_BEFORE = timedelta(hours=24)
LOOK_AFTER = timedelta(hours=6)
# Alerts without a window (canary, golden, ingest) are scoped on the hour before them.
NO_WINDOW = timedelta(hours=1)


class TriageError(LookupError):
    """No such alert (the message says which id)."""


@dataclass
class TriageReport:
    alert: dict[str, Any]
    metric: MetricSpec
    window_start: datetime
    window_end: datetime
    samples: list[dict[str, Any]]
    breakdowns: list[Breakdown]
    events: list[Event]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def alert_id(self) -> int:
        return int(self.alert["id"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "metric": {"name": self.metric.name, "label": self.metric.label},
            "window": {
                "start": self.window_start.isoformat(),
                "end": self.window_end.isoformat(),
                "baseline_start": (self.window_start - BASELINE).isoformat(),
            },
            "samples": self.samples,
            "breakdowns": [b.to_dict() for b in self.breakdowns],
            "timeline": [e.to_dict() for e in self.events],
            "generated_at": self.generated_at.isoformat(),
        }


def build_report(engine: Engine, alert_id: int, *, limit: int = DEFAULT_LIMIT) -> TriageReport:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with engine.connect() as conn:
        alert = _alert(conn, alert_id)
        start, end = _window(alert)
        spec = spec_for(alert["metric"], alert["kind"])
        tail = None
        if alert["metric"] in TAIL_METRICS and alert["threshold"] is not None:
            tail = (TAIL_METRICS[alert["metric"]], float(alert["threshold"]))
        # An SLO burn alert's threshold is a burn rate; its SLO's own is in the details.
        slo_threshold = (alert["details"] or {}).get("threshold_ms")
        if alert["metric"] in SLO_TAIL_METRICS and slo_threshold is not None:
            tail = (SLO_TAIL_METRICS[alert["metric"]], float(slo_threshold))
        samples = affected_responses(
            conn,
            spec,
            start,
            end,
            feature_id=alert["feature_id"],
            model_id=alert["model_id"],
            limit=limit,
        )
        slices = breakdowns(conn, spec, start, end, tail=tail)
        events = timeline(
            conn,
            start - LOOK_BEFORE,
            end + LOOK_AFTER,
            alert_id=alert_id,
            feature_id=alert["feature_id"],
            model_id=alert["model_id"],
        )
    return TriageReport(list_alert(alert), spec, start, end, samples, slices, events)


def _alert(conn: Any, alert_id: int) -> dict[str, Any]:
    row = conn.execute(select(Alert).where(Alert.id == alert_id)).mappings().first()
    if row is None:
        raise TriageError(f"no alert with id {alert_id}")
    return dict(row)


def list_alert(row: dict[str, Any]) -> dict[str, Any]:
    """The alert as ``llmwatch alerts --json`` shows it (SPEC 3.5)."""
    out = {k: v for k, v in row.items() if k != "series_key"}
    for name in ("created_at", "window_start", "window_end"):
        if out.get(name) is not None:
            out[name] = out[name].isoformat()
    return out


def _window(alert: dict[str, Any]) -> tuple[datetime, datetime]:
    if alert["window_start"] is not None:
        end = alert["window_end"] or alert["window_start"] + NO_WINDOW
        return alert["window_start"], end
    return alert["created_at"] - NO_WINDOW, alert["created_at"]


# --- rendering ------------------------------------------------------------------------


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def render_text(report: TriageReport) -> str:
    a = report.alert
    scope = "/".join(p for p in (a["feature_id"], a["model_id"]) if p) or "all traffic"
    lines = [
        f"Alert #{a['id']} {a['kind']} ({a['severity']}) on {scope}",
        f"  {a['message']}",
        f"  window {report.window_start.isoformat()} .. {report.window_end.isoformat()}, "
        f"metric {a['metric'] or '-'} = {_num(a['value'])} (threshold {_num(a['threshold'])})",
        "",
        f"SCOPE: {report.metric.label}, alert window vs the week before",
    ]
    for b in report.breakdowns:
        lines.append(f"  by {b.dimension}: moved most -> {b.moved or '(none)'}")
        for s in b.slices[:8]:
            tail = ""
            if s.tail_current is not None or s.tail_baseline is not None:
                tail = f"  beyond threshold {_pct(s.tail_current)} (was {_pct(s.tail_baseline)})"
            lines.append(
                f"    {s.value!s:<28} {_num(s.current):>10} (was {_num(s.baseline):>10})"
                f"  n={s.n_current}/{s.n_baseline}{tail}"
            )
    lines += ["", f"TIMELINE ({len(report.events)} events; * = same feature or model)"]
    for e in report.events:
        mark = "*" if e.related else " "
        lines.append(f"  {mark} {e.at.isoformat()}  {e.kind:<22} {e.summary}")
    lines += ["", f"SAMPLE ({len(report.samples)} affected responses, worst first)"]
    for r in report.samples:
        judged = ""
        if r.get("judge_score") is not None:
            judged = f" judged {r['judge_score']:.2f}"
        lines.append(
            f"  {r['request_id']} {r['ts']} {r['feature_id']}/{r['model_id']} "
            f"latency {_num(r['latency_ms'])} ms{judged}"
            + (f" error: {r['error']}" if r.get("error") else "")
        )
        if r.get("judge_reasons"):
            lines.append(f"      judge: {r['judge_reasons']}")
        if r.get("input"):
            lines.append(f"      input:  {_one_line(r['input'])}")
        if r.get("output"):
            lines.append(f"      output: {_one_line(r['output'])}")
    return "\n".join(lines)


def _one_line(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} .related{background:#fff4e0} .moved{font-weight:bold;color:#b00020}
pre{white-space:pre-wrap;margin:0;max-width:40rem}
"""


def render_html(report: TriageReport) -> str:
    a = report.alert
    e = escape
    parts = [
        f"<h1>Triage of alert #{e(str(a['id']))}: {e(a['kind'])}</h1>",
        f"<p>{e(a['message'])}</p>",
        f"<p>Scope {e(str(a['feature_id'] or 'all'))} / {e(str(a['model_id'] or 'all'))}, "
        f"window {e(report.window_start.isoformat())} .. {e(report.window_end.isoformat())}</p>",
        f"<h2>Scope: {e(report.metric.label)}, alert window vs the week before</h2>",
    ]
    for b in report.breakdowns:
        parts.append(f"<h3>by {e(b.dimension)}</h3><table><tr><th>slice</th><th>now</th>"
                     "<th>week before</th><th>n now</th><th>n before</th>"
                     "<th>beyond threshold now / before</th></tr>")  # fmt: skip
        for s in b.slices:
            cls = ' class="moved"' if b.moved is not None and s.value == b.moved else ""
            parts.append(
                f"<tr{cls}><td>{e(str(s.value))}</td><td>{e(_num(s.current))}</td>"
                f"<td>{e(_num(s.baseline))}</td><td>{s.n_current}</td><td>{s.n_baseline}</td>"
                f"<td>{e(_pct(s.tail_current))} / {e(_pct(s.tail_baseline))}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Timeline</h2><table><tr><th>time</th><th>kind</th><th>what</th></tr>")
    for ev in report.events:
        cls = ' class="related"' if ev.related else ""
        parts.append(
            f"<tr{cls}><td>{e(ev.at.isoformat())}</td><td>{e(ev.kind)}</td>"
            f"<td>{e(ev.summary)}</td></tr>"
        )
    parts.append("</table><h2>Affected responses</h2><table><tr><th>request</th><th>slice</th>"
                 "<th>latency ms</th><th>judge</th><th>input</th><th>output</th></tr>")  # fmt: skip
    for r in report.samples:
        judge = ""
        if r.get("judge_score") is not None:
            judge = f"{r['judge_score']:.2f}: {r.get('judge_reasons') or ''}"
        parts.append(
            f"<tr><td>{e(r['request_id'])}<br>{e(r['ts'])}</td>"
            f"<td>{e(r['feature_id'])}<br>{e(r['model_id'])}</td>"
            f"<td>{e(_num(r['latency_ms']))}</td><td>{e(judge)}</td>"
            f"<td><pre>{e(r.get('input') or '')}</pre></td>"
            f"<td><pre>{e(r.get('output') or r.get('error') or '')}</pre></td></tr>"
        )
    parts.append("</table>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>llmwatch triage #{e(str(a['id']))}</title><style>{_CSS}</style></head><body>"
        '<p><a href="../index.html">reports</a></p>' + "".join(parts) + "</body></html>"
    )


def triage_page_name(alert_id: int) -> str:
    return f"{TRIAGE_DIR}/{int(alert_id)}.html"


def write_html(report: TriageReport, reports_dir: Path) -> Path:
    target = reports_dir / triage_page_name(report.alert_id)
    return write_public_text(target, render_html(report))
