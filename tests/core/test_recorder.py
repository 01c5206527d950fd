from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from llmwatch.ingest import ingest_paths
from llmwatch.recorder import Recorder
from llmwatch.settings import Settings
from llmwatch.warehouse.models import Request, UserSignal


def test_threads_record_concurrently_and_ingest_reads_every_record(
    engine: Engine, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    recorder = Recorder(spool, max_bytes=20_000)  # small files: many rotations

    def worker(n: int) -> None:
        for i in range(250):
            rid = recorder.record(
                request_id=f"t{n}-{i}",
                feature_id="chat",
                model_id="m",
                latency_ms=10.0,
                input_tokens=5,
                output_tokens=3,
                input=f"question {i} from thread {n}",
            )
            if i % 10 == 0:
                recorder.signal(rid, "thumbs_up", session_id=f"s{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # An open file is invisible to ingest until it is rotated or closed.
    before_close = ingest_paths(engine, [spool / "requests"], Settings())
    recorder.close()
    after_close = ingest_paths(engine, [spool / "requests"], Settings())
    ingest_paths(engine, [spool / "signals"], Settings(), signals=True)

    assert before_close.total("rejected") == after_close.total("rejected") == 0
    assert before_close.total("loaded") + after_close.total("loaded") == 2000
    assert len(list((spool / "requests").glob("*.jsonl"))) > 5
    assert not list(spool.rglob("*.part"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Request)).scalar_one() == 2000
        assert conn.execute(select(func.count()).select_from(UserSignal)).scalar_one() == 200


def test_invalid_record_raises_at_the_call_site(tmp_path: Path) -> None:
    with Recorder(tmp_path) as recorder, pytest.raises(ValidationError, match="input_tokens"):
        recorder.record(
            feature_id="chat", model_id="m", latency_ms=1.0, input_tokens=-1, output_tokens=0
        )
    with pytest.raises(RuntimeError, match="closed"):
        recorder.record(
            feature_id="chat", model_id="m", latency_ms=1.0, input_tokens=1, output_tokens=0
        )
