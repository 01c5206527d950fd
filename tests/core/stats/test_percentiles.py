from __future__ import annotations

import math
import random

import numpy as np
import pytest

from llmwatch.stats.percentiles import (
    grouped_nearest_ranks,
    nearest_rank,
    nearest_rank_index,
    percentile,
    percentiles,
)


def test_definition_on_a_textbook_example() -> None:
    # Nearest rank on 15, 20, 35, 40, 50: p30 -> ceil(1.5) = 2nd, p40 -> 2nd, p50 -> 3rd.
    data = [40.0, 15.0, 50.0, 35.0, 20.0]
    assert percentile(data, 0.3) == 20.0
    assert percentile(data, 0.4) == 20.0
    assert percentile(data, 0.5) == 35.0
    assert percentile(data, 1.0) == 50.0
    assert percentile(data, 0.0) == 15.0  # rank never below 1


def test_always_an_observed_value_and_monotone_in_p() -> None:
    rng = random.Random(5)
    for n in (1, 2, 3, 7, 100, 101):
        data = [rng.choice([1.0, 2.0, 2.0, 5.5, 1e6]) for _ in range(n)]
        previous = -math.inf
        for p in [i / 200 for i in range(201)]:
            value = percentile(data, p)
            assert value in data
            assert value is not None
            assert value >= previous
            previous = value


def test_smallest_value_with_at_least_p_of_the_data_at_or_below() -> None:
    rng = random.Random(8)
    for _ in range(200):
        data = sorted(rng.choice([1.0, 2.0, 3.0, 4.0]) for _ in range(rng.randint(1, 30)))
        p = rng.choice([0.5, 0.95, 0.99, 0.25, 0.75])
        value = percentile(data, p)
        share = sum(1 for v in data if v <= value) / len(data)
        assert share >= p
        smaller = [v for v in set(data) if v < value]
        assert all(sum(1 for x in data if x <= s) / len(data) < p for s in smaller)


def test_agrees_with_numpy_inverted_cdf() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 20, 99, 100, 1000):
        data = rng.lognormal(6, 1, n).round(1)
        for p in (0.5, 0.95, 0.99):
            expected = float(np.percentile(data, p * 100, method="inverted_cdf"))
            assert percentile(data.tolist(), p) == expected


def test_ties_and_tiny_windows() -> None:
    assert percentile([7.0], 0.99) == 7.0
    assert percentiles([3.0, 1.0], [0.5, 0.95, 0.99]) == [1.0, 3.0, 3.0]
    ties = [5.0] * 40 + [7.0] * 40 + [9.0] * 20
    assert percentiles(ties, [0.4, 0.41, 0.8, 0.81]) == [5.0, 7.0, 7.0, 9.0]


def test_missing_values_are_ignored_and_no_data_is_none() -> None:
    assert percentile([None, 3.0, None, 1.0], 0.5) == 1.0
    assert percentile([], 0.5) is None
    assert percentile([None, None], 0.95) is None
    assert nearest_rank([], 0.5) is None


def test_rank_uses_the_double_product_like_postgresql() -> None:
    # 0.07 * 100 is 7.000000000000001 in IEEE doubles, so ceil gives 8: PostgreSQL's
    # percentile_disc computes the same product, and we follow it rather than round.
    assert nearest_rank_index(0.07, 100) == 8
    assert nearest_rank_index(0.95, 20) == 19
    assert nearest_rank_index(0.99, 100) == 99
    assert nearest_rank_index(1.0, 3) == 3


@pytest.mark.parametrize("p", [-0.01, 1.01, float("nan")])
def test_levels_outside_zero_one_are_refused(p: float) -> None:
    with pytest.raises(ValueError, match="level"):
        percentile([1.0, 2.0], p)


def _batched(values: list[float], size: int) -> list[list[tuple[float]]]:
    rows = [(v,) for v in values]
    return [rows[i : i + size] for i in range(0, len(rows), size)]


@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_grouped_ranks_from_one_sorted_stream(batch: int) -> None:
    rng = random.Random(4)
    groups = [sorted(rng.choice([1.0, 2.0, 9.0]) for _ in range(n)) for n in (5, 0, 1, 2, 37)]
    stream = [v for g in groups for v in g]
    levels = [0.99, 0.5, 0.95]  # any order
    got = grouped_nearest_ranks(_batched(stream, batch), [len(g) for g in groups], levels)
    assert got == [[percentile(g, p) for p in levels] for g in groups]
    assert got[1] == [None, None, None]


def test_grouped_ranks_refuse_a_stream_that_disagrees_with_the_counts() -> None:
    with pytest.raises(RuntimeError, match="sorted stream had 4 values"):
        grouped_nearest_ranks(_batched([1.0, 2.0, 3.0, 4.0], 2), [3], [0.5])
