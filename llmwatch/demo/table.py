"""The demo's closing table: injected incidents against the alerts that caught them."""

from __future__ import annotations

from datetime import datetime, timedelta

from llmwatch.demo.match import MatchReport, ObservedAlert


def render_report(report: MatchReport) -> str:
    rows: list[tuple[str, ...]] = [
        ("incident", "feature / model", "started", "caught by", "alert series", "delay")
    ]
    for d in report.detections:
        truth = d.incident
        kinds = sorted({a.kind for a in d.alerts})
        first = d.first
        rows.append(
            (
                truth.kind,
                _series(truth.feature, truth.model),
                _when(truth.start),
                ", ".join(kinds) if kinds else "MISSED",
                _series(first.feature_id, first.model_id) if first else "-",
                _delay(d.delay),
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
    return "\n".join(lines)


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
