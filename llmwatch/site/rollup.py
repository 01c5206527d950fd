"""Hourly windows rolled up into the buckets a page shows (hours or days).

Counts, tokens and cost add up. Percentiles do not: a bucket's latency percentile is the
worst one of its hourly windows (labelled so on the charts), never an average that would
hide the slow hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PERCENTILES = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p50_ms", "ttft_p95_ms")


@dataclass
class Bucket:
    requests: int = 0
    errors: int = 0
    refusals: int = 0
    cost: float = 0.0
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    worst: dict[str, float] | None = None

    def add(self, row: dict[str, Any], percentiles: bool = True) -> None:
        self.requests += int(row["request_count"])
        self.errors += int(row["error_count"])
        self.refusals += int(row["refusal_count"])
        self.cost += float(row["cost_total_usd"] or 0.0)
        self.unpriced += int(row["unpriced_count"])
        self.input_tokens += int(row["input_tokens_sum"])
        self.output_tokens += int(row["output_tokens_sum"])
        if not percentiles:
            return
        if self.worst is None:
            self.worst = {}
        for name in PERCENTILES:
            value = row[name]
            if value is not None and value > self.worst.get(name, float("-inf")):
                self.worst[name] = float(value)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def refusal_rate(self) -> float | None:
        return self.refusals / self.requests if self.requests else None

    @property
    def unpriced_share(self) -> float | None:
        return self.unpriced / self.requests if self.requests else None

    def percentile(self, name: str) -> float | None:
        return (self.worst or {}).get(name)


def floor(t: datetime, step: timedelta) -> datetime:
    if step == DAY:
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def rollup(
    rows: Iterable[dict[str, Any]],
    step: timedelta,
    key: Callable[[dict[str, Any]], str],
    percentiles: bool = True,
) -> dict[str, dict[datetime, Bucket]]:
    """``key(row)`` -> bucket start -> Bucket; ``percentiles=False`` skips the worst
    percentiles (charts of counts and cost: the site's hot path)."""
    out: dict[str, dict[datetime, Bucket]] = {}
    starts: dict[datetime, datetime] = {}  # the rows of one window share its bucket
    for row in rows:
        buckets = out.setdefault(key(row), {})
        t = row["window_start"]
        start = starts.get(t)
        if start is None:
            start = starts[t] = floor(t, step)
        bucket = buckets.get(start)
        if bucket is None:
            bucket = buckets[start] = Bucket()
        bucket.add(row, percentiles)
    return out


# Lines per chart: a legend beyond this stops being readable (and an SVG of 200 lines is
# mostly bytes). The busiest values keep their line; the rest share one.
MAX_SERIES = 10


def series_key(
    rows: Iterable[dict[str, Any]], column: str, limit: int = MAX_SERIES
) -> Callable[[dict[str, Any]], str]:
    """``row -> its value of column``, or one shared "other (N)" for all values beyond
    the ``limit - 1`` busiest (by requests) when there are more than ``limit``."""
    requests: dict[str, int] = {}
    for row in rows:
        requests[row[column]] = requests.get(row[column], 0) + int(row["request_count"])
    if len(requests) <= limit:
        return lambda row: str(row[column])
    ranked = sorted(requests, key=lambda v: (-requests[v], v))
    kept = set(ranked[: limit - 1])
    other = f"other ({len(ranked) - len(kept)})"
    return lambda row: str(row[column]) if row[column] in kept else other


def total(rows: Iterable[dict[str, Any]]) -> Bucket:
    bucket = Bucket()
    for row in rows:
        bucket.add(row)
    return bucket


def day_axis(rows: Iterable[dict[str, Any]], step: timedelta) -> tuple[datetime, datetime] | None:
    """The time axis of daily buckets: whole days from the first row's to the end of the
    last row's, so a window that alerted late in the last day is on the chart (a bucket
    is drawn at its start). None for hourly buckets (the axis fits the points)."""
    if step != DAY:
        return None
    starts = [row["window_start"] for row in rows]
    if not starts:
        return None
    return floor(min(starts), DAY), floor(max(starts), DAY) + DAY


def series(
    buckets: dict[datetime, Bucket], value: Callable[[Bucket], float | None]
) -> list[tuple[datetime, float]]:
    out = []
    for t in sorted(buckets):
        v = value(buckets[t])
        if v is not None:
            out.append((t, v))
    return out
