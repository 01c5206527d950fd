"""The power a canary verdict had, by simulation from the pinned reference run.

"No change detected" is only worth what the test could have seen. The reference
distortion is a substitution of a share q of the responses: a substituted response
starts like a reference response to the same prompt and, from a random point on,
continues like an answer to a different prompt (a model that agrees on the opening and
then goes its own way).

Each simulated run splits the pinned samples of every prompt at random into two disjoint
parts, a reference part and a candidate part of k samples (the pinned run takes 2k
samples per probe for this), substitutes a share q of the candidate part, and runs the
production test (:func:`llmwatch.evals.mmd.permutation_test`); power is the share of
runs with p < alpha. Disjoint parts matter: resampling with replacement would put exact
duplicates on both sides, which LLM samples at temperature 1 almost never have, and
overstate the power. The real test compares all the pinned samples with k new ones, so
the stated power is a lower bound (the simulation's reference part is smaller). The
smallest q on a grid that reaches the wanted power says how large a substitution could
have hidden behind a quiet verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from llmwatch.evals.mmd import KernelBlock, hamming_gram, permutation_test

SHARE_GRID = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class PowerStatement:
    share: float  # the reference distortion: share of responses substituted
    power: float  # at that share, this k and this number of prompts
    wanted: float  # e.g. 0.8
    min_share: float | None  # smallest grid share reaching ``wanted``; None: none does
    k: int
    n_prompts: int
    simulations: int

    def describe(self) -> str:
        reach = (
            f"{self.wanted:.0%} power needs a substitution of >= {self.min_share:.0%} of responses"
            if self.min_share is not None
            else f"even a full substitution has less than {self.wanted:.0%} power"
        )
        return (
            f"power >= {self.power:.0%} against {self.share:.0%} of responses substituted "
            f"(k={self.k}, {self.n_prompts} prompts, {self.simulations} simulations); {reach}"
        )


def substitute(text: str, donor: str, rng: np.random.Generator) -> str:
    """The reference distortion of one response: its prefix, then a donor's tail."""
    cut = int(rng.integers(0, len(text) + 1))
    start = int(rng.integers(0, len(donor) + 1)) if donor else 0
    changed = text[:cut] + donor[start:]
    # A change that changes nothing is not a substitution: force a differing tail.
    return changed if changed != text else text[:cut] + "\x00"


def _pools(
    reference: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> tuple[list[str], dict[str, list[str]]]:
    prompts = sorted(p for p, texts in reference.items() if texts)
    substituted: dict[str, list[str]] = {}
    for prompt in prompts:
        others = [t for p in prompts if p != prompt for t in reference[p]]
        pool = []
        for text in reference[prompt]:
            for _ in range(2):  # two substitutes per reference sample: enough variety
                donor = others[int(rng.integers(len(others)))] if others else text[::-1]
                pool.append(substitute(text, donor, rng))
        substituted[prompt] = pool
    return prompts, substituted


def simulated_power(
    reference: Mapping[str, Sequence[str]],
    *,
    k: int,
    share: float,
    alpha: float,
    simulations: int = 200,
    permutations: int = 200,
    rng: np.random.Generator | None = None,
    max_chars: int = 1000,
) -> float:
    """Share of simulated runs of k samples per prompt that the test flags at ``alpha``."""
    return _Simulator(reference, k, alpha, permutations, rng, max_chars).power(share, simulations)


def power_statement(
    reference: Mapping[str, Sequence[str]],
    *,
    k: int,
    share: float,
    alpha: float,
    wanted: float = 0.8,
    simulations: int = 200,
    permutations: int = 200,
    rng: np.random.Generator | None = None,
    max_chars: int = 1000,
) -> PowerStatement:
    sim = _Simulator(reference, k, alpha, permutations, rng, max_chars)
    at_share = sim.power(share, simulations)
    min_share = None
    for q in SHARE_GRID:
        power = at_share if q == share else sim.power(q, simulations)
        if power >= wanted:
            min_share = q
            break
    return PowerStatement(share, at_share, wanted, min_share, k, len(sim.prompts), simulations)


class _Simulator:
    """Kernel matrices over the reference and its substitutes, computed once per prompt;
    each simulated run only indexes into them."""

    def __init__(
        self,
        reference: Mapping[str, Sequence[str]],
        k: int,
        alpha: float,
        permutations: int,
        rng: np.random.Generator | None,
        max_chars: int,
    ) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.rng = rng or np.random.default_rng()
        self.k, self.alpha, self.permutations = k, alpha, permutations
        self.prompts, substituted = _pools(reference, self.rng)
        self.grams = []
        self.sizes = []
        for prompt in self.prompts:
            texts = list(reference[prompt]) + substituted[prompt]
            self.grams.append(hamming_gram(texts, max_chars))
            self.sizes.append(len(reference[prompt]))

    def power(self, share: float, simulations: int) -> float:
        hits = 0
        for _ in range(simulations):
            blocks = []
            for gram, n_ref in zip(self.grams, self.sizes, strict=True):
                m = min(self.k, n_ref // 2)
                if m < 1:
                    continue
                order = self.rng.permutation(n_ref)
                ref, cand = order[: n_ref - m], order[n_ref - m :]
                swap = self.rng.random(m) < share
                # Substitutes of sample j sit at n_ref + 2j and n_ref + 2j + 1.
                cand = np.where(swap, n_ref + 2 * cand + self.rng.integers(0, 2, size=m), cand)
                index = np.concatenate([ref, cand])
                block = gram[np.ix_(index, index)]
                np.fill_diagonal(block, 0.0)
                blocks.append(KernelBlock(block, n_ref - m))
            result = permutation_test(blocks, self.permutations, self.rng)
            hits += result.p_value < self.alpha
        return hits / simulations
