"""The simulated product: its features, which models serve them, and their usual load."""

from __future__ import annotations

from dataclasses import dataclass

from llmwatch.simulator.catalogue import CLAUDE_HAIKU, GPT_4O, GPT_4O_MINI


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    # Share of all requests.
    share: float
    models: tuple[tuple[str, float], ...]
    # Log-normal token counts: median and sigma of the underlying normal.
    input_tokens_median: float
    input_tokens_sigma: float
    output_tokens_median: float
    output_tokens_sigma: float
    max_output_tokens: int
    # Mean number of requests per session.
    turns_mean: float
    error_rate: float
    refusal_rate: float


DEFAULT_FEATURES: tuple[FeatureProfile, ...] = (
    FeatureProfile(
        name="support_chat",
        share=0.5,
        models=((GPT_4O_MINI, 0.85), (CLAUDE_HAIKU, 0.15)),
        input_tokens_median=650,
        input_tokens_sigma=0.35,
        output_tokens_median=170,
        output_tokens_sigma=0.45,
        max_output_tokens=1024,
        turns_mean=3.0,
        error_rate=0.004,
        refusal_rate=0.006,
    ),
    FeatureProfile(
        name="rag_qa",
        share=0.3,
        models=((GPT_4O, 1.0),),
        input_tokens_median=1900,
        input_tokens_sigma=0.3,
        output_tokens_median=260,
        output_tokens_sigma=0.4,
        max_output_tokens=1024,
        turns_mean=1.6,
        error_rate=0.004,
        refusal_rate=0.004,
    ),
    FeatureProfile(
        name="extraction",
        share=0.2,
        models=((GPT_4O_MINI, 0.6), (CLAUDE_HAIKU, 0.4)),
        input_tokens_median=900,
        input_tokens_sigma=0.4,
        output_tokens_median=110,
        output_tokens_sigma=0.3,
        max_output_tokens=512,
        turns_mean=1.1,
        error_rate=0.003,
        refusal_rate=0.001,
    ),
)

SEGMENT_MIX = (("consumer", 0.55), ("business", 0.3), ("enterprise", 0.15))
