"""Cost on the site: per day by feature and by model, the top spenders by feature x model
x prompt template, and the unpriced share beside every sum.

A request without a price adds nothing to a sum, so a cheap-looking row may only be
unpriced: every cost here says how many of its requests had no price.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from typing import Any

from llmwatch.site.layout import Range, feature_name, model_name, pct, usd
from llmwatch.site.rollup import (
    DAY,
    HOUR,
    Bucket,
    day_axis,
    floor,
    rollup,
    series,
    series_key,
    total,
)
from llmwatch.site.svg import Band, Series, line_chart

TOP = 10
# The 24 h page has one or two days of its own: its daily view looks back this far.
SHORTEST_DAILY = 7 * DAY


def cost_section(
    windows: list[dict[str, Any]], newest: datetime | None, r: Range,
    spend: list[dict[str, Any]], root: str = "", bands: list[Band] | None = None,
) -> str:  # fmt: skip
    """``windows``: the hourly rows of the last 30 days; ``spend``: the range's rows of
    spend by template (``SiteData.template_spend``)."""
    if newest is None:
        return line_chart(f"Cost per {r.step_name} by model (USD)", [], unit="USD")
    start = r.start(newest)
    rows = [w for w in windows if w["window_start"] >= start]
    parts = [_unpriced_summary(total(rows), "in this range")]
    if r.step != DAY:
        parts.append(_by(rows, HOUR, "model_id", "model", bands=bands))
    first_day = _daily_start(newest, r)
    days = [w for w in windows if w["window_start"] >= first_day]
    span = _span(newest, r)
    parts += [
        daily_cost_chart(windows, newest, r, "feature_id", "feature", bands),
        daily_cost_chart(windows, newest, r, "model_id", "model", bands),
        f"<h3>Cost per day{escape(span)}</h3>",
        _daily_table(days),
        f"<h3>Top {TOP} spenders (feature x model x prompt template, {escape(r.title)})</h3>",
        spenders_table(spend, rows, r, root),
    ]
    return "".join(parts)


def daily_cost_chart(
    windows: list[dict[str, Any]], newest: datetime, r: Range, column: str, name: str,
    bands: list[Band] | None = None,
) -> str:  # fmt: skip
    """Cost per day by ``column`` over the range, or the last week for the 24 h range;
    the axis spans whole days."""
    first = _daily_start(newest, r)
    rows = [w for w in windows if w["window_start"] >= first]
    return _by(rows, DAY, column, name, _span(newest, r), bands, day_axis(rows, DAY))


def _daily_start(newest: datetime, r: Range) -> datetime:
    return min(r.start(newest), floor(newest, DAY) - (SHORTEST_DAILY - DAY))


def _span(newest: datetime, r: Range) -> str:
    if _daily_start(newest, r) == r.start(newest):
        return ""
    return f", last {SHORTEST_DAILY.days} days"


def _by(
    rows: list[dict[str, Any]], step: timedelta, column: str, name: str, span: str = "",
    bands: list[Band] | None = None, x_range: tuple[datetime, datetime] | None = None,
) -> str:  # fmt: skip
    buckets = rollup(rows, step, series_key(rows, column), percentiles=False)
    lines = [Series(k, series(b, lambda x: x.cost)) for k, b in sorted(buckets.items())]
    unit = "day" if step == DAY else "hour"
    return line_chart(
        f"Cost per {unit} by {name} (USD{span})", lines, unit="USD", bands=bands, x_range=x_range
    )


def _daily_table(rows: list[dict[str, Any]]) -> str:
    by_day = rollup(rows, DAY, lambda w: "all", percentiles=False).get("all", {})
    if not by_day:
        return '<p class="empty">No windows in this range.</p>'
    head = (
        "<tr><th>day (UTC)</th><th>cost</th><th>requests</th><th>cost per 1k requests</th>"
        "<th>unpriced requests</th></tr>"
    )
    body = "".join(
        f'<tr class="cost-day"><td>{day:%Y-%m-%d}</td>'
        + _td(usd(b.cost))
        + _td(f"{b.requests:,}")
        + _td(usd(b.cost / b.requests * 1000 if b.requests else None))
        + _unpriced_cell(b.unpriced, b.requests)
        + "</tr>"
        for day, b in sorted(by_day.items(), reverse=True)
    )
    return f'<table id="cost-per-day">{head}{body}</table>'


def spenders_table(
    spend: list[dict[str, Any]], windows: list[dict[str, Any]], r: Range, root: str,
    keep: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> str:  # fmt: skip
    """The ``TOP`` most expensive feature x model x template rows kept by ``keep``, with
    their share of the range's spend; says how much of the range the template breakdown
    covers (windows aggregated before it existed have none)."""
    mine = [s for s in spend if keep(s)]
    in_windows = sum(int(w["request_count"]) for w in windows if keep(w))
    if not mine:
        if in_windows:
            return (
                '<p class="empty">No spend by prompt template recorded for this range '
                "(its windows were aggregated before it was; re-run the cost job over "
                "them with --start/--end).</p>"
            )
        return '<p class="empty">No spend in this range.</p>'
    spent = sum(s["cost"] for s in mine)
    covered = sum(s["requests"] for s in mine)
    head = (
        "<tr><th>#</th><th>feature</th><th>model</th><th>prompt template</th><th>cost</th>"
        "<th>share</th><th>requests</th><th>cost per 1k requests</th>"
        "<th>unpriced requests</th></tr>"
    )
    body = []
    for rank, s in enumerate(mine[:TOP], 1):
        template = s["prompt_template_id"]
        body.append(
            f'<tr class="spender"><td class="num">{rank}</td>'
            f'<td><a href="{escape(root + feature_name(s["feature_id"], r))}">'
            f"{escape(s['feature_id'])}</a></td>"
            f'<td><a href="{escape(root + model_name(s["model_id"], r))}">'
            f"{escape(s['model_id'])}</a></td>"
            + (f"<td>{escape(template)}</td>" if template else '<td class="none">(none)</td>')
            + _td(usd(s["cost"]))
            + _td(pct(s["cost"] / spent if spent else None))
            + _td(f"{s['requests']:,}")
            + _td(usd(s["cost"] / s["requests"] * 1000 if s["requests"] else None))
            + _unpriced_cell(s["unpriced"], s["requests"])
            + "</tr>"
        )
    note = ""
    if covered < in_windows:
        note = (
            f'<p class="state-warn">The template breakdown covers {covered:,} of the '
            f"{in_windows:,} requests of this range (windows aggregated before it "
            "was recorded have none).</p>"
        )
    more = f"<p>{len(mine) - TOP} more rows below these.</p>" if len(mine) > TOP else ""
    return f'{note}<table class="top-spenders">{head}{"".join(body)}</table>{more}'


def _unpriced_summary(b: Bucket, where: str) -> str:
    if not b.requests:
        return ""
    if not b.unpriced:
        return (
            f'<p class="summary">Every one of the {b.requests:,} requests {where} had a price.</p>'
        )
    return (
        f'<p class="summary state-warn">{b.unpriced:,} of the {b.requests:,} requests {where} '
        f"({b.unpriced_share:.1%}) had no price: they are not in these sums, so the costs "
        "shown are lower bounds.</p>"
    )


def _unpriced_cell(unpriced: int, requests: int) -> str:
    share = unpriced / requests if requests else None
    text = f"{unpriced:,} ({pct(share)})" if unpriced else "0"
    return _td(text, "warn" if unpriced else "")


def _td(text: str, state: str = "") -> str:
    cls = "num" + (f" state-{state}" if state else "")
    return f'<td class="{cls}">{text}</td>'
