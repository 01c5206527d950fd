"""The demo's closing table: injected incidents against the alerts that caught them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from llmwatch.demo.match import MatchReport, ObservedAlert, incident_ids


def render_report(
    report: MatchReport,
    notifications: Mapping[int, list[str]] | None = None,
    gate: tuple[Sequence[Mapping[str, Any]], int] | None = None,
) -> str:
    """The table, one row per injected incident: what caught it, the incident(s) its
    alerts joined and how many notifications those produced (``notifications``: incident
    id -> events), then the side effects, the clean stretches and the manual gate run
    (``gate``: its alerts and the notifications they caused)."""
    notified = notifications or {}
    rows: list[tuple[str, ...]] = [
        ("incident", "feature / model", "started", "caught by", "alert series", "delay",
         "alerts", "llmwatch incident", "notified")
    ]  # fmt: skip
    for d in report.detections:
        truth = d.incident
        kinds = sorted({a.kind for a in d.alerts})
        first = d.first
        ids = d.incident_ids
        rows.append(
            (
                truth.kind,
                _series(truth.feature, truth.model),
                _when(truth.start),
                ", ".join(kinds) if kinds else "MISSED",
                _series(first.feature_id, first.model_id) if first else "-",
                _delay(d.delay),
                str(len(d.alerts)),
                ", ".join(f"#{i}" for i in ids) or "-",
                _notified([e for i in ids for e in notified.get(i, [])]),
            )
        )
    lines = _table(rows)
    caught = sum(d.caught for d in report.detections)
    lines.append("")
    lines.append(f"{caught} of {len(report.detections)} injected incidents caught.")
    if report.related:
        lines.append(
            f"{len(report.related)} alert(s) of another kind during an incident (side effects):"
        )
        lines += [f"  {_alert(a)}  [during {i.kind}]" for a, i in report.related]
    if report.unmatched:
        lines.append(f"{len(report.unmatched)} alert(s) matched no incident (false alarms):")
        lines += [f"  {_alert(a)}" for a in report.unmatched]
    else:
        lines.append("No alert on the clean stretches: no false alarms.")
    clean = [e for i in incident_ids(report.unmatched) for e in notified.get(i, [])]
    # A side effect that joined an incident counted above is not counted twice.
    caught_in = {i for d in report.detections for i in d.incident_ids}
    related = [i for i in incident_ids(a for a, _ in report.related) if i not in caught_in]
    lines.append(
        f"Notifications: {_notified([e for events in notified.values() for e in events])} in "
        f"all; {len(clean)} on the clean stretches; side effects: "
        f"{_notified([e for i in related for e in notified.get(i, [])])}."
    )
    if gate is not None:
        gate_alerts, gate_notified = gate
        gate_ids = sorted({a["incident_id"] for a in gate_alerts if a.get("incident_id")})
        lines.append(
            f"Manual gate run (no --notify): {len(gate_alerts)} alert(s) stored in incident(s) "
            f"{', '.join(f'#{i}' for i in gate_ids) or '-'}, {gate_notified} notification(s)."
        )
    return "\n".join(lines)


def _notified(events: list[str]) -> str:
    if not events:
        return "0"
    counts = Counter(events)
    order = ("opened", "escalated", "repeat", "resolved")
    return f"{len(events)} (" + ", ".join(f"{counts[e]} {e}" for e in order if counts[e]) + ")"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def _series(feature: str | None, model: str | None) -> str:
    return f"{feature or '*'} / {model or '*'}"


def _when(at: datetime) -> str:
    return at.strftime("%a %m-%d %H:%M")


def _delay(delay: timedelta | None) -> str:
    if delay is None:
        return "-"
    hours = delay.total_seconds() / 3600
    return f"{hours:+.0f} h" if abs(hours) >= 1 else f"{delay.total_seconds() / 60:+.0f} min"


def _alert(alert: ObservedAlert) -> str:
    return (
        f"#{alert.id} {alert.kind} {_series(alert.feature_id, alert.model_id)} "
        f"at {_when(alert.start)}: {alert.message[:120]}"
    )
