"""Ingestion into a real warehouse, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import genai_prices
import orjson
import pytest
from sqlalchemy import Engine, func, select

from llmwatch.alerts import list_alerts
from llmwatch.ingest import ingest_paths
from llmwatch.ingest import writer as writer_module
from llmwatch.settings import IngestSettings, PriceOverride, Settings
from llmwatch.warehouse.models import IngestedFile, IngestReject, Request, UserSignal

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SAMPLE = EXAMPLES / "sample"


def record(i: int, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "request_id": f"r{i}",
        "timestamp": f"2026-11-01T10:{i % 60:02d}:00Z",
        "feature_id": "chat",
        "model_id": "gpt-4o-mini-2024-07-18",
        "provider": "openai",
        "latency_ms": 100 + i,
        "input_tokens": 1000 + i,
        "output_tokens": 50,
    }
    base.update(changes)
    return base


def write_jsonl(path: Path, records: list[dict[str, object]], extra: list[bytes] = ()) -> Path:
    lines = [orjson.dumps(r) for r in records] + list(extra)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_shipped_sample_loads_valid_rows_and_rejects_exactly_the_malformed(engine: Engine) -> None:
    expected = json.loads((EXAMPLES / "expected_rejects.json").read_text())
    settings = Settings()
    requests = ingest_paths(
        engine, [SAMPLE / "requests.jsonl", SAMPLE / "otel_traces.json"], settings
    )
    signals = ingest_paths(engine, [SAMPLE / "signals.jsonl.gz"], settings, signals=True)

    with engine.connect() as conn:
        rejects = conn.execute(
            select(IngestReject.path, IngestReject.line_no, IngestReject.reason).order_by(
                IngestReject.path, IngestReject.line_no
            )
        ).all()
    got = [(Path(p).name, n) for p, n, _ in rejects]
    assert sorted(got) == sorted((e["file"], e["line"]) for e in expected)
    reasons = {(Path(p).name, n): why for p, n, why in rejects}
    for e in expected:
        assert e["reason"] in reasons[(e["file"], e["line"])]

    assert requests.total("loaded") == 3000 + 40
    assert requests.total("rejected") == 8
    assert requests.total("skipped") == 40  # the HTTP spans of the OTel export
    assert signals.total("rejected") == 1
    assert count(engine, Request) == 3040
    assert count(engine, UserSignal) == signals.total("loaded") > 1000

    again = ingest_paths(engine, [SAMPLE], settings)
    assert again.files_skipped == 3  # by fingerprint, whatever the kind
    assert again.total("loaded") == 0
    assert count(engine, Request) == 3040
    assert count(engine, IngestReject) == 9

    with engine.connect() as conn:
        alerts = list_alerts(conn)
    assert {a["kind"] for a in alerts} == {"ingest_rejects"}
    assert len(alerts) == 2  # one per file with rejects


def test_idempotent_by_request_id_across_files(engine: Engine, tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [record(i) for i in range(10)])
    second = write_jsonl(tmp_path / "b.jsonl", [record(i) for i in range(5, 15)] + [record(14)])
    assert ingest_paths(engine, [first], Settings()).total("loaded") == 10
    summary = ingest_paths(engine, [second], Settings())
    assert (summary.total("loaded"), summary.total("duplicates")) == (5, 6)
    assert count(engine, Request) == 15


def test_stored_values_round_trip(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            record(
                1,
                timestamp="2026-11-01T12:30:00+02:00",
                metadata={"k": [1, "x"]},
                input="hé ✓",
                cost_usd=0.5,
            )
        ],
    )
    ingest_paths(engine, [path], Settings())
    with engine.connect() as conn:
        row = conn.execute(select(Request.__table__)).mappings().one()
    assert row["ts"].isoformat() == "2026-11-01T10:30:00+00:00"
    assert row["metadata"] == {"k": [1, "x"]}
    assert row["input"] == "hé ✓"
    assert (row["cost_usd"], row["cost_source"]) == (0.5, "record")


def test_cost_equals_genai_prices_for_openai_and_anthropic_usage(
    engine: Engine, tmp_path: Path
) -> None:
    openai_style = record(
        1, input_tokens=12_000, cached_input_tokens=8_000, output_tokens=900, reasoning_tokens=300
    )
    anthropic_style = record(
        2,
        model_id="claude-3-5-haiku-20241022",
        provider="anthropic",
        input_tokens=None,
        output_tokens=None,
        usage={
            "input_tokens": 1_500,
            "cache_read_input_tokens": 20_000,
            "cache_creation_input_tokens": 4_000,
            "output_tokens": 700,
        },
    )
    anthropic_style = {k: v for k, v in anthropic_style.items() if v is not None}
    path = write_jsonl(tmp_path / "a.jsonl", [openai_style, anthropic_style])
    ingest_paths(engine, [path], Settings())
    with engine.connect() as conn:
        costs = dict(conn.execute(select(Request.request_id, Request.cost_usd)).all())

    ts = datetime(2026, 11, 1, 10, 1, tzinfo=UTC)
    expected_openai = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=12_000, cache_read_tokens=8_000, output_tokens=900),
        "gpt-4o-mini-2024-07-18",
        provider_id="openai",
        genai_request_timestamp=ts,
    ).total_price
    expected_anthropic = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=25_500,
            cache_read_tokens=20_000,
            cache_write_tokens=4_000,
            output_tokens=700,
        ),
        "claude-3-5-haiku-20241022",
        provider_id="anthropic",
        genai_request_timestamp=ts,
    ).total_price
    assert costs["r1"] == pytest.approx(float(expected_openai), rel=1e-12)
    assert costs["r2"] == pytest.approx(float(expected_anthropic), rel=1e-12)
    # By hand, Anthropic's list prices per million: 1,500 uncached input at $0.80,
    # 20,000 cache reads at $0.08, 4,000 cache writes at $1.00, 700 output at $4.00.
    assert costs["r2"] == pytest.approx((1_500 * 0.8 + 20_000 * 0.08 + 4_000 * 1.0 + 700 * 4) / 1e6)


def test_unknown_model_stays_unpriced_and_override_prices_it(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl", [record(1, model_id="acme-llama-70b", provider="self")]
    )
    summary = ingest_paths(engine, [path], Settings())
    assert summary.total("unpriced") == 1
    other = write_jsonl(
        tmp_path / "b.jsonl", [record(2, model_id="acme-llama-70b", cached_input_tokens=1_000)]
    )
    settings = Settings(
        prices={
            "acme-llama-70b": PriceOverride(input_mtok=1.0, output_mtok=2.0, cache_read_mtok=0.5)
        }
    )
    ingest_paths(engine, [other], settings)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Request.request_id, Request.cost_usd)).all())
    assert rows["r1"] is None  # never priced as 0
    # 2 uncached input tokens at $1, 1000 cached at $0.5, 50 output at $2 per million
    assert rows["r2"] == pytest.approx((2 * 1.0 + 1000 * 0.5 + 50 * 2.0) / 1e6)


def test_oversized_and_non_utf8_lines_do_not_stop_the_file(engine: Engine, tmp_path: Path) -> None:
    huge = orjson.dumps(record(99, output="y" * 5000))
    path = write_jsonl(tmp_path / "a.jsonl", [record(1)], extra=[huge, b"\xff\xfe{", b"", b"  "])
    path.write_bytes(path.read_bytes() + orjson.dumps(record(2)) + b"\n")
    settings = Settings(ingest=IngestSettings(max_line_bytes=1000))
    summary = ingest_paths(engine, [path], settings)
    assert summary.total("loaded") == 2
    result = summary.files[0]
    assert result.first_rejects == [
        (2, "line longer than 1000 bytes"),
        (3, "not valid UTF-8 (byte 0)"),
    ]


def test_a_crash_mid_file_commits_nothing_and_a_rerun_loads_everything(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [record(i) for i in range(50)])
    settings = Settings(ingest=IngestSettings(batch_size=10))
    real = writer_module.BulkWriter.insert_requests
    calls = {"n": 0}

    def crash_on_third_batch(self: writer_module.BulkWriter, rows: list) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("warehouse went away")
        return real(self, rows)

    monkeypatch.setattr(writer_module.BulkWriter, "insert_requests", crash_on_third_batch)
    with pytest.raises(ConnectionError):
        ingest_paths(engine, [path], settings)
    assert count(engine, Request) == 0
    assert count(engine, IngestedFile) == 0

    monkeypatch.setattr(writer_module.BulkWriter, "insert_requests", real)
    assert ingest_paths(engine, [path], settings).total("loaded") == 50
    assert count(engine, Request) == 50


def test_missing_path_is_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        ingest_paths(engine, [tmp_path / "nope.jsonl"], Settings())


def test_folder_ingest_skips_recorder_part_files(engine: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_jsonl(inbox / "done.jsonl", [record(1)])
    write_jsonl(inbox / "open.jsonl.part", [record(2)])
    (inbox / "notes.txt").write_text("hello")
    summary = ingest_paths(engine, [inbox], Settings())
    assert [Path(f.path).name for f in summary.files] == ["done.jsonl"]


def test_signal_files_are_recognised_by_name_or_folder(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    (folder / "requests").mkdir(parents=True)
    (folder / "signals" / "2026").mkdir(parents=True)
    write_jsonl(folder / "requests" / "a.jsonl", [record(1), record(2)])
    signal = {"request_id": "r1", "signal_type": "thumbs_up", "timestamp": "2026-11-01T10:00:00Z"}
    write_jsonl(folder / "signals" / "2026" / "b.jsonl", [signal])
    write_jsonl(folder / "user-signals.jsonl", [{**signal, "signal_type": "retry"}])
    summary = ingest_paths(engine, [folder], Settings())
    kinds = {Path(f.path).name: f.kind for f in summary.files}
    assert kinds == {"a.jsonl": "requests", "b.jsonl": "signals", "user-signals.jsonl": "signals"}
    assert summary.total("rejected") == 0
    assert (count(engine, Request), count(engine, UserSignal)) == (2, 2)
    # The folder holding the inbox is not part of the name: only what lies inside it.
    named = tmp_path / "signals-project"
    named.mkdir()
    write_jsonl(named / "r.jsonl", [record(3)])
    assert ingest_paths(engine, [named], Settings()).files[0].kind == "requests"


def test_force_reads_a_file_again_without_doubling_its_bookkeeping(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [record(1), record(2)], extra=[b"{broken"])
    assert ingest_paths(engine, [path], Settings()).total("rejected") == 1
    skipped = ingest_paths(engine, [path], Settings())
    assert skipped.files[0].already_ingested
    assert skipped.files[0].previous_kind == "requests"
    forced = ingest_paths(engine, [path], Settings(), force=True)
    assert not forced.files[0].already_ingested
    assert (forced.total("duplicates"), forced.total("rejected")) == (2, 1)
    assert (count(engine, IngestedFile), count(engine, IngestReject)) == (1, 1)
    assert count(engine, Request) == 2


def test_worker_processes_load_the_same_rows_and_rejects_as_the_thread_path(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmwatch.ingest import parallel

    expected = json.loads((EXAMPLES / "expected_rejects.json").read_text())
    chunks = {"n": 0}
    real_batches = parallel.batches_in_processes

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for rows in real_batches(*args, **kwargs):  # type: ignore[arg-type]
            chunks["n"] += 1
            yield rows

    monkeypatch.setattr(parallel, "batches_in_processes", counting)
    # Every file goes through worker processes, in small chunks so that many are in flight.
    settings = Settings(ingest=IngestSettings(process_min_bytes=0, batch_size=400))
    requests = ingest_paths(engine, [SAMPLE / "requests.jsonl"], settings)
    signals = ingest_paths(engine, [SAMPLE / "signals.jsonl.gz"], settings, signals=True)
    # The process path was taken: 3,008 lines in chunks of 400, plus the signal file's.
    assert chunks["n"] >= 8 + 3

    assert (requests.total("loaded"), requests.total("rejected")) == (3000, 8)
    assert signals.total("rejected") == 1
    assert requests.files[0].lines == 3008
    assert [n for n, _ in requests.files[0].first_rejects] == [
        e["line"] for e in expected if e["file"] == "requests.jsonl"
    ][:5]
    with engine.connect() as conn:
        lines = sorted(conn.execute(select(IngestReject.line_no)).scalars())
        costs = conn.execute(select(func.count()).where(Request.cost_usd.is_not(None))).scalar()
    assert lines == sorted(e["line"] for e in expected)
    assert costs == 3000  # priced in the workers
    assert count(engine, UserSignal) == signals.total("loaded")
    again = ingest_paths(engine, [SAMPLE / "requests.jsonl"], settings)
    assert again.files_skipped == 1
