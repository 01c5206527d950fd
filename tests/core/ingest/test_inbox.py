"""The object-store inbox against moto's S3 server on 127.0.0.1, on both backends:
objects load like local files, each exactly once however many workers list them, and
an object whose worker died or failed is loaded by the next."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from llmwatch.ingest import FileResult, inbox
from llmwatch.pricing import PriceBook
from llmwatch.settings import get_settings
from llmwatch.warehouse import claims
from llmwatch.warehouse.models import (
    IngestedFile,
    IngestReject,
    QuarantinedFile,
    Request,
    UserSignal,
    WorkClaim,
)
from tests.core.ingest.test_loader import count, record
from tests.s3server import S3Server

REPO = str(Path(__file__).resolve().parents[3])


def jsonl(records: list[dict[str, object]], extra: list[bytes] = ()) -> bytes:
    return b"\n".join([orjson.dumps(r) for r in records] + list(extra)) + b"\n"


def put(s3: S3Server, url: str, name: str, body: bytes) -> str:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    s3.client().put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    return f"{url}/{name}"


def load(engine: Engine, url: str, signals: bool = False, owner: str = "w1") -> FileResult:
    cfg = get_settings().ingest
    kind = "signals" if signals else "requests"
    return inbox.ingest_object(engine, url, kind, cfg, PriceBook({}), owner)


def test_objects_load_like_files_with_rejects_signals_and_quarantine(
    engine: Engine, s3_server: S3Server, s3_inbox: str
) -> None:
    bad_line = b'{"request_id": "broken"'
    good = put(
        s3_server, s3_inbox, "day1/requests.jsonl", jsonl([record(1), record(2)], [bad_line])
    )
    signal = {"signal_id": "s1", "request_id": "r1", "signal_type": "thumbs_up",
              "timestamp": "2026-11-01T10:05:00Z"}  # fmt: skip
    put(s3_server, s3_inbox, "signals/a.jsonl.gz", gzip.compress(jsonl([signal])))
    cut = put(s3_server, s3_inbox, "day1/cut.jsonl.gz", gzip.compress(jsonl([record(3)]))[:-12])
    put(s3_server, s3_inbox, "day1/open.jsonl.part", jsonl([record(4)]))

    objects = inbox.list_objects(s3_inbox, get_settings().ingest)
    assert [(o.url.removeprefix(s3_inbox), o.signals) for o in objects] == [
        ("/day1/cut.jsonl.gz", False),
        ("/day1/requests.jsonl", False),
        ("/signals/a.jsonl.gz", True),
    ]
    results = {o.url: load(engine, o.url, o.signals) for o in objects}

    assert (results[good].loaded, results[good].rejected) == (2, 1)
    assert results[cut].quarantined is not None
    assert count(engine, Request) == 2
    assert count(engine, UserSignal) == 1
    with engine.connect() as conn:
        assert conn.execute(select(IngestReject.path)).scalars().all() == [good]
        assert conn.execute(select(QuarantinedFile.path)).scalars().all() == [cut]
        assert good in conn.execute(select(IngestedFile.path)).scalars().all()
    # Loaded (or quarantined) objects are not listed as work again.
    assert inbox.pending(engine, inbox.list_objects(s3_inbox, get_settings().ingest)) == []


def test_two_workers_never_load_the_same_object(
    engine: Engine, s3_server: S3Server, s3_inbox: str
) -> None:
    for n in range(8):
        put(s3_server, s3_inbox, f"f{n}.jsonl", jsonl([record(n * 10 + i) for i in range(5)]))
    cfg = get_settings().ingest
    start = threading.Barrier(2)
    results: dict[str, list[FileResult]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            objects = inbox.list_objects(s3_inbox, cfg)
            start.wait()
            for obj in objects:
                results[name].append(load(engine, obj.url, owner=name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    read = [r.path for rs in results.values() for r in rs if not r.claimed_elsewhere]
    # Every object read by exactly one worker: none downloaded and parsed twice (an
    # 'already ingested' answer would mean a second worker read it again).
    assert sorted(read) == sorted({f"{s3_inbox}/f{n}.jsonl" for n in range(8)})
    assert not any(r.already_ingested for rs in results.values() for r in rs)
    assert count(engine, Request) == 40
    assert count(engine, IngestedFile) == 8


def test_an_object_held_by_a_live_worker_is_left_and_a_dead_ones_taken_over(
    engine: Engine, s3_server: S3Server, s3_inbox: str
) -> None:
    url = put(s3_server, s3_inbox, "f.jsonl", jsonl([record(1)]))
    (obj,) = inbox.list_objects(s3_inbox, get_settings().ingest)
    now = datetime.now(UTC)
    with engine.begin() as conn:  # another worker took it a minute ago, lease 15 min
        assert claims.claim(conn, inbox.SCOPE, [obj.key], "other", timedelta(minutes=15), now)

    assert load(engine, url).claimed_elsewhere
    assert count(engine, Request) == 0

    with engine.begin() as conn:  # it died: its lease runs out
        conn.execute(WorkClaim.__table__.update().values(lease_until=now - timedelta(seconds=1)))
    result = load(engine, url)
    assert (result.claimed_elsewhere, result.loaded) == (False, 1)
    with engine.connect() as conn:
        row = conn.execute(select(WorkClaim.owner, WorkClaim.done_at)).one()
    assert row.owner == "w1"
    assert row.done_at is not None


def test_a_download_failing_midway_gives_the_claim_up_and_loads_nothing(
    engine: Engine, s3_server: S3Server, s3_inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = put(s3_server, s3_inbox, "f.jsonl", jsonl([record(i) for i in range(3)]))
    # fsspec caches filesystem instances: the loader gets this very one.
    fs = inbox.filesystem(url, get_settings().ingest)[0]

    def cut_connection(rpath: str, lpath: str, **kwargs: object) -> None:
        with open(lpath, "wb") as handle:  # half the object arrived, then the network went
            handle.write(b'{"request_id": "r0"')
        raise OSError("connection reset by peer")

    with monkeypatch.context() as patch:
        patch.setattr(fs, "get_file", cut_connection)
        with pytest.raises(OSError, match="connection reset"):
            load(engine, url)
    assert count(engine, Request) == 0
    assert count(engine, QuarantinedFile) == 0  # the store's fault, not the object's
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(WorkClaim)).scalar_one() == 0

    assert load(engine, url).loaded == 3


def test_an_object_rewritten_under_its_name_is_new_work(
    engine: Engine, s3_server: S3Server, s3_inbox: str
) -> None:
    cfg = get_settings().ingest
    url = put(s3_server, s3_inbox, "f.jsonl", jsonl([record(1)]))
    load(engine, url)
    put(s3_server, s3_inbox, "f.jsonl", jsonl([record(1), record(2)]))

    (obj,) = inbox.pending(engine, inbox.list_objects(s3_inbox, cfg))
    assert load(engine, obj.url).loaded == 1  # r1 is a duplicate of the stored one
    assert count(engine, Request) == 2


def test_a_missing_prefix_is_one_clear_error(s3_server: S3Server, s3_inbox: str) -> None:
    with pytest.raises(FileNotFoundError, match="no such object or prefix"):
        inbox.list_objects(s3_inbox + "-nothing", get_settings().ingest)


CRASHING_WORKER = """
import sys, time
from pathlib import Path
from llmwatch.ingest import inbox
from llmwatch.pricing import PriceBook
from llmwatch.settings import get_settings
from llmwatch.warehouse import make_engine

def stuck(*args, **kwargs):  # fault injection: the load hangs, then the host dies
    Path(sys.argv[2]).write_text("loading")
    time.sleep(600)

inbox.ingest_file = stuck
settings = get_settings()
engine = make_engine(settings.resolved_warehouse_url())
inbox.ingest_object(engine, sys.argv[1], "requests", settings.ingest, PriceBook({}), "doomed")
"""


def test_a_worker_killed_mid_object_leaves_it_to_the_next_after_the_lease(
    engine: Engine, s3_server: S3Server, s3_inbox: str, tmp_path: Path
) -> None:
    url = put(s3_server, s3_inbox, "f.jsonl", jsonl([record(i) for i in range(4)]))
    marker = tmp_path / "loading"
    env = {**os.environ, "LLMWATCH_INGEST__INBOX_CLAIM_LEASE_SECONDS": "6", "PYTHONPATH": REPO}
    child = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER, url, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the worker exited before loading"
            assert time.monotonic() < deadline, "the worker never started loading"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()

    assert load(engine, url).claimed_elsewhere  # its lease still runs
    time.sleep(6.1)
    assert load(engine, url).loaded == 4
    assert count(engine, Request) == 4
