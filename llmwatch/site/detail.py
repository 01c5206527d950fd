"""A feature page or a model page over one range: every chart shades the windows that
alerted for it; a feature page adds its judged-quality control charts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from llmwatch.site.alerts import alert_bands, alerts_table
from llmwatch.site.cost import daily_cost_chart, spenders_table
from llmwatch.site.data import SiteData
from llmwatch.site.drift_pages import drift_table
from llmwatch.site.layout import RANGES, Range, feature_name, frame, model_name, range_nav
from llmwatch.site.rollup import DAY, Bucket, day_axis, rollup, series, series_key, total
from llmwatch.site.slos import slo_table
from llmwatch.site.svg import Series, line_chart


def entity_page(
    data: SiteData, r: Range, kind: str, entity: str, rows: list[dict[str, Any]],
    reports_dir: Path, generated_at: datetime,
) -> str:  # fmt: skip
    """``kind`` is "feature" or "model"; ``rows`` are the hourly windows of the range."""
    key, other = ("feature_id", "model_id") if kind == "feature" else ("model_id", "feature_id")
    mine = [w for w in rows if w[key] == entity]
    start = r.start(data.newest) if data.newest is not None else None
    alerts = [a for a in data.alerts if a[key] == entity]
    in_range = [
        a for a in alerts if start is None or (a["window_start"] or a["created_at"]) >= start
    ]
    bands = alert_bands(in_range)
    by_other = rollup(mine, r.step, series_key(mine, other), percentiles=False)
    overall = rollup(mine, r.step, lambda w: "all")["all"] if mine else {}
    unit = r.step_name
    split = "model" if kind == "feature" else "feature"

    axis = day_axis(mine, r.step)

    def per_other(title: str, value: Callable[[Bucket], float | None], **kw: Any) -> str:
        lines = [Series(name, series(b, value)) for name, b in sorted(by_other.items())]
        return line_chart(title, lines, bands=bands, x_range=axis, **kw)

    def overall_lines(title: str, named: dict[str, Callable[[Bucket], float | None]],
                      **kw: Any) -> str:  # fmt: skip
        lines = [Series(label, series(overall, fn)) for label, fn in named.items()]
        return line_chart(title, lines, bands=bands, x_range=axis, **kw)

    b = total(mine)
    summary = (
        f'<p class="summary">{b.requests:,} requests; cost ${b.cost:,.2f}'
        + (f", {b.unpriced_share:.1%} of requests unpriced" if b.unpriced_share else "")
        + f"; error rate {_pct(b.error_rate)}; refusal rate {_pct(b.refusal_rate)}.</p>"
    )
    charts = [
        per_other(f"Cost per {unit} by {split} (USD)", lambda x: x.cost, unit="USD"),
        per_other(f"Requests per {unit} by {split}", lambda x: float(x.requests), unit="req"),
        overall_lines(
            f"Latency percentiles (ms, worst {split} and hour in each {unit})",
            {
                "p50": lambda x: x.percentile("latency_p50_ms"),
                "p95": lambda x: x.percentile("latency_p95_ms"),
                "p99": lambda x: x.percentile("latency_p99_ms"),
            },
            unit="ms",
        ),
        overall_lines(
            f"Time to first token (ms, worst {split} and hour in each {unit})",
            {
                "p50": lambda x: x.percentile("ttft_p50_ms"),
                "p95": lambda x: x.percentile("ttft_p95_ms"),
            },
            unit="ms",
        ),
        per_other(f"Error rate per {unit} by {split}", lambda x: x.error_rate, percent=True),
        overall_lines(
            f"Error and refusal rate per {unit}",
            {"errors": lambda x: x.error_rate, "refusals": lambda x: x.refusal_rate},
            percent=True,
        ),
        overall_lines(
            f"Tokens per {unit}",
            {"input": lambda x: float(x.input_tokens), "output": lambda x: float(x.output_tokens)},
            unit="tok",
        ),
    ]
    if r.step != DAY and data.newest is not None:  # the hourly range: days of the week too
        mine_all = [w for w in data.windows if w[key] == entity]
        charts.insert(1, daily_cost_chart(mine_all, data.newest, r, other, split, bands))
    sections = [summary]
    if kind == "feature":
        sections += [
            "<h2>SLOs (error budget)</h2>",
            slo_table(data.slos.get(entity, []), generated_at),
            "<h2>Judged quality (EWMA control chart)</h2>",
            _quality(data, entity, start, bands),
        ]
    sections += [f"<h2>Operations (per {unit})</h2>", "".join(charts)]
    spend = data.template_spend.get(start, []) if start is not None else []
    sections += [
        f"<h2>Top spenders of this {kind} ({split} x prompt template, {escape(r.title)})</h2>",
        spenders_table(spend, mine, r, "../", keep=lambda s: s[key] == entity),
    ]
    sections += [
        f"<h2>Alerts for this {kind}</h2>",
        alerts_table(alerts, generated_at, root="../"),
        "<h2>Drift (computed over all traffic)</h2>",
        drift_table(data.drift_runs[:14], data.drift_columns, reports_dir, root="../"),
    ]
    name_of = feature_name if kind == "feature" else model_name
    nav = range_nav(r, {x.key: name_of(entity, x).split("/", 1)[1] for x in RANGES}, "")
    title = f"{kind.capitalize()} {entity}: {r.title}"
    return frame(title, "".join(sections), root="../", generated_at=generated_at, nav=nav)


def _quality(data: SiteData, feature: str, start: datetime | None, bands: Any) -> str:
    charts = [c for c in data.quality if c.feature_id == feature]
    if not charts:
        return '<p class="empty">No judged windows for this feature yet.</p>'
    out = []
    for full in charts:
        c = full.since(start) if start is not None else full
        baseline = f", baseline mean {c.mu0:.3f}" if c.mu0 is not None else ", baseline phase"
        out.append(
            line_chart(
                f"{c.metric} per judged window{baseline}",
                [
                    Series("window mean", c.mean, color="#bbbbbb"),
                    Series("EWMA", c.ewma, color="#1f77b4", marks=c.signals),
                    Series("UCL", c.ucl, color="#d62728", dashed=True),
                    Series("LCL", c.lcl, color="#d62728", dashed=True),
                ],
                unit="score",
                bands=bands,
                from_zero=False,
            )
        )
    return "".join(out)


def _pct(value: float | None) -> str:
    return "-" if value is None else escape(f"{value:.2%}")
