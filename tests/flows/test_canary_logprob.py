"""The logprob canary (``canary_test = "logprob"``) through the CLI and its Prefect flow:

* on the chat protocol, against a real HTTP endpoint on 127.0.0.1 that returns
  OpenAI-shaped ``logprobs.content`` and can silently move its next-token
  log-probabilities by a little (0.05 nats, what a near-lossless re-quantisation does):
  pinned, quiet, then changed and confirmed with one alert (the completions protocol
  runs against llama.cpp in tests/flows/test_canary_real_model.py);
* against the bundled simulator, which returns no logprobs: a clear one-line error that
  names the setting to change, at pin time and at run time - never a silent fallback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from llmwatch.alerts import list_alerts
from llmwatch.cli import main
from llmwatch.settings import get_settings
from llmwatch.simulator import Scenario, SimulatorServer
from llmwatch.warehouse.models import CanaryPin, CanaryRun, CanarySample

pytestmark = pytest.mark.flow

MODEL = "logprob-model"


class LogprobEndpoint:
    """A deterministic chat endpoint with token logprobs; ``shift`` moves them."""

    def __init__(self) -> None:
        self.shift = 0.0
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                payload = json.dumps(endpoint.reply(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = json.dumps(body["messages"])
        seed = sum(prompt.encode()) % 97
        content = []
        for position in range(int(body["max_tokens"])):
            top = [
                {
                    "token": f" t{i}",
                    "logprob": -0.2 - i - (seed + position) / 100 + self.shift * (-1) ** i,
                }
                for i in range(int(body["top_logprobs"]))
            ]
            content.append({"token": " t0", "logprob": top[0]["logprob"], "top_logprobs": top})
        return {
            "id": "x",
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " t0" * int(body["max_tokens"])},
                    "logprobs": {"content": content},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": int(body["max_tokens"])},
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LogprobEndpoint]:
    server = LogprobEndpoint()
    yield server
    server.stop()


def _config(tmp_path: Path, base_url: str, model: str) -> Path:
    config = tmp_path / "llmwatch.toml"
    config.write_text(
        f'[targets.lp]\nbase_url = "{base_url}"\nmodel = "{model}"\napi_key_env = "LP_KEY"\n'
        'canary_test = "logprob"\n\n'
        "[evals]\nlogprob_replicates = 3\npower_simulations = 20\nlogprob_permutations = 499\n"
        "backoff_base_s = 0.01\nmax_retries = 0\nconcurrency = 4\nalert_cooldown_hours = 0\n"
    )
    return config


def test_a_small_logprob_shift_on_the_chat_protocol_is_confirmed_once(
    endpoint: LogprobEndpoint,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("LLMWATCH_CONFIG", str(_config(tmp_path, endpoint.base_url, MODEL)))
    monkeypatch.setenv("LP_KEY", "sk-logprob-test-secret")
    get_settings.cache_clear()
    endpoint.shift = 0.0
    runner = CliRunner()
    pinned = runner.invoke(main, ["canary", "pin", "lp"])
    assert pinned.exit_code == 0, pinned.output
    assert "(logprob-model, logprob)" in pinned.output
    # The chat protocol's own logprobs request: a boolean and a top count.
    assert endpoint.requests[-1]["logprobs"] is True
    assert endpoint.requests[-1]["top_logprobs"] == 5
    assert endpoint.requests[-1]["temperature"] == 0

    quiet = runner.invoke(main, ["run", "canary", "--target", "lp"])
    assert quiet.exit_code == 0, quiet.output
    assert "logprob test vs pinned run" in quiet.output
    assert "no change detected" in quiet.output
    assert "p=1.0000" in quiet.output  # a deterministic endpoint, unchanged: all tied

    endpoint.shift = 0.05
    changed = runner.invoke(main, ["run", "canary", "--target", "lp"])
    assert changed.exit_code == 1, changed.output
    assert "CHANGED (confirmed by fresh calls)" in changed.output
    assert "VERDICT: REGRESSION (logprobs of lp)" in changed.output
    with engine.connect() as conn:
        alerts = list_alerts(conn)
        n_runs = conn.execute(select(func.count()).select_from(CanaryRun)).scalar_one()
        pin_run = conn.execute(select(CanaryPin.run_id)).scalar_one()
        stored = conn.execute(
            select(CanarySample.logprobs).where(CanarySample.run_id == pin_run).limit(1)
        ).scalar_one()
    assert n_runs == 4  # pin, quiet run, changed run and its confirmation
    assert len(alerts) == 1
    details = alerts[0]["details"]
    assert alerts[0]["kind"] == "canary_regression"
    assert alerts[0]["severity"] == "warning"
    assert details["state"] == "confirmed"
    assert details["first"]["replicates"] == 3
    assert details["confirmation"]["p_value"] < 0.05
    assert details["confirmation"]["logprob_distance"] == pytest.approx(0.05, abs=1e-6)
    assert details["confirmation"]["replicate_distance"] == 0
    assert details["power"]["min_shift_nats"] is not None
    assert details["evidence"]["run"]["served_models"] == {MODEL: details["first"]["n_prompts"]}
    assert stored[0][0] == " t0"  # [token, logprob, {top}] per generated token
    assert "sk-logprob-test-secret" not in json.dumps(alerts, default=str)


def test_an_endpoint_without_logprobs_is_a_clear_error_naming_the_setting(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    sim = SimulatorServer(Scenario.load("demo"), latency_ms=1).start()
    try:
        config = _config(tmp_path, sim.base_url, "gpt-4o-mini-2024-07-18")
        monkeypatch.setenv("LLMWATCH_CONFIG", str(config))
        monkeypatch.setenv("LP_KEY", "sk-sim")
        get_settings.cache_clear()
        runner = CliRunner()
        pinned = runner.invoke(main, ["canary", "pin", "lp"])
        assert pinned.exit_code != 0
        error = pinned.output.strip().splitlines()[-1]
        assert "returned no token log-probabilities" in error
        assert 'set canary_test = "distribution" on [targets.lp]' in error
        run = runner.invoke(main, ["run", "canary", "--target", "lp"])
        assert run.exit_code == 3, run.output  # inconclusive, not a pass on text
        assert 'set canary_test = "distribution"' in run.output
    finally:
        sim.stop()
