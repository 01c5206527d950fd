"""The MMD model-equality test and its stated power, checked by Monte Carlo through the
production code (llmwatch.evals.mmd, llmwatch.evals.power)."""

from __future__ import annotations

import numpy as np
import pytest

from llmwatch.evals.mmd import hamming_gram, mmd_test
from llmwatch.evals.power import SHARE_GRID, power_statement, simulated_power, substitute

WORDS = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "hill", "then", "red"]
PROMPTS = [f"p{i}" for i in range(12)]


class Model:
    """A known distribution of completions per prompt: a few strings with fixed weights.

    ``share`` of the answers are substituted with the production reference distortion,
    so the "shifted" case is exactly the alternative the power is stated against.
    """

    def __init__(self, seed: int = 7, vocabulary: int = 6) -> None:
        gen = np.random.default_rng(seed)
        self.answers = {
            p: [" ".join(gen.choice(WORDS, 6)) for _ in range(vocabulary)] for p in PROMPTS
        }
        self.weights = {p: gen.dirichlet(np.ones(vocabulary)) for p in PROMPTS}

    def draw(self, rng: np.random.Generator, k: int, share: float = 0.0) -> dict[str, list[str]]:
        out = {}
        for p in PROMPTS:
            picks = rng.choice(len(self.answers[p]), size=k, p=self.weights[p])
            texts = [self.answers[p][i] for i in picks]
            for j in range(k):
                if rng.random() < share:
                    other = PROMPTS[
                        (PROMPTS.index(p) + 1 + int(rng.integers(len(PROMPTS) - 1))) % len(PROMPTS)
                    ]
                    donor = self.answers[other][int(rng.integers(len(self.answers[other])))]
                    texts[j] = substitute(texts[j], donor, rng)
            out[p] = texts
        return out


def test_hamming_kernel_counts_matching_positions_with_padding_matching_itself():
    gram = hamming_gram(["abc", "abd", "ab", ""])
    # Width 3: "abc" vs "abd" share 2 positions; "abc" vs "ab" share 2 (pad != "c");
    # "ab" vs "" share 1 (the padded third position); a string matches itself fully.
    assert gram[0, 1] == 2
    assert gram[0, 2] == 2
    assert gram[2, 3] == 1
    assert np.all(np.diag(gram) == 3)
    assert np.array_equal(gram, gram.T)


def test_clearly_different_models_get_the_smallest_p_and_equal_sets_do_not():
    rng = np.random.default_rng(1)
    ref = {p: [f"{p} always the same answer"] * 5 for p in PROMPTS}
    other = {p: [f"{p} something else entirely!"] * 5 for p in PROMPTS}
    assert mmd_test(ref, other, permutations=199, rng=rng).p_value == pytest.approx(1 / 200)
    assert mmd_test(ref, ref, permutations=199, rng=rng).p_value == 1.0


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 samples on each side"):
        mmd_test({"p": ["a", "b"]}, {"p": ["a"]}, permutations=99)


def test_equal_distributions_give_uniform_p_values_over_many_seeds():
    model = Model()
    rng = np.random.default_rng(2026)
    p_values = np.array(
        [
            mmd_test(model.draw(rng, 5), model.draw(rng, 5), permutations=199, rng=rng).p_value
            for _ in range(300)
        ]
    )
    # Kolmogorov-Smirnov distance to U(0, 1); 1.63/sqrt(n) is the 1 % critical value.
    ordered = np.sort(p_values)
    n = len(ordered)
    ks = max(np.max(np.arange(1, n + 1) / n - ordered), np.max(ordered - np.arange(0, n) / n))
    assert ks < 1.63 / np.sqrt(n), f"KS distance {ks:.3f}"
    # And the level itself: false alarms at alpha = 0.05 within a binomial 99.9 % band.
    rate = float(np.mean(p_values < 0.05))
    assert rate < 0.05 + 3.3 * np.sqrt(0.05 * 0.95 / n), rate


@pytest.mark.parametrize("share", [0.6, 1.0])
def test_shifted_distribution_is_detected_at_the_power_stated_from_a_reference_run(share):
    """Power simulated from ONE pinned run (2k samples per prompt) against the true
    detection rate of the test of k fresh samples against that pinned run.

    The statement is a lower bound by construction (its reference part is half the
    pinned run), so it may sit below the true rate, never clearly above it.
    """
    model = Model()
    rng = np.random.default_rng(11)
    k = 5
    stated, true = [], []
    # One pinned run holds little information about the power against it, so the
    # calibration is checked on average over several pinned runs.
    for _ in range(6):
        reference = model.draw(rng, 2 * k)
        true.append(
            np.mean(
                [
                    mmd_test(
                        reference, model.draw(rng, k, share), permutations=199, rng=rng
                    ).p_value
                    < 0.05
                    for _ in range(80)
                ]
            )
        )
        stated.append(
            simulated_power(reference, k=k, share=share, alpha=0.05, simulations=80, rng=rng)
        )
    true_rate, stated_rate = float(np.mean(true)), float(np.mean(stated))
    assert stated_rate <= true_rate + 0.08, (stated, true)
    # Not vacuous: a lower bound by at most this much at k = 5 (half the reference).
    assert true_rate - stated_rate <= 0.35, (stated, true)
    assert true_rate > 0.2  # an alternative the test can see at all


def test_power_statement_names_the_smallest_share_that_reaches_the_wanted_power():
    model = Model()
    rng = np.random.default_rng(5)
    reference = model.draw(rng, 20)
    statement = power_statement(
        reference, k=10, share=0.2, alpha=0.05, wanted=0.8, simulations=100, rng=rng
    )
    assert statement.min_share is not None
    again = simulated_power(
        reference, k=10, share=statement.min_share, alpha=0.05, simulations=100, rng=rng
    )
    assert again >= 0.68  # 0.8 less three standard errors of 100 simulations
    grid = SHARE_GRID[: SHARE_GRID.index(statement.min_share)]
    if grid:
        below = simulated_power(
            reference, k=10, share=grid[-1], alpha=0.05, simulations=100, rng=rng
        )
        assert below < 0.92
    assert f"k=10, {len(PROMPTS)} prompts" in statement.describe()
