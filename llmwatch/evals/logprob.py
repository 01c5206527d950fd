"""The logprob canary's statistic: is the next-token distribution still the pinned one?

For endpoints that return token log-probabilities, the next-token distribution at
temperature 0 shows a re-quantisation that sampled text hides: a near-lossless Q8_0
build keeps most greedy outputs, yet moves every log-probability by a little, while an
unchanged model moves them only by its serving noise (batching, prompt-cache paths, a
cold first call after a start). So the null is the pin's own replicate noise, not zero.

The test (a rank test in the spirit of Zhu et al., "Auditing Black-Box LLM APIs with a
Rank-Based Uniformity Test", ICLR 2026, arXiv:2506.06975: under "same model" a rank is
uniform; here the rank is of a logprob distance among the pin's replicates):

* per prompt, the group is the pin's R replicate calls plus this run's m calls; each
  member's score is its mean distance to the other members (leave-one-out), so a call
  from another model sits far from all the others;
* under H0 (same model, same serving noise) the members of a group are exchangeable, so
  which m of the R + m scores belong to this run is a uniformly random choice; the
  statistic is the sum over prompts of the mean *rank* of this run's scores, and the
  p-value is one-sided by a stratified permutation (re-choose the m members of every
  prompt at random).

Why ranks within prompts, not raw distances: the serving noise differs by orders of
magnitude between prompts (a confident prompt barely moves), and ranks let each prompt
count once without a model of that noise; the null distribution is exact. The MMD of
:mod:`llmwatch.evals.mmd` (Gao et al., ICLR 2025) stays the test for endpoints without
logprobs; on the same budget it cannot see a Q8_0 swap (tests/flows/test_canary_real_model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# One generated token: its text, its logprob and the endpoint's top alternatives.
Position = tuple[str, float, Mapping[str, float]]
Call = Sequence[Position]

# Per-token logprob shifts (nats) at which the power is simulated, smallest first.
SHIFT_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def position_distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Mean absolute logprob difference over the tokens of both top lists.

    A token missing from one list is at most that list's smallest shown logprob; it
    takes that value (the endpoint says nothing more precise), so a token that left the
    top list still counts.
    """
    if not a or not b:
        return 0.0
    floor_a, floor_b = min(a.values()), min(b.values())
    tokens = set(a) | set(b)
    return float(np.mean([abs(a.get(t, floor_a) - b.get(t, floor_b)) for t in tokens]))


def call_distance(a: Call, b: Call) -> float:
    """Mean position distance while both calls followed the same tokens.

    Past the first differing token the two calls condition on different text, so their
    next-token distributions are not comparable; that difference itself shows in the
    last compared position's distribution.
    """
    distances = []
    for (tok_a, _, top_a), (tok_b, _, top_b) in zip(a, b, strict=False):
        distances.append(position_distance(top_a, top_b))
        if tok_a != tok_b:
            break
    return float(np.mean(distances)) if distances else 0.0


@dataclass(frozen=True)
class RankResult:
    p_value: float
    statistic: float  # sum over prompts of this run's mean normalised rank (0..1)
    expected: float  # its value under H0
    n_prompts: int
    replicates: int  # pin calls per prompt (the smallest group's)
    calls: int  # this run's calls per prompt
    permutations: int
    # Median over prompts of this run's mean distance to the pin, and of the pin's own.
    distance: float
    null_distance: float


def _distances(calls: Sequence[Call]) -> np.ndarray:
    n = len(calls)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d[i, j] = d[j, i] = call_distance(calls[i], calls[j])
    return d


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties at their mean: an unchanged deterministic endpoint ties all."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def rank_test(
    reference: Mapping[str, Sequence[Call]],
    current: Mapping[str, Sequence[Call]],
    *,
    permutations: int = 2000,
    rng: np.random.Generator | None = None,
) -> RankResult:
    """One-sided: is this run farther from the pin than the pin's replicates are?"""
    rng = rng or np.random.default_rng()
    prompts = sorted(p for p in reference if len(reference[p]) >= 2 and current.get(p))
    if not prompts:
        raise ValueError("no prompt has both two pinned replicates and a call in this run")
    observed = expected = 0.0
    perm = np.zeros(permutations)
    distances, nulls = [], []
    for prompt in prompts:
        ref, cur = list(reference[prompt]), list(current[prompt])
        group = ref + cur
        n, m, r = len(group), len(cur), len(ref)
        d = _distances(group)
        # Leave-one-out: each member's mean distance to the other members.
        ranks = _midranks(d.sum(axis=1) / (n - 1)) / n
        observed += float(ranks[r:].mean())
        expected += float(ranks.mean())
        # Re-choose which m members are "this run": m draws without replacement.
        picks = np.argsort(rng.random((permutations, n)), axis=1)[:, :m]
        perm += ranks[picks].mean(axis=1)
        distances.append(float(d[r:, :r].mean()))
        nulls.append(float(d[:r, :r][np.triu_indices(r, 1)].mean()))
    # Tolerance: float sums of the same ranks in another order must count as ties.
    hits = int(np.sum(perm >= observed - 1e-9))
    return RankResult(
        p_value=(1 + hits) / (1 + permutations),
        statistic=observed,
        expected=expected,
        n_prompts=len(prompts),
        replicates=min(len(reference[p]) for p in prompts),
        calls=min(len(current[p]) for p in prompts),
        permutations=permutations,
        distance=float(np.median(distances)),
        null_distance=float(np.median(nulls)),
    )


def shifted(call: Call, shift: float, rng: np.random.Generator) -> list[Position]:
    """A call whose every shown logprob moved by ``shift`` nats, up or down at random:
    the reference distortion of the power statement (a re-quantised model moves each
    logprob a little, in no fixed direction). The chosen tokens stay."""
    out: list[Position] = []
    for token, logprob, top in call:
        signs = rng.choice((-1.0, 1.0), size=len(top))
        moved = {t: min(0.0, lp + s * shift) for (t, lp), s in zip(top.items(), signs, strict=True)}
        out.append((token, moved.get(token, logprob), moved))
    return out


@dataclass(frozen=True)
class LogprobPower:
    shift: float  # the reference distortion, nats per shown logprob
    power: float  # at that shift, with this pin and this number of prompts
    wanted: float
    min_shift: float | None  # smallest grid shift reaching ``wanted``; None: none does
    n_prompts: int
    replicates: int
    simulations: int

    def describe(self) -> str:
        reach = (
            f"{self.wanted:.0%} power from a shift of {self.min_shift:g} nats per token"
            if self.min_shift is not None
            else f"even {SHIFT_GRID[-1]:g} nats per token has less than {self.wanted:.0%} power"
        )
        return (
            f"power >= {self.power:.0%} against a logprob shift of {self.shift:g} nats per "
            f"token ({self.n_prompts} prompts, {self.replicates} pinned replicates, "
            f"{self.simulations} simulations); {reach}"
        )


def simulated_power(
    reference: Mapping[str, Sequence[Call]],
    *,
    shift: float,
    alpha: float,
    simulations: int = 100,
    permutations: int = 500,
    rng: np.random.Generator | None = None,
) -> float:
    """Share of simulated runs the production test flags: per prompt one pinned replicate,
    shifted, plays this run and the other replicates the pin. With one replicate fewer
    in the pin than the real test has, the figure is a lower bound."""
    rng = rng or np.random.default_rng()
    prompts = [p for p in sorted(reference) if len(reference[p]) >= 3]
    if not prompts:
        return 0.0
    hits = 0
    for _ in range(simulations):
        ref: dict[str, list[Call]] = {}
        cur: dict[str, list[Call]] = {}
        for prompt in prompts:
            calls = list(reference[prompt])
            held = int(rng.integers(len(calls)))
            cur[prompt] = [shifted(calls[held], shift, rng)]
            ref[prompt] = calls[:held] + calls[held + 1 :]
        result = rank_test(ref, cur, permutations=permutations, rng=rng)
        hits += result.p_value < alpha
    return hits / simulations


def power_statement(
    reference: Mapping[str, Sequence[Call]],
    *,
    shift: float,
    alpha: float,
    wanted: float = 0.8,
    simulations: int = 100,
    permutations: int = 500,
    rng: np.random.Generator | None = None,
) -> LogprobPower:
    rng = rng or np.random.default_rng()
    at_shift = simulated_power(
        reference, shift=shift, alpha=alpha, simulations=simulations,
        permutations=permutations, rng=rng,
    )  # fmt: skip
    min_shift = None
    for candidate in SHIFT_GRID:
        if candidate == shift:
            power = at_shift
        else:
            power = simulated_power(
                reference, shift=candidate, alpha=alpha, simulations=simulations,
                permutations=permutations, rng=rng,
            )  # fmt: skip
        if power >= wanted:
            min_shift = candidate
            break
    prompts = [p for p in reference if len(reference[p]) >= 3]
    return LogprobPower(
        shift=shift,
        power=at_shift,
        wanted=wanted,
        min_shift=min_shift,
        n_prompts=len(prompts),
        replicates=min((len(reference[p]) for p in prompts), default=0),
        simulations=simulations,
    )
