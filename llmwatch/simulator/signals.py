"""User signals (SPEC 3.2) drawn from how satisfied each user plausibly was.

Satisfaction follows the latent answer quality (the same one the judge recovers), errors
and refusals. Most users give no explicit feedback; the ones who do are mostly happy,
and unhappy users retry, follow up or leave. In a survivorship_bias window the unhappy
majority leaves silently: abandonment is high while the few votes are nearly all up.
"""

from __future__ import annotations

import numpy as np

from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.traffic import ERROR, REFUSAL, Traffic

SIGNAL_TYPES = ("thumbs_up", "thumbs_down", "correction", "follow_up", "retry", "abandoned")
THUMBS_UP, THUMBS_DOWN, CORRECTION, FOLLOW_UP, RETRY, ABANDONED = range(len(SIGNAL_TYPES))
EXPLICIT_COVERAGE = 0.07
BASE_ABANDONMENT = 0.06


def draw_signals(traffic: Traffic, rng: np.random.Generator, scenario: Scenario) -> None:
    c = traffic.columns
    n = len(traffic)
    is_error = c["finish"] == ERROR
    is_refusal = c["finish"] == REFUSAL
    satisfaction = np.clip(c["quality"] + rng.normal(0.0, 0.1, n) - 0.5 * is_refusal, 0.0, 1.0)
    satisfaction[is_error] = 0.0
    unhappy = satisfaction < 0.45

    voted = ~is_error & (rng.random(n) < EXPLICIT_COVERAGE)
    up = rng.random(n) < np.clip(0.05 + 0.8 * satisfaction, 0.0, 1.0)
    retry = rng.random(n) < 0.015 + 0.45 * is_error + 0.08 * unhappy
    follow_up = ~c["last_turn"] & (rng.random(n) < np.clip(0.5 * (1.1 - satisfaction), 0, 1))
    extraction = np.zeros(n, dtype=bool)
    if "extraction" in traffic.feature_names:
        extraction = c["feature"] == traffic.feature_code("extraction")
    correction = rng.random(n) < np.where(extraction, 0.02 + 0.3 * (1 - satisfaction), 0.005)
    abandoned = c["last_turn"] & (
        rng.random(n) < BASE_ABANDONMENT + 0.25 * unhappy + 0.3 * is_error
    )

    for incident in scenario.incidents:
        if incident.kind != "survivorship_bias" or incident.feature not in traffic.feature_names:
            continue
        lo = int(incident.start.timestamp() * 1000)
        hi = int(incident.end.timestamp() * 1000) if incident.end else np.iinfo(np.int64).max
        inside = (c["feature"] == traffic.feature_code(incident.feature)) & (
            (c["timestamp_ms"] >= lo) & (c["timestamp_ms"] < hi)
        )
        # The metric is per request: a share of the window's requests end in abandonment.
        abandoned = np.where(inside, rng.random(n) < incident.params["abandonment"], abandoned)
        up = np.where(inside, rng.random(n) < incident.params["thumbs_up_share"], up)

    latency = np.nan_to_num(c["latency_ms"]).astype(np.int64)
    answered = c["timestamp_ms"] + latency
    kinds = [
        (voted & up, THUMBS_UP, rng.integers(3_000, 120_000, n)),
        (voted & ~up, THUMBS_DOWN, rng.integers(3_000, 120_000, n)),
        (correction, CORRECTION, rng.integers(10_000, 300_000, n)),
        (follow_up, FOLLOW_UP, rng.integers(5_000, 60_000, n)),
        (retry, RETRY, rng.integers(1_000, 20_000, n)),
        (abandoned, ABANDONED, rng.integers(300_000, 900_000, n)),
    ]
    index = np.concatenate([np.flatnonzero(mask) for mask, _, _ in kinds])
    kind = np.concatenate([np.full(int(mask.sum()), code, np.int8) for mask, code, _ in kinds])
    at = np.concatenate([answered[mask] + delay[mask] for mask, _, delay in kinds])
    order = np.argsort(at, kind="stable")
    traffic.signals = {"request": index[order], "type": kind[order], "timestamp_ms": at[order]}
