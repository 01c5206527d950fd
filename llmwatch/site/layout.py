"""What every page of the site shares: the frame (CSP, CSS, navigation), page names and
the formatting of times and values. Every string from the warehouse goes through
``escape`` before it reaches a page."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from llmwatch.site.rollup import DAY, HOUR, floor

DRIFT_DIR = "drift"

CSS = """
body{font-family:system-ui,sans-serif;margin:1.2rem;color:#222;max-width:1260px}
h1{margin:.2rem 0} .meta{color:#666;margin:.2rem 0 1rem} nav{margin-bottom:.4rem}
nav a,nav b{margin-right:.7rem} nav .ranges{float:right}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.88rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev-critical{color:#b00020;font-weight:bold} .sev-warning{color:#a15c00} .sev-info{color:#555}
.state-bad{background:#fbd5d5} .state-warn{background:#fdebc8} .state-ok{background:#e3f3e3}
.state-none{color:#999} .drifted{color:#b00020;font-weight:bold}
figure.chart{display:inline-block;vertical-align:top;margin:0 1rem 1rem 0}
figcaption{font-weight:600;margin-bottom:.25rem}
.empty{color:#888} .msg{max-width:34rem} #triage-reports li{display:inline;margin-right:.6rem}
"""


@dataclass(frozen=True)
class Range:
    key: str  # "24h", "7d", "30d"
    title: str
    span: timedelta
    step: timedelta

    @property
    def suffix(self) -> str:
        return "" if self.key == "24h" else f"@{self.key}"

    @property
    def step_name(self) -> str:
        return "hour" if self.step == HOUR else "day"

    def start(self, newest: datetime) -> datetime:
        """First bucket start: 24 hourly windows, or whole UTC days ending with today's."""
        if self.step == DAY:
            return floor(newest, DAY) - (self.span - DAY)
        return newest - (self.span - HOUR)


RANGES = (
    Range("24h", "last 24 h", timedelta(hours=24), HOUR),
    Range("7d", "last 7 days", timedelta(days=7), DAY),
    Range("30d", "last 30 days", timedelta(days=30), DAY),
)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def slug(identifier: str) -> str:
    """A file name for a feature or model id: the id itself when it is plain, otherwise a
    cleaned prefix plus a hash (so two ids never share a page and no id escapes its folder)."""
    clean = _SAFE.sub("_", identifier)[:60]
    if clean == identifier and not identifier.startswith("."):
        return identifier
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:10]
    return f"{clean.lstrip('.') or 'id'}-{digest}"


def home_name(r: Range) -> str:
    return f"index{r.suffix}.html"


def feature_name(feature: str, r: Range) -> str:
    return f"feature/{slug(feature)}{r.suffix}.html"


def model_name(model: str, r: Range) -> str:
    return f"model/{slug(model)}{r.suffix}.html"


def drift_report_name(report_date: str) -> str:
    return f"{DRIFT_DIR}/{report_date}.html"


def drift_summary_name(report_date: str) -> str:
    # Beside, not inside, drift/: that folder holds Evidently's reports only.
    return f"drift-summary/{slug(report_date)}.html"


def when(t: datetime | None) -> str:
    return "-" if t is None else t.strftime("%Y-%m-%d %H:%M")


def age(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "-"
    minutes = int((now - t).total_seconds() // 60)
    if minutes < 0:
        return "in the future"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // 1440} d {minutes % 1440 // 60} h"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def link(href: str, text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<a href="{escape(href)}"{cls}>{escape(text)}</a>'


def frame(title: str, body: str, *, root: str, generated_at: datetime, nav: str = "") -> str:
    """A whole page. ``root`` is the relative path back to the reports folder ("" or "../")."""
    home = link(f"{root}index.html", "Home")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        # No script may run on these pages, whatever ends up in them.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)} - llmwatch</title><style>{CSS}</style></head><body>"
        f"<nav>{home}{nav}</nav><h1>{escape(title)}</h1>"
        f'<p class="meta">Generated {escape(when(generated_at))} UTC; '
        "times are UTC, to the minute.</p>" + body + "</body></html>"
    )


def range_nav(current: Range, name_of: dict[str, str], root: str) -> str:
    """Links to the same page over each range; the current one in bold."""
    items = []
    for r in RANGES:
        if r.key == current.key:
            items.append(f"<b>{escape(r.title)}</b>")
        else:
            items.append(link(root + name_of[r.key], r.title, "range"))
    return '<span class="ranges">Range: ' + " ".join(items) + "</span>"
