"""A feature's SLOs on its page: objective, burn rates and the error budget left, as the
last burn-rate evaluation (the slo-burn flow, every minute) stored them."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from llmwatch.site.layout import age

_WHAT = {
    "latency": "requests under {threshold:,.0f} ms",
    "ttft": "first token under {threshold:,.0f} ms",
    "errors": "requests without error",
}


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _length(window: str) -> tuple[float, str]:
    """'5m' -> 300 s: burn-rate windows shortest first (names that are not a duration
    last, by name)."""
    number, unit = window[:-1], window[-1:]
    try:
        return float(number) * _UNITS[unit], window
    except (KeyError, ValueError):
        return float("inf"), window


def slo_table(slos: list[dict[str, Any]], now: datetime) -> str:
    if not slos:
        return '<p class="empty">No SLO evaluated for this feature yet.</p>'
    head = (
        "<tr><th>SLO</th><th>objective</th><th>bad / events</th><th>budget left</th>"
        "<th>burn rate</th><th>alerting</th><th>evaluated</th></tr>"
    )
    rows = []
    for s in slos:
        what = _WHAT.get(s["slo"], s["slo"]).format(threshold=s["threshold_ms"] or 0)
        left = s["remaining_budget"]
        state = "none" if left is None else "bad" if left <= 0 else "warn" if left < 0.25 else "ok"
        # A window with no events yet has no burn rate (None).
        burns = ", ".join(
            f"{w} {'-' if r is None else f'{r:.1f}x'}"
            for w, r in sorted((s["burn_rates"] or {}).items(), key=lambda kv: _length(kv[0]))
        )
        alerting = " ".join(
            name for name, on in (("page", s["paging"]), ("ticket", s["ticketing"])) if on
        )
        rows.append(
            f"<tr><td>{escape(s['slo'])}</td>"
            f"<td>{s['objective']:.2%} {escape(what)} ({s['budget_days']:g} d)</td>"
            f"<td>{s['bad_events']:,} / {s['events']:,}</td>"
            f'<td class="state-{state}">{"-" if left is None else f"{left:.0%}"}</td>'
            f"<td>{escape(burns) or '-'}</td>"
            f'<td class="{"state-bad" if alerting else ""}">{escape(alerting) or "no"}</td>'
            f"<td>{escape(age(s['evaluated_at'], now))}</td></tr>"
        )
    return f'<table class="slos">{head}{"".join(rows)}</table>'
