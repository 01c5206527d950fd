from __future__ import annotations

from datetime import UTC, datetime

import genai_prices
import pytest

from llmwatch.pricing import PriceBook

TS = datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "model", "usage"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", (1000, 400, 0, 200)),
        ("openai", "gpt-4o-2024-08-06", (52_000, 50_000, 0, 3_000)),
        ("anthropic", "claude-3-5-haiku-20241022", (5000, 1000, 2000, 300)),
        (None, "claude-sonnet-4-20250514", (300_000, 0, 0, 100)),
        # Tiered: above 128k input tokens every token costs the higher rate.
        ("google", "gemini-1.5-pro", (300_000, 0, 0, 1000)),
        ("google", "gemini-1.5-pro", (1_000, 0, 0, 1000)),
    ],
)
def test_matches_genai_prices(provider: str | None, model: str, usage: tuple[int, ...]) -> None:
    inp, cached, write, out = usage
    costs, sources = PriceBook().price_batch(
        [provider], [model], [TS], [inp], [cached], [write], [out]
    )
    expected = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=inp, cache_read_tokens=cached, cache_write_tokens=write, output_tokens=out
        ),
        model,
        provider_id=provider,
        genai_request_timestamp=TS,
    ).total_price
    assert costs == [pytest.approx(float(expected), rel=1e-12)]
    assert sources == ["genai-prices"]


def test_unknown_provider_name_does_not_hide_a_known_model() -> None:
    costs, _ = PriceBook().price_batch(
        ["my-gateway"], ["gpt-4o-mini-2024-07-18"], [TS], [1000], [0], [0], [0]
    )
    assert costs == [pytest.approx(0.15 * 1000 / 1e6)]


def test_a_batch_mixes_priced_and_unpriced_rows_in_order() -> None:
    costs, sources = PriceBook().price_batch(
        ["openai", None, "openai"],
        ["gpt-4o-mini-2024-07-18", "no-such-model-xyz", "gpt-4o-mini-2024-07-18"],
        [TS] * 3,
        [1000, 1000, 2000],
        [0] * 3,
        [0] * 3,
        [0] * 3,
    )
    assert costs[1] is None
    assert sources[1] is None
    assert costs[2] == pytest.approx(2 * costs[0])
