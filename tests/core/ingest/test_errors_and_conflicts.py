"""Failed calls count and conflicting duplicates are told apart (issue 16.3)."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, select

from llmwatch.alerts import list_alerts
from llmwatch.ingest import ingest_paths
from llmwatch.settings import Settings
from llmwatch.warehouse.models import IngestedFile, Request
from tests.core.ingest.test_hostile_input import attr, genai_span, otlp_document
from tests.core.ingest.test_loader import record, write_jsonl


def test_an_error_span_without_usage_is_a_failed_request_with_unknown_cost(
    engine: Engine, tmp_path: Path
) -> None:
    failed = genai_span(
        "s2",
        attributes=[a for a in genai_span()["attributes"] if "usage" not in a["key"]]
        + [attr("error.type", {"stringValue": "timeout"})],
        status={"code": 2},
    )
    path = tmp_path / "spans.json"
    path.write_bytes(orjson.dumps(otlp_document([genai_span("s1"), failed])))

    result = ingest_paths(engine, [path], Settings()).files[0]

    assert (result.loaded, result.rejected, result.unpriced) == (2, 0, 1)
    with engine.connect() as conn:
        row = (
            conn.execute(select(Request.__table__).where(Request.request_id == "t1:s2"))
            .mappings()
            .one()
        )
    assert row["error"] == "timeout"
    assert (row["input_tokens"], row["output_tokens"]) == (0, 0)
    assert (row["cost_usd"], row["cost_source"]) == (None, None)  # unknown, not 0
    assert row["metadata"]["usage"] == "missing"


def test_a_successful_span_without_usage_is_still_rejected(engine: Engine, tmp_path: Path) -> None:
    no_usage = genai_span(
        "s2", attributes=[a for a in genai_span()["attributes"] if "usage" not in a["key"]]
    )
    path = tmp_path / "spans.json"
    path.write_bytes(orjson.dumps(otlp_document([no_usage])))
    assert ingest_paths(engine, [path], Settings()).files[0].rejected == 1


def test_conflicting_duplicates_are_counted_apart_from_identical_ones(
    engine: Engine, tmp_path: Path
) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [record(1), record(2), record(3, cost_usd=0.5)])
    ingest_paths(engine, [first], Settings())
    second = write_jsonl(
        tmp_path / "b.jsonl",
        [
            record(1),  # a re-send: identical
            record(2, output="a different answer"),  # conflict
            record(3, cost_usd=0.7),  # conflict: the producer's own cost differs
            record(4),
            record(4),  # identical within the file
            record(5),
            record(5, latency_ms=1),  # conflict within the file
        ],
    )
    result = ingest_paths(engine, [second], Settings()).files[0]

    assert (result.loaded, result.duplicates, result.conflicts) == (2, 2, 3)
    assert sorted(result.first_conflicts) == ["r2", "r3", "r5"]
    with engine.connect() as conn:
        stored = conn.execute(select(Request.output).where(Request.request_id == "r2")).scalar()
        files = dict(conn.execute(select(IngestedFile.path, IngestedFile.conflicts)).all())
        alerts = [a for a in list_alerts(conn) if a["metric"] == "conflicting_duplicates"]
    assert stored is None  # the first one stays
    assert files[str(second)] == 3
    assert len(alerts) == 1
    assert alerts[0]["value"] == 3
    assert "r2" in alerts[0]["message"]
