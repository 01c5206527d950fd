"""Generated live traffic with a canary split, ingested, for comparison tests.

support_chat is served by gpt-4o-mini (the baseline) and two canary versions that each
take a slice of the traffic: ``EQUAL`` behaves exactly like the baseline, ``SLOW`` has
twice its time to first token and time per token. Everything else comes from the
simulator's generator and the real ingestion.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert, select

from llmwatch.ingest import ingest_paths
from llmwatch.settings import PriceOverride, Settings
from llmwatch.simulator import Scenario
from llmwatch.simulator.catalogue import DEFAULT_MODELS, GPT_4O_MINI, Catalogue, SimModel
from llmwatch.simulator.features import DEFAULT_FEATURES
from llmwatch.simulator.traffic import generate_traffic
from llmwatch.simulator.writer import write_traffic
from llmwatch.warehouse.models import Judgement, Request

BASELINE = GPT_4O_MINI
EQUAL = "gpt-4o-mini-canary-equal"
SLOW = "gpt-4o-mini-canary-slow"
START = datetime(2025, 6, 2, tzinfo=UTC)
END = START + timedelta(days=1)
# The canaries are priced like the baseline (genai-prices knows gpt-4o-mini).
CANARY_PRICE = PriceOverride(input_mtok=0.15, output_mtok=0.60, cache_read_mtok=0.075)


def _catalogue() -> Catalogue:
    mini = next(m for m in DEFAULT_MODELS if m.name == GPT_4O_MINI)
    v1 = mini.versions[0]
    slow = replace(v1, ttft_ms=v1.ttft_ms * 2, ms_per_token=v1.ms_per_token * 2)
    return Catalogue(
        (
            *DEFAULT_MODELS,
            SimModel(EQUAL, "openai", (v1,), input_price_mtok=0.15, output_price_mtok=0.6),
            SimModel(SLOW, "openai", (slow,), input_price_mtok=0.15, output_price_mtok=0.6),
        )
    )


def settings_with_prices(**kwargs: object) -> Settings:
    return Settings(prices={EQUAL: CANARY_PRICE, SLOW: CANARY_PRICE}, **kwargs)  # type: ignore[arg-type]


def ingest_canary_traffic(
    engine: Engine, out_dir: Path, requests_per_day: int = 5000, seed: int = 7
) -> int:
    """One day of support_chat traffic, 60 % baseline and 20 % for each canary."""
    support = next(f for f in DEFAULT_FEATURES if f.name == "support_chat")
    feature = replace(support, share=1.0, models=((BASELINE, 0.6), (EQUAL, 0.2), (SLOW, 0.2)))
    traffic = generate_traffic(
        Scenario.empty(START, days=1),
        requests_per_day=requests_per_day,
        seed=seed,
        include_text=False,
        features=(feature,),
        catalogue=_catalogue(),
    )
    write_traffic(traffic, out_dir)
    summary = ingest_paths(engine, sorted(out_dir.glob("requests-*.jsonl")), settings_with_prices())
    return summary.total("loaded")


def insert_judgements(engine: Engine, model_means: dict[str, float], seed: int = 3) -> None:
    """Judge scores for every request of the given models (mean per model, sd 0.6)."""
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for model, mean in model_means.items():
            rows = conn.execute(
                select(Request.request_id, Request.feature_id, Request.ts).where(
                    Request.model_id == model
                )
            ).all()
            scores = np.clip(rng.normal(mean, 0.6, len(rows)), 1, 5)
            conn.execute(
                insert(Judgement),
                [
                    {
                        "request_id": rid,
                        "feature_id": feature,
                        "model_id": model,
                        "request_ts": ts,
                        "rubric_version": "v1",
                        "judge_model": "sim-judge",
                        "status": "ok",
                        "score": float(score),
                        "judged_at": now,
                    }
                    for (rid, feature, ts), score in zip(rows, scores, strict=True)
                ],
            )
