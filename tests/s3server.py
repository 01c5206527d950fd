"""moto's standalone S3 server on 127.0.0.1, for the object-store inbox tests: a real
HTTP server speaking the S3 API, started as a subprocess on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# Any values: moto accepts every key; they must never show in logs (tests check).
ACCESS_KEY = "AKIAllmwatchtestkey0"
SECRET_KEY = "s3cr3t-llmwatch-test-inbox-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"inbox-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(log: Path | None = None) -> Iterator[str]:
    """moto's standalone S3 server on a free port of 127.0.0.1, as its endpoint URL;
    shared by the tests' fixture and bench/scale.py."""
    port = _free_port()
    moto = Path(sys.executable).parent / "moto_server"
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = log.read_text() if log else ""
                    raise RuntimeError(f"moto_server did not start: {said}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        yield S3Server(endpoint)


@pytest.fixture
def s3_inbox(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket; the settings point the inbox at it (endpoint and keys as env)."""
    from llmwatch.settings import get_settings

    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/inbox"
    monkeypatch.setenv("LLMWATCH_INGEST__INBOX_URL", url)
    monkeypatch.setenv("LLMWATCH_INGEST__INBOX_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("LLMWATCH_INGEST__INBOX_KEY", ACCESS_KEY)
    monkeypatch.setenv("LLMWATCH_INGEST__INBOX_SECRET", SECRET_KEY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
