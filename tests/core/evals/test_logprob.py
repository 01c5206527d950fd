"""The logprob canary's rank test and its stated power, checked by Monte Carlo through the
production code (llmwatch.evals.logprob)."""

from __future__ import annotations

import numpy as np

from llmwatch.evals.logprob import (
    Call,
    call_distance,
    position_distance,
    power_statement,
    rank_test,
    shifted,
    simulated_power,
)

TOKENS = [" a", " b", " c", " d", " e"]


class Endpoint:
    """A known next-token distribution per prompt (two positions), served with Gaussian
    noise on every logprob whose scale differs by prompt (as serving noise does)."""

    def __init__(self, prompts: int = 12, seed: int = 3) -> None:
        gen = np.random.default_rng(seed)
        self.prompts = [f"p{i}" for i in range(prompts)]
        self.base = {
            p: [np.sort(gen.uniform(-6, -0.1, 5))[::-1] for _ in range(2)] for p in self.prompts
        }
        self.noise = {p: float(10 ** gen.uniform(-3, -1.5)) for p in self.prompts}

    def call(self, prompt: str, rng: np.random.Generator) -> Call:
        out = []
        for values in self.base[prompt]:
            noisy = values + rng.normal(0, self.noise[prompt], size=len(values))
            top = dict(zip(TOKENS, (float(v) for v in noisy), strict=True))
            out.append((TOKENS[0], top[TOKENS[0]], top))
        return out

    def calls(self, rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, list[Call]]:
        return {
            p: [
                shifted(self.call(p, rng), shift, rng) if shift else self.call(p, rng)
                for _ in range(n)
            ]
            for p in self.prompts
        }


def test_distance_counts_tokens_that_left_the_top_list_and_stops_where_paths_part():
    a = {" x": -0.1, " y": -2.0}
    b = {" x": -0.3, " z": -1.0}
    # " y" is missing from b: it takes b's floor (-1.0); " z" takes a's floor (-2.0).
    assert position_distance(a, b) == np.mean([0.2, 1.0, 1.0])
    same = [(" x", -0.1, a), (" y", -2.0, a)]
    other = [(" y", -2.0, b), (" x", -0.1, b)]  # differs at the first token: one position
    assert call_distance(same, same) == 0.0
    assert call_distance(same, other) == position_distance(a, b)


def test_a_deterministic_endpoint_is_p_1_unchanged_and_smallest_p_when_changed():
    endpoint = Endpoint()
    rng = np.random.default_rng(0)
    fixed = {p: [endpoint.call(p, np.random.default_rng(1))] * 4 for p in endpoint.prompts}
    same = rank_test(fixed, {p: [c[0]] for p, c in fixed.items()}, permutations=499, rng=rng)
    assert same.p_value == 1.0  # all tied: nothing to rank
    moved = {p: [shifted(c[0], 1e-3, rng)] for p, c in fixed.items()}
    changed = rank_test(fixed, moved, permutations=499, rng=rng)
    assert changed.p_value == 1 / 500
    assert changed.statistic == changed.n_prompts  # top rank on every prompt


def test_equal_distributions_give_uniform_p_values_over_many_seeds():
    endpoint = Endpoint(prompts=20)
    p_values = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        pin = endpoint.calls(rng, 4)
        run = endpoint.calls(rng, 1)
        p_values.append(rank_test(pin, run, permutations=199, rng=rng).p_value)
    p = np.sort(np.asarray(p_values))
    # KS-type check of super-uniformity (a false alarm rate never above alpha), at the
    # 99.9 % band: P(p <= a) - a <= 1.95 / sqrt(n). The rank sum is discrete, so the
    # CDF is a staircase under the diagonal; it must also not be far under (a test that
    # never rejects is no test): within the largest step of the null's staircase.
    grid = np.linspace(0.01, 0.99, 99)
    excess = np.array([np.mean(p <= a) - a for a in grid])
    assert excess.max() <= 1.95 / np.sqrt(len(p))
    assert excess.min() >= -0.15
    rejected = np.mean(p <= 0.05)
    assert 0.01 <= rejected <= 0.05 + 3.3 * np.sqrt(0.05 * 0.95 / len(p))


def test_a_shift_is_detected_at_least_as_often_as_the_power_statement_claims():
    endpoint = Endpoint(prompts=10)
    shift, alpha = 0.003, 0.05
    stated, actual = [], []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        pin = endpoint.calls(rng, 5)
        stated.append(
            simulated_power(
                pin, shift=shift, alpha=alpha, simulations=60, permutations=199, rng=rng
            )
        )
        hits = 0
        for _ in range(60):
            run = endpoint.calls(rng, 1, shift=shift)
            hits += rank_test(pin, run, permutations=199, rng=rng).p_value < alpha
        actual.append(hits / 60)
    stated_mean, actual_mean = float(np.mean(stated)), float(np.mean(actual))
    # Mid-range, where a wrong claim shows: neither always nor never detected.
    assert 0.2 <= actual_mean <= 0.98, (stated, actual)
    # A lower bound (the simulation's pin has one replicate fewer), but not a loose one.
    assert stated_mean <= actual_mean + 0.15, (stated, actual)
    assert stated_mean >= actual_mean - 0.35, (stated, actual)


def test_power_statement_names_the_smallest_shift_reaching_the_wanted_power():
    endpoint = Endpoint(prompts=10)
    rng = np.random.default_rng(5)
    pin = endpoint.calls(rng, 5)
    statement = power_statement(
        pin, shift=0.03, alpha=0.05, simulations=40, permutations=199, rng=rng
    )
    assert statement.min_shift is not None
    assert statement.replicates == 5
    assert statement.n_prompts == 10
    below = [s for s in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0) if s < statement.min_shift]
    for smaller in below[-1:]:
        assert (
            simulated_power(
                pin, shift=smaller, alpha=0.05, simulations=40, permutations=199, rng=rng
            )
            < 0.95
        )
    assert "power >=" in statement.describe()
    assert "nats per token" in statement.describe()
