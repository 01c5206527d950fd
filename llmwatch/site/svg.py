"""Line charts as plain inline SVG: no JavaScript, no network, readable from disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 760, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 150, 16, 28
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass
class Series:
    label: str
    points: list[tuple[datetime, float]]
    color: str = ""
    dashed: bool = False
    # Points drawn as red dots (e.g. EWMA signals).
    marks: list[tuple[datetime, float]] = field(default_factory=list)


def line_chart(title: str, series: list[Series], unit: str = "") -> str:
    """One chart with a shared time axis; empty series give a 'no data' panel."""
    drawn = [s for s in series if s.points]
    label = escape(title)
    if not drawn:
        return (
            f'<figure class="chart" data-chart="{label}"><figcaption>{label}</figcaption>'
            '<p class="empty">No data yet.</p></figure>'
        )
    xs = [t.timestamp() for s in drawn for t, _ in s.points]
    ys = [v for s in drawn for _, v in s.points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def px(t: datetime) -> float:
        return PAD_LEFT + (t.timestamp() - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return PAD_TOP + (1 - (v - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<figure class="chart" data-chart="{label}"><figcaption>{label}</figcaption>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="#fff" stroke="#ccc"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        value = y0 + frac * (y1 - y0)
        y = py(value)
        parts.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(_fmt(value))}{escape(unit)}</text>"
        )
    first, last = (
        min(t for s in drawn for t, _ in s.points),
        max(t for s in drawn for t, _ in s.points),
    )
    parts.append(
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" font-size="11">'
        f"{escape(first.strftime('%Y-%m-%d %H:%M'))}</text>"
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{escape(last.strftime('%Y-%m-%d %H:%M'))} UTC</text>"
    )
    for i, s in enumerate(drawn):
        color = s.color or PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in sorted(s.points))
        dash = ' stroke-dasharray="5,4"' if s.dashed else ""
        parts.append(
            f'<polyline class="series" data-series="{escape(s.label)}" fill="none" '
            f'stroke="{color}" stroke-width="1.5"{dash} points="{path}"/>'
        )
        for t, v in s.marks:
            parts.append(f'<circle cx="{px(t):.1f}" cy="{py(v):.1f}" r="3.5" fill="#d62728"/>')
        ly = PAD_TOP + 12 + i * 16
        parts.append(
            f'<line x1="{WIDTH - PAD_RIGHT + 8}" y1="{ly - 4}" x2="{WIDTH - PAD_RIGHT + 24}" '
            f'y2="{ly - 4}" stroke="{color}" stroke-width="2"{dash}/>'
            f'<text x="{WIDTH - PAD_RIGHT + 28}" y="{ly}" font-size="11">'
            f"{escape(s.label[:22])}</text>"
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"
