"""A plain-Python statement of the window metrics, to hold the SQL against."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from llmwatch.aggregation.queries import REFUSAL_REASONS
from llmwatch.stats.percentiles import percentile


def reference_window(
    requests: list[dict[str, Any]], signals: list[dict[str, Any]], window_start: datetime
) -> dict[tuple[str, str], dict[str, Any]]:
    end = window_start + timedelta(hours=1)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in requests:
        if window_start <= r["ts"] < end:
            groups[(r["feature_id"], r["model_id"])].append(r)
    kinds_by_request: dict[str, set[str]] = defaultdict(set)
    for s in signals:
        kinds_by_request[s["request_id"]].add(s["signal_type"])
    out = {}
    for key, rows in groups.items():
        n = len(rows)
        priced = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
        errors = sum(1 for r in rows if r["error"] is not None or r["finish_reason"] == "error")
        refusals = sum(1 for r in rows if r["finish_reason"] in REFUSAL_REASONS)
        lat = [r["latency_ms"] for r in rows]
        ttft = [r["ttft_ms"] for r in rows]

        def with_signal(kind: str, rows: list[dict[str, Any]] = rows) -> int:
            return sum(1 for r in rows if kind in kinds_by_request[r["request_id"]])

        up, down = with_signal("thumbs_up"), with_signal("thumbs_down")
        explicit = sum(
            1 for r in rows if kinds_by_request[r["request_id"]] & {"thumbs_up", "thumbs_down"}
        )
        out[key] = {
            "request_count": n,
            "error_count": errors,
            "refusal_count": refusals,
            "error_rate": errors / n,
            "refusal_rate": refusals / n,
            "latency_p50_ms": percentile(lat, 0.5),
            "latency_p95_ms": percentile(lat, 0.95),
            "latency_p99_ms": percentile(lat, 0.99),
            "ttft_p50_ms": percentile(ttft, 0.5),
            "ttft_p95_ms": percentile(ttft, 0.95),
            "input_tokens_sum": sum(r["input_tokens"] for r in rows),
            "output_tokens_sum": sum(r["output_tokens"] for r in rows),
            "cached_input_tokens_sum": sum(r["cached_input_tokens"] for r in rows),
            "cache_write_tokens_sum": sum(r["cache_write_tokens"] for r in rows),
            "reasoning_tokens_sum": sum(r["reasoning_tokens"] for r in rows),
            "input_tokens_mean": sum(r["input_tokens"] for r in rows) / n,
            "total_tokens_p50": percentile(
                [r["input_tokens"] + r["output_tokens"] for r in rows], 0.5
            ),
            "cost_p50_usd": percentile(priced, 0.5),
            "output_tokens_mean": sum(r["output_tokens"] for r in rows) / n,
            "cost_total_usd": sum(priced) if priced else None,
            "cost_mean_usd": sum(priced) / len(priced) if priced else None,
            "unpriced_count": n - len(priced),
            "explicit_feedback_count": explicit,
            "explicit_positive_rate": up / (up + down) if up + down else None,
            "explicit_feedback_coverage": explicit / n,
            "correction_rate": with_signal("correction") / n,
            "follow_up_rate": with_signal("follow_up") / n,
            "retry_rate": with_signal("retry") / n,
            "abandonment_rate": with_signal("abandoned") / n,
        }
    return out
