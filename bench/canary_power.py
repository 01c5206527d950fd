"""Distributional canary: detection rate vs samples per prompt, for partial substitutions.

    .venv/bin/python bench/canary_power.py [--runs 100] [--pool 120] [--permutations 199]

A misrouting that sends a share q of requests to another model (Anthropic's postmortem
of 17 Sep 2025: up to 16 % of requests, weeks to find) is the substitution measured here.
The bundled simulator serves the canary probes at temperature 1 over HTTP, through the
production client and sampler (llmwatch.evals.distribution.sample_probes):

  pool A  the pinned model (gpt-4o-mini before the demo scenario's silent update),
  pool B  the same model name after the update (worse at JSON, refuses less),

``--pool`` answers per probe each. Each simulated canary run draws, without replacement
from pool A, a pinned run of 2k answers per probe and a fresh run of k answers per
probe of which a share q comes from pool B, and runs the production test
(llmwatch.evals.mmd.mmd_test, alpha 0.05). Printed: the detection rate for
k = 1, 5, 10, 20 and q = 5 %, 20 %, 50 %, and the false-alarm rate (q = 0) measured in
the same run as the reference it is held against (it must stay near alpha).

The paper's figure (Gao, Liang & Guestrin, ICLR 2025): with about 10 samples per
prompt, a median power of 77 % across their distortions (quantisation, watermarking,
fine-tuning; every response drawn from the distorted model, i.e. q = 100 %), as quoted
in issue 17. Their per-distortion curves are not reproduced here (no network); the
q = 100 % column below is the comparable one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmwatch.evals.distribution import by_probe, sample_probes
from llmwatch.evals.mmd import mmd_test
from llmwatch.evals.probes import load_probes
from llmwatch.llm import ChatClient, Endpoint, Limits
from llmwatch.simulator import Scenario, SimulatorServer

MINI = "gpt-4o-mini-2024-07-18"
SWITCH = datetime(2025, 6, 5, 12, tzinfo=UTC)
KS = (1, 5, 10, 20)
SHARES = (0.0, 0.05, 0.2, 0.5, 1.0)
ALPHA = 0.05
PAPER_MEDIAN_POWER_AT_10 = 0.77


async def _pool(base_url: str, n: int) -> dict[str, list[str]]:
    probes = load_probes()
    endpoint = Endpoint(base_url, MINI)
    async with ChatClient(endpoint, Limits(concurrency=16)) as client:
        run = await sample_probes(client, probes, k=n, temperature=1.0, max_tokens=200)
    return by_probe(run.samples)


def pools(n: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    with SimulatorServer(Scenario.load("demo"), latency_ms=0) as sim:
        sim.set_clock(SWITCH - timedelta(days=1))
        before = asyncio.run(_pool(sim.base_url, n))
        sim.set_clock(SWITCH + timedelta(hours=1))
        after = asyncio.run(_pool(sim.base_url, n))
    return before, after


def detection_rate(
    a: dict[str, list[str]],
    b: dict[str, list[str]],
    k: int,
    share: float,
    runs: int,
    permutations: int,
    rng: np.random.Generator,
) -> float:
    hits = 0
    for _ in range(runs):
        reference, candidate = {}, {}
        for probe, texts in a.items():
            order = rng.permutation(len(texts))
            reference[probe] = [texts[i] for i in order[: 2 * k]]
            fresh = [texts[i] for i in order[2 * k : 3 * k]]
            for j in range(k):
                if rng.random() < share:
                    fresh[j] = b[probe][int(rng.integers(len(b[probe])))]
            candidate[probe] = fresh
        result = mmd_test(reference, candidate, permutations=permutations, rng=rng)
        hits += result.p_value < ALPHA
    return hits / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="simulated canary runs per cell")
    parser.add_argument("--pool", type=int, default=120, help="answers per probe and model")
    parser.add_argument("--permutations", type=int, default=199)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.pool < 3 * max(KS):
        parser.error(f"--pool must be at least {3 * max(KS)} (2k pinned + k fresh at k = 20)")
    rng = np.random.default_rng(args.seed)

    started = time.perf_counter()
    a, b = pools(args.pool)
    print(
        f"sampled {len(a)} probes x {args.pool} answers from each model through the "
        f"production client in {time.perf_counter() - started:.1f} s"
    )
    header = f"{'k':>4}  " + "  ".join(
        "q=0 (false alarm)" if q == 0 else f"q={q:>4.0%}" for q in SHARES
    )
    print(f"\ndetection rate at alpha {ALPHA} over {args.runs} runs per cell, {len(a)} prompts")
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    for k in KS:
        cells = [detection_rate(a, b, k, q, args.runs, args.permutations, rng) for q in SHARES]
        print(
            f"{k:>4}  "
            + "  ".join(
                f"{c:>17.2f}" if q == 0 else f"{c:>6.2f}"
                for q, c in zip(SHARES, cells, strict=True)
            ),
            flush=True,
        )
    print(f"({time.perf_counter() - started:.1f} s of tests)")
    print(
        f"\nreference: false alarms at q=0 must stay near alpha = {ALPHA} "
        f"(binomial s.e. {np.sqrt(ALPHA * (1 - ALPHA) / args.runs):.3f}); "
        f"the paper reports a median power of {PAPER_MEDIAN_POWER_AT_10:.0%} at about "
        "10 samples per prompt for full (q = 100 %) distortions of real models"
    )


if __name__ == "__main__":
    main()
