"""``llmwatch simulate``: generate files, print ground truth, serve until interrupted."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from llmwatch.cli import main


def test_generate_writes_records_signals_and_ground_truth(tmp_path: Path):
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "generate",
            "--out",
            str(tmp_path),
            "--days",
            "3",
            "--requests-per-day",
            "800",
            "--seed",
            "3",
            "--start",
            "2025-09-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "requests in 3 files" in result.output
    assert sorted(p.name for p in tmp_path.glob("requests-*.jsonl")) == [
        "requests-2025-09-01.jsonl",
        "requests-2025-09-02.jsonl",
        "requests-2025-09-03.jsonl",
    ]
    assert list(tmp_path.glob("signals-*.jsonl"))
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["seed"] == 3
    assert truth["incidents"][0]["start"].startswith("2025-09-03T10:00")  # demo: +2d10h


def test_generate_without_scenario_is_clean(tmp_path: Path):
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "generate",
            "--out",
            str(tmp_path),
            "--scenario",
            "none",
            "--days",
            "1",
            "--requests-per-day",
            "300",
            "--no-text",
            "--gzip",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "ground_truth.json").read_text())["incidents"] == []
    assert list(tmp_path.glob("requests-*.jsonl.gz"))


def test_ground_truth_json():
    result = CliRunner().invoke(main, ["simulate", "ground-truth", "--json"])
    assert result.exit_code == 0
    kinds = [i["kind"] for i in json.loads(result.output)]
    assert "silent_model_change" in kinds
    assert len(kinds) == 7


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_in_the_foreground_until_interrupted():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from llmwatch.cli import main; main()",
            "simulate",
            "serve",
            "--port",
            str(port),
            "--latency-scale",
            "0",
            "--clock",
            "2025-06-06T00:00:00Z",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/_sim/state", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert state["scenario"] == "demo"
        assert state["versions"]["gpt-4o-mini-2024-07-18"]["version"] == "2024-07-18-r2"
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json={"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert f"127.0.0.1:{port}/v1" in output
