"""Power of the judge-drift test on the shipped calibration set, by Monte Carlo through
the production code (llmwatch.judge.agreement), beside the normal approximation.

    .venv/bin/python bench/judge_calibration_power.py [--runs 4000] [--accuracy 0.9]

A simulated judge gets each of the 144 items right with probability ``--accuracy`` in
the pinned run and ``accuracy - drop`` in the current one, independently per item and
run; the settings' defaults decide (one-sided alpha 0.01, minimum drop 5 points). The
reference is the normal-approximation power of the one-sided pooled two-proportion test
at the same n (what a power table would say), so the two columns should be close.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmwatch.judge.agreement import agreement, drop_test
from llmwatch.judge.calibration_set import load_calibration_set
from llmwatch.settings import JudgeCalibrationSettings

FLIP = {"good": "bad", "bad": "good"}


def simulated(known: list[str], accuracy: float, rng: random.Random) -> list[str | None]:
    return [k if rng.random() < accuracy else FLIP[k] for k in known]


def normal_power(p1: float, p2: float, n: int, alpha: float) -> float:
    """One-sided pooled two-proportion z-test, normal approximation."""
    z_alpha = _inverse_phi(1 - alpha)
    pooled = (p1 + p2) / 2
    se0 = math.sqrt(2 * pooled * (1 - pooled) / n)
    se1 = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    if se1 == 0:
        return 1.0 if p1 > p2 else 0.0
    return _phi(((p1 - p2) - z_alpha * se0) / se1)


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _inverse_phi(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _phi(mid) < p else (lo, mid)
    return (lo + hi) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--accuracy", type=float, default=0.9)
    args = parser.parse_args()
    cfg = JudgeCalibrationSettings()
    known = [item.expected for item in load_calibration_set().items]
    n = len(known)
    rng = random.Random(2026)
    print(
        f"n={n} items, pinned accuracy {args.accuracy}, alpha {cfg.alpha} one-sided, "
        f"minimum drop {cfg.min_drop}, {args.runs} simulated run pairs per row"
    )
    print(f"{'drop':>6} {'detected (llmwatch)':>20} {'normal approx.':>15}")
    for drop in (0.0, 0.05, 0.10, 0.15, 0.20, 0.30):
        hits = 0
        for _ in range(args.runs):
            base = agreement(known, simulated(known, args.accuracy, rng))
            cur = agreement(known, simulated(known, args.accuracy - drop, rng))
            hits += drop_test(base, cur, alpha=cfg.alpha, min_drop=cfg.min_drop).drifted
        reference = normal_power(args.accuracy, args.accuracy - drop, n, cfg.alpha)
        print(f"{drop:>6.2f} {hits / args.runs:>20.4f} {reference:>15.4f}")


if __name__ == "__main__":
    main()
