"""Deterministic synthetic traffic for the aggregation tests, with injected incidents.

The provider simulator's traffic generator is the eventual source of test traffic; these
records follow SPEC 3.1/3.2 field for field, so tests do not depend on its progress.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert

from llmwatch.warehouse.models import Request, UserSignal

BASE_TIME = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
GROUPS = (
    ("chat", "gpt-4o-mini-2024-07-18"),
    ("chat", "claude-3-5-haiku-20241022"),
    ("rag", "gpt-4o-2024-08-06"),
)


def request(
    request_id: str,
    ts: datetime,
    feature_id: str = "chat",
    model_id: str = "m1",
    latency_ms: float = 100.0,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "request_id": request_id,
        "ts": ts,
        "feature_id": feature_id,
        "model_id": model_id,
        "provider": None,
        "latency_ms": latency_ms,
        "ttft_ms": None,
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.001,
        "cost_source": "record",
        "finish_reason": "stop",
        "error": None,
        "session_id": None,
        "user_segment": None,
        "prompt_template_id": None,
        "input": None,
        "output": None,
        "context": None,
        "metadata_json": None,
        "ingested_at": ts,
    }
    unknown = set(extra) - set(row)
    if unknown:
        raise KeyError(f"unknown request fields {unknown}")
    row.update(extra)
    if row["cost_usd"] is None:
        row["cost_source"] = None
    return row


def signal(request_id: str, signal_type: str, ts: datetime, n: int = 0) -> dict[str, Any]:
    return {
        "signal_id": f"{request_id}:{signal_type}:{n}",
        "request_id": request_id,
        "session_id": None,
        "signal_type": signal_type,
        "ts": ts,
        "metadata_json": None,
        "ingested_at": ts,
    }


def insert_rows(
    engine: Engine | Connection,
    requests: Iterable[dict[str, Any]] = (),
    signals: Iterable[dict[str, Any]] = (),
) -> None:
    requests, signals = list(requests), list(signals)

    def write(conn: Connection) -> None:
        if requests:
            conn.execute(insert(Request.__table__), requests)
        if signals:
            conn.execute(insert(UserSignal.__table__), signals)

    if isinstance(engine, Connection):
        write(engine)
    else:
        with engine.begin() as conn:
            write(conn)


@dataclass
class Incidents:
    """Hours (window starts) in which the traffic of one feature/model misbehaves."""

    cost_spike: tuple[str, str, list[datetime]] | None = None
    latency_breach: tuple[str, str, list[datetime]] | None = None
    survivorship: tuple[str, str, list[datetime]] | None = None
    expected: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)


def hours(first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(hours=i) for i in range(count)]


def generate_traffic(
    days: int, incidents: Incidents | None = None, per_hour: int = 30, seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``days`` of hourly traffic for ``GROUPS`` from ``BASE_TIME``: a mild daily cycle,
    noisy tokens and latencies, sparse mostly-positive feedback, rare errors."""
    incidents = incidents or Incidents()
    rng = random.Random(seed)
    requests: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    for hour in hours(BASE_TIME, days * 24):
        for feature, model in GROUPS:
            in_spike = _hit(incidents.cost_spike, feature, model, hour)
            in_breach = _hit(incidents.latency_breach, feature, model, hour)
            in_survivorship = _hit(incidents.survivorship, feature, model, hour)
            count = per_hour + (10 if 9 <= hour.hour < 18 else 0) + rng.randint(-3, 3)
            for i in range(count):
                rid = f"{feature}-{model[:6]}-{hour:%Y%m%d%H}-{i}"
                ts = hour + timedelta(seconds=rng.uniform(0, 3599.999))
                latency = rng.lognormvariate(6.7, 0.35)  # ~800 ms
                if in_breach:
                    latency *= 15
                ttft = rng.lognormvariate(5.7, 0.3)  # ~300 ms
                input_tokens = max(1, int(rng.gauss(500, 100)))
                output_tokens = max(1, int(rng.gauss(200, 50)))
                if in_spike:
                    output_tokens *= 4  # runaway generations
                cost = input_tokens * 0.15e-6 + output_tokens * 0.6e-6
                failed = rng.random() < 0.003
                requests.append(
                    request(
                        rid,
                        ts,
                        feature,
                        model,
                        latency,
                        ttft_ms=ttft,
                        input_tokens=input_tokens,
                        output_tokens=output_tokens,
                        cost_usd=None if rng.random() < 0.02 else cost,
                        error="upstream 503" if failed else None,
                        finish_reason="error" if failed else "stop",
                    )
                )
                signals += _signals(rng, rid, ts, in_survivorship)
    return requests, signals


def _signals(
    rng: random.Random, rid: str, ts: datetime, survivorship: bool
) -> list[dict[str, Any]]:
    later = ts + timedelta(seconds=30)
    out = []
    rate_p, positive_p, abandon_p = (0.5, 0.92, 0.5) if survivorship else (0.1, 0.7, 0.08)
    if rng.random() < rate_p:
        kind = "thumbs_up" if rng.random() < positive_p else "thumbs_down"
        out.append(signal(rid, kind, later))
    if rng.random() < abandon_p:
        out.append(signal(rid, "abandoned", later))
    if rng.random() < 0.05:
        out.append(signal(rid, "follow_up", later))
    if rng.random() < 0.02:
        out.append(signal(rid, "correction", later))
    if rng.random() < 0.02:
        out.append(signal(rid, "retry", later))
    return out


def _hit(
    spec: tuple[str, str, list[datetime]] | None, feature: str, model: str, hour: datetime
) -> bool:
    return spec is not None and spec[0] == feature and spec[1] == model and hour in spec[2]
