"""Line charts as plain inline SVG: no JavaScript, no network, readable from disk.

Each chart has labelled time ticks (UTC), a unit on its value axis, a legend, and
optional shaded bands at the windows that raised an alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape

WIDTH, HEIGHT = 600, 230
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 70, 140, 14, 34
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
    "#bcbd22", "#393b79",
)  # fmt: skip
ALERT_FILL = "#f8d0d0"
# Tick steps tried in order, the first that gives at most MAX_TICKS labels wins.
_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28)
]
MAX_TICKS = 8
# (from, divisor, suffix) for value labels: 25,000 is shown 25k.
_SI = ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))


@dataclass
class Series:
    label: str
    points: list[tuple[datetime, float]]
    color: str = ""
    dashed: bool = False
    # Points drawn as red dots (e.g. EWMA signals).
    marks: list[tuple[datetime, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Band:
    """A time span shaded on the chart (an alerted window)."""

    start: datetime
    end: datetime
    label: str


def line_chart(
    title: str,
    series: list[Series],
    unit: str = "",
    *,
    bands: list[Band] | None = None,
    from_zero: bool = True,
    percent: bool = False,
    x_range: tuple[datetime, datetime] | None = None,
) -> str:
    """One chart with a shared time axis; empty series give a 'no data' panel.

    ``from_zero=False`` fits the value axis to the data (control charts, where the band
    between the limits would otherwise be a sliver). ``percent`` shows fractions as %.
    ``x_range`` fixes the time axis (daily buckets: the whole days, so an alerted hour
    lands inside its day even when there is one day of data).
    """
    drawn = [s for s in series if s.points]
    label = escape(title)
    if not drawn:
        return (
            f'<figure class="chart" data-chart="{label}"><figcaption>{label}</figcaption>'
            '<p class="empty">No data yet.</p></figure>'
        )
    times = [t for s in drawn for t, _ in s.points]
    ys = [v for s in drawn for _, v in s.points]
    first, last = min(times), max(times)
    if x_range is not None:
        first, last = min(first, x_range[0]), max(last, x_range[1])
    x0, x1 = first.timestamp(), last.timestamp()
    if x1 == x0:
        x0, x1 = x0 - 1800, x1 + 1800
    y0, y1 = min(ys), max(ys)
    if from_zero:
        y0 = min(0.0, y0)
    if y1 == y0:
        y0, y1 = (y0 - 1, y1 + 1) if not from_zero else (y0, y0 + 1)
    if not from_zero:  # a margin so points on the limits stay visible
        margin = (y1 - y0) * 0.08
        y0, y1 = y0 - margin, y1 + margin
    y_ticks, decimals = value_ticks(y0, y1, 100.0 if percent else 1.0)
    y0, y1 = y_ticks[0], y_ticks[-1]
    # Large values in thousands or millions, so "1,500,000 tok" fits the left margin.
    biggest = max(abs(y0), abs(y1))
    divisor, suffix = next(((d, p) for at, d, p in _SI if biggest >= at and not percent), (1.0, ""))
    if suffix:
        decimals = label_decimals((y_ticks[1] - y_ticks[0]) / divisor)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def px(t: datetime) -> float:
        return PAD_LEFT + (t.timestamp() - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return PAD_TOP + (1 - (v - y0) / (y1 - y0)) * plot_h

    def fmt(v: float) -> str:
        if v == 0:
            return "0" + (" %" if percent else unit and " " + unit)
        if percent:
            return f"{v * 100:,.{decimals}f} %"
        return f"{v / divisor:,.{decimals}f}{suffix}{unit and ' ' + unit}"

    parts = [
        f'<figure class="chart" data-chart="{label}"><figcaption>{label}</figcaption>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="#fff" stroke="#ccc"/>',
    ]
    shaded = 0
    for band in bands or ():
        if band.end.timestamp() < x0 or band.start.timestamp() > x1:
            continue
        shaded += 1
        left = max(px(band.start), PAD_LEFT)
        right = min(max(px(band.end), left + 3), PAD_LEFT + plot_w)
        parts.append(
            f'<rect class="alert-band" x="{left:.1f}" y="{PAD_TOP}" width="{right - left:.1f}" '
            f'height="{plot_h}" fill="{ALERT_FILL}"><title>{escape(band.label)}</title></rect>'
        )
    for value in y_ticks:
        y = py(value)
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#eee"/><text class="ytick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end" font-size="11">{escape(fmt(value))}</text>'
        )
    for tick in time_ticks(first, last):
        x = px(tick)
        text = tick.strftime("%H:%M") if tick.hour or tick.minute else tick.strftime("%b %d")
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_TOP + plot_h}" y2="{PAD_TOP + plot_h + 4}" '
            f'stroke="#999"/><text class="xtick" x="{x:.1f}" y="{HEIGHT - 18}" '
            f'text-anchor="middle" font-size="11">{escape(text)}</text>'
        )
    parts.append(
        f'<text x="{PAD_LEFT + plot_w}" y="{HEIGHT - 3}" font-size="10" text-anchor="end" '
        f'fill="#666">UTC, {escape(first.strftime("%Y-%m-%d %H:%M"))} to '
        f"{escape(last.strftime('%Y-%m-%d %H:%M'))}</text>"
    )
    for i, s in enumerate(drawn):
        color = s.color or PALETTE[i % len(PALETTE)]
        ordered = sorted(s.points)
        dash = ' stroke-dasharray="5,4"' if s.dashed else ""
        if len(ordered) == 1:
            t, v = ordered[0]
            parts.append(
                f'<circle class="series" data-series="{escape(s.label)}" cx="{px(t):.1f}" '
                f'cy="{py(v):.1f}" r="3" fill="{color}"/>'
            )
        else:
            path = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in ordered)
            parts.append(
                f'<polyline class="series" data-series="{escape(s.label)}" fill="none" '
                f'stroke="{color}" stroke-width="1.5"{dash} points="{path}"/>'
            )
        for t, v in s.marks:
            parts.append(
                f'<circle class="signal" cx="{px(t):.1f}" cy="{py(v):.1f}" r="3.5" fill="#d62728"/>'
            )
        ly = PAD_TOP + 12 + i * 16
        parts.append(
            f'<line x1="{WIDTH - PAD_RIGHT + 8}" y1="{ly - 4}" x2="{WIDTH - PAD_RIGHT + 24}" '
            f'y2="{ly - 4}" stroke="{color}" stroke-width="2"{dash}/>'
            f'<text class="legend" x="{WIDTH - PAD_RIGHT + 28}" y="{ly}" font-size="11">'
            f"{escape(_short(s.label))}</text>"
        )
    if shaded:  # the legend names only what the chart shows
        ly = PAD_TOP + 12 + len(drawn) * 16
        parts.append(
            f'<rect x="{WIDTH - PAD_RIGHT + 8}" y="{ly - 9}" width="16" height="9" '
            f'fill="{ALERT_FILL}"/><text class="legend" x="{WIDTH - PAD_RIGHT + 28}" '
            f'y="{ly}" font-size="11">alerted window</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def value_ticks(low: float, high: float, scale: float = 1.0) -> tuple[list[float], int]:
    """Round values covering ``low .. high`` (steps of 1, 2, 2.5 or 5 times a power of
    ten, at most 7 ticks) and the decimals their labels need once multiplied by
    ``scale`` (100 for percentages)."""
    span = (high - low) * scale
    raw = span / 5 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)
    first = math.floor(low * scale / step + 1e-9) * step
    last = math.ceil(high * scale / step - 1e-9) * step
    count = round((last - first) / step)
    ticks = [(first + i * step) / scale for i in range(count + 1)]
    return ticks, label_decimals(step)


def label_decimals(step: float) -> int:
    """Digits after the point that tell ticks ``step`` apart (2.5 x 10^k needs one more)."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / 10**-decimals, 6) % 1:
        decimals += 1
    return decimals


def time_ticks(first: datetime, last: datetime) -> list[datetime]:
    """Round UTC times between ``first`` and ``last``: at most MAX_TICKS, at least the ends."""
    span = last - first
    if span <= timedelta(0):
        return [first]
    step = next((s for s in _STEPS if span / s <= MAX_TICKS), _STEPS[-1])
    start = first.astimezone(UTC) if first.tzinfo else first.replace(tzinfo=UTC)
    seconds = step.total_seconds()
    epoch = math.ceil(start.timestamp() / seconds) * seconds
    tick = datetime.fromtimestamp(epoch, UTC)
    if first.tzinfo is None:
        tick = tick.replace(tzinfo=None)
    ticks = []
    while tick <= last:
        ticks.append(tick)
        tick += step
    return ticks or [first, last]


def _short(text: str, width: int = 19) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
