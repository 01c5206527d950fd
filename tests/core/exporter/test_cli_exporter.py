"""``llmwatch exporter``: the textfile mode in process, the HTTP mode as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.cli import main
from llmwatch.exporter import render
from tests.core.exporter.test_exporter import _samples


def _one_alert(engine: Engine) -> None:
    alert = NewAlert(
        kind="cost_anomaly",
        flow="cost-aggregation",
        message="cost per request far above its baseline",
        feature_id="support_chat",
        model_id="m",
    )
    with engine.begin() as conn:
        record_alerts(conn, [alert], cooldown=timedelta(0))


def test_textfile_mode(engine: Engine, tmp_path: Path) -> None:
    _one_alert(engine)
    path = tmp_path / "llmwatch.prom"
    outcome = CliRunner().invoke(main, ["exporter", "--textfile", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert _samples(path.read_text()) == _samples(render(engine))
    alerts = [
        s
        for f in text_string_to_metric_families(path.read_text())
        for s in f.samples
        if s.name == "llm_alerts_total"
    ]
    assert [(s.labels["kind"], s.value) for s in alerts] == [("cost_anomaly", 1.0)]
    usage = CliRunner().invoke(main, ["exporter", "--interval", "5"])
    assert usage.exit_code == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_mode_in_its_own_process(engine: Engine, warehouse_url: str) -> None:
    _one_alert(engine)
    port = _free_port()
    env = {**os.environ, "LLMWATCH_WAREHOUSE_URL": warehouse_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmwatch", "exporter", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "exporter did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert _samples(response.text) == _samples(render(engine))
    finally:
        process.terminate()
        process.wait(timeout=10)
