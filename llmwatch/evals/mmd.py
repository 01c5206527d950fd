"""Model equality test: MMD with a Hamming string kernel and a permutation p-value.

Gao, Liang & Guestrin, "Model Equality Testing: Which Model Is This API Serving?",
ICLR 2025. A sample is a (prompt, completion) pair; the kernel is

    k((x, y), (x', y')) = 1[x = x'] * sum_i 1[y_i = y'_i]     (positions i < L)

(the Hamming kernel: how many positions two completions share, both padded to length L),
and the statistic is the unbiased MMD^2 between the reference and the candidate samples.
Its null distribution is not known in closed form, so the p-value comes from permuting
the reference/candidate labels. We chose this test over the rank-based one (Zhu et al.,
ICLR 2026) because the rank test needs the reference model's own log-probabilities or a
call per prompt against a reference endpoint we do not have once a provider swapped it;
MMD needs only stored samples of the pinned run.

Two choices of ours, both stated here because they differ from the paper's code:
- Completions are compared by characters, not tokens: an API returns text, and the
  served model's tokenizer is exactly what may have changed.
- Labels are permuted within each prompt (a stratified permutation test), so each prompt
  keeps its own reference and candidate counts; under "same model" the samples of one
  prompt are exchangeable, which makes the p-value valid whatever the counts per prompt
  (errors can make them unequal).
Padding is a sentinel that matches itself, so lengths inform the kernel as in the paper;
a constant added to every kernel value cancels in the unbiased MMD^2, so L is simply the
longest completion of the prompt (after truncation to ``max_chars``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PAD = -1


@dataclass(frozen=True)
class MmdResult:
    statistic: float  # unbiased MMD^2 of the observed split
    p_value: float  # (1 + #permutations at least as extreme) / (permutations + 1)
    permutations: int
    n_reference: int
    n_candidate: int
    n_prompts: int  # prompts with samples on both sides (the others carry no information)


def encode(texts: Sequence[str], max_chars: int) -> np.ndarray:
    """Completions as a (n, L) array of code points, padded with PAD."""
    cut = [t[:max_chars] for t in texts]
    width = max([1, *(len(t) for t in cut)])
    codes = np.full((len(cut), width), PAD, dtype=np.int32)
    for i, text in enumerate(cut):
        if text:
            codes[i, : len(text)] = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return codes


def hamming_gram(texts: Sequence[str], max_chars: int = 1000) -> np.ndarray:
    """Kernel matrix of one prompt's completions: matching positions, pad matching pad."""
    codes = encode(texts, max_chars)
    gram = np.zeros((len(texts), len(texts)))
    # Row by row keeps memory at n * L instead of n * n * L for long completions.
    for i in range(len(texts)):
        gram[i] = (codes == codes[i]).sum(axis=1)
    return gram


@dataclass(frozen=True)
class KernelBlock:
    gram: np.ndarray  # diagonal zeroed: the U-statistic leaves out self-pairs
    n_ref: int  # the first n_ref rows are the reference samples


def _blocks(
    reference: Mapping[str, Sequence[str]], candidate: Mapping[str, Sequence[str]], max_chars: int
) -> list[KernelBlock]:
    blocks = []
    for prompt in sorted(set(reference) & set(candidate)):
        ref, cand = list(reference[prompt]), list(candidate[prompt])
        if not ref or not cand:
            continue
        gram = hamming_gram(ref + cand, max_chars)
        np.fill_diagonal(gram, 0.0)
        blocks.append(KernelBlock(gram, len(ref)))
    return blocks


def mmd_test(
    reference: Mapping[str, Sequence[str]],
    candidate: Mapping[str, Sequence[str]],
    *,
    permutations: int = 1000,
    rng: np.random.Generator | None = None,
    max_chars: int = 1000,
) -> MmdResult:
    """Test "candidate samples come from the reference distribution", prompt by prompt.

    ``reference`` and ``candidate`` map a prompt id to its completions.
    """
    blocks = _blocks(reference, candidate, max_chars)
    return permutation_test(blocks, permutations, rng or np.random.default_rng())


def permutation_test(
    blocks: Sequence[KernelBlock], permutations: int, rng: np.random.Generator
) -> MmdResult:
    m = sum(b.n_ref for b in blocks)
    n = sum(len(b.gram) - b.n_ref for b in blocks)
    if m < 2 or n < 2:
        raise ValueError(
            f"MMD test needs at least 2 samples on each side (reference {m}, candidate {n})"
        )
    observed = 0.0
    permuted = np.zeros(permutations)
    for block in blocks:
        size = len(block.gram)
        labels = np.zeros(size)
        labels[: block.n_ref] = 1.0
        observed += _parts(labels[None, :], block.gram, m, n)[0]
        # One random permutation of the labels per row: argsort of uniform noise.
        order = np.argsort(rng.random((permutations, size)), axis=1)
        permuted += _parts((order < block.n_ref).astype(float), block.gram, m, n)
    extreme = int(np.count_nonzero(permuted >= observed - 1e-9 * max(1.0, abs(observed))))
    return MmdResult(
        statistic=float(observed),
        p_value=(1 + extreme) / (permutations + 1),
        permutations=permutations,
        n_reference=m,
        n_candidate=n,
        n_prompts=len(blocks),
    )


def _parts(labels: np.ndarray, gram: np.ndarray, m: int, n: int) -> np.ndarray:
    """One block's share of the unbiased MMD^2 for each row of 0/1 reference labels.

    Kernel values across prompts are 0, so the whole statistic is a sum over prompts of
    these parts with the global denominators m(m-1), n(n-1) and mn.
    """
    weighted = labels @ gram
    xx = (weighted * labels).sum(axis=1)
    x_all = weighted.sum(axis=1)
    total = gram.sum()
    xy = x_all - xx
    yy = total - xx - 2.0 * xy
    return np.asarray(xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2.0 * xy / (m * n))
