"""Chart axes: round value ticks that cover the data, labelled with the digits they need."""

from __future__ import annotations

import math
import random

import pytest

from llmwatch.site.svg import value_ticks


@pytest.mark.parametrize(
    ("low", "high", "scale", "ticks", "decimals"),
    [
        (0, 0.69, 1, [0, 0.2, 0.4, 0.6, 0.8], 1),
        (0, 214, 1, [0, 50, 100, 150, 200, 250], 0),
        (3.51, 5.06, 1, [3.5, 4.0, 4.5, 5.0, 5.5], 1),
        (0, 0.0625, 100, [0, 0.02, 0.04, 0.06, 0.08], 0),  # 0 %, 2 %, ... 8 %
        (0, 0.0125, 100, [0, 0.0025, 0.005, 0.0075, 0.01, 0.0125], 2),  # 0.25 % steps
    ],
)
def test_known_axes(
    low: float, high: float, scale: float, ticks: list[float], decimals: int
) -> None:
    got, digits = value_ticks(low, high, scale)
    assert got == pytest.approx(ticks)
    assert digits == decimals


def test_ticks_cover_the_data_in_round_steps() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        low = rng.uniform(-1e4, 1e4) * 10 ** rng.randint(-6, 2)
        # A span of at least 1e-4 of the values: charts of metrics, not of float noise.
        high = low + max(abs(low), 1e-6) * 10 ** rng.uniform(-4, 2)
        ticks, decimals = value_ticks(low, high)
        assert ticks[0] <= low
        assert ticks[-1] >= high
        assert 2 <= len(ticks) <= 7
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-3
        labels = [f"{t:.{decimals}f}" for t in ticks]
        assert len(set(labels)) == len(labels)  # enough digits to tell them apart


def test_large_values_are_labelled_in_thousands_and_millions() -> None:
    """'1,500,000 tok' did not fit the left margin of a tokens-per-day chart."""
    import re
    from datetime import UTC, datetime, timedelta

    from llmwatch.site.svg import Series, line_chart

    t = datetime(2025, 1, 1, tzinfo=UTC)

    def labels(high: float, **kw: object) -> list[str]:
        chart = line_chart("x", [Series("a", [(t, 0.0), (t + timedelta(hours=1), high)])], **kw)  # type: ignore[arg-type]
        return re.findall(r'class="ytick"[^>]*>([^<]+)<', chart)

    assert labels(1_500_000, unit="tok") == ["0 tok", "0.5M tok", "1.0M tok", "1.5M tok"]
    assert labels(25_000, unit="tok")[-1] == "25k tok"
    assert labels(0.69, unit="USD") == ["0 USD", "0.2 USD", "0.4 USD", "0.6 USD", "0.8 USD"]
    assert labels(0.06, percent=True) == ["0 %", "2 %", "4 %", "6 %"]
