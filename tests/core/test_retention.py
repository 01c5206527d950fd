"""Retention deletes raw rows and blanks texts past their ages, in batches, on both
backends; aggregates stay, and a window past the horizon is never recomputed from the
rows that are left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, insert, select

from llmwatch.aggregation import read_window, run_window
from llmwatch.retention import WindowRetainedError, apply_retention, read_raw_horizon
from llmwatch.settings import CostSettings, RetentionSettings
from llmwatch.warehouse.models import IngestReject, Judgement, Request, UserSignal
from tests.core.aggregation.traffic import insert_rows, request, signal

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
AGES_DAYS = (1, 10, 45, 100, 200)  # two rows of each age


def judgement(request_id: str, ts: datetime) -> dict[str, Any]:
    return {
        "request_id": request_id, "feature_id": "chat", "model_id": "m1", "request_ts": ts,
        "rubric_version": "v1", "judge_model": "judge", "status": "ok", "score": 4.0,
        "reasons": "quotes the answer", "raw_response": '{"score": 4}', "judged_at": ts,
    }  # fmt: skip


def reject(n: int, ts: datetime) -> dict[str, Any]:
    return {"file_fingerprint": "f" * 64, "path": "in.jsonl", "line_no": n,
            "reason": "bad", "excerpt": "user text", "created_at": ts}  # fmt: skip


@pytest.fixture
def aged(engine: Engine) -> Engine:
    requests, signals = [], []
    for age in AGES_DAYS:
        for k in range(2):
            ts = NOW - timedelta(days=age, minutes=k)
            rid = f"r{age}-{k}"
            requests.append(request(rid, ts, input="question", output="answer", context="doc"))
            signals.append(signal(rid, "thumbs_up", ts))
    insert_rows(engine, requests, signals)
    with engine.begin() as conn:
        conn.execute(insert(Judgement.__table__), [judgement(r["request_id"], r["ts"])
                                                   for r in requests])  # fmt: skip
        rejects = [reject(n, NOW - timedelta(days=age)) for n, age in enumerate(AGES_DAYS)]
        conn.execute(insert(IngestReject.__table__), rejects)
    return engine


def count(engine: Engine, column: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(column)).where(*where)).scalar_one())


def test_old_rows_go_texts_blank_aggregates_stay(aged: Engine) -> None:
    result = apply_retention(aged, keep_raw_days=90, keep_text_days=30, now=NOW, batch_size=3)

    assert result.requests_deleted == 4  # ages 100 and 200
    assert result.signals_deleted == 4
    assert result.requests_blanked == 6  # ages 45, 100, 200: blanked before deletion
    assert result.judgements_blanked == 6
    assert result.rejects_deleted == 3
    assert count(aged, Request.request_id) == 6
    assert count(aged, UserSignal.signal_id) == 6
    assert count(aged, Request.request_id, Request.input.isnot(None)) == 4  # ages 1 and 10
    assert count(aged, Request.request_id, Request.output.isnot(None)) == 4
    assert count(aged, Request.request_id, Request.context.isnot(None)) == 4
    # judgements keep their scores, whatever their age; only their texts go
    assert count(aged, Judgement.score) == 10
    assert count(aged, Judgement.reasons) == 4
    assert count(aged, Judgement.raw_response) == 4
    assert count(aged, IngestReject.id) == 2
    with aged.connect() as conn:
        assert read_raw_horizon(conn) == NOW - timedelta(days=90)


def test_a_second_pass_has_nothing_left_to_do(aged: Engine) -> None:
    apply_retention(aged, keep_raw_days=90, keep_text_days=30, now=NOW)
    again = apply_retention(aged, keep_raw_days=90, keep_text_days=30, now=NOW)
    assert again.requests_deleted == again.requests_blanked == again.rejects_deleted == 0


def test_dry_run_counts_and_changes_nothing(aged: Engine) -> None:
    result = apply_retention(aged, keep_raw_days=90, keep_text_days=30, now=NOW, dry_run=True)
    assert (result.requests_deleted, result.requests_blanked) == (4, 6)
    assert "would delete 4 request(s)" in result.describe()
    assert count(aged, Request.request_id) == 10
    assert count(aged, Request.request_id, Request.input.isnot(None)) == 10
    with aged.connect() as conn:
        assert read_raw_horizon(conn) is None


def test_none_keeps_forever(aged: Engine) -> None:
    result = apply_retention(aged, keep_raw_days=None, keep_text_days=None, now=NOW)
    assert result.requests_deleted == result.requests_blanked == 0
    assert count(aged, Request.request_id, Request.input.isnot(None)) == 10


def test_a_window_before_the_horizon_keeps_its_metrics(engine: Engine) -> None:
    window = (NOW - timedelta(days=100)).replace(minute=0)
    insert_rows(engine, [request(f"w{k}", window + timedelta(minutes=k)) for k in range(5)])
    run_window(engine, window, CostSettings())
    apply_retention(engine, keep_raw_days=90, keep_text_days=30, now=NOW)
    # re-aggregating would replace 5 counted requests by the 0 rows left
    with pytest.raises(WindowRetainedError, match="retention horizon"):
        run_window(engine, window, CostSettings())
    with engine.connect() as conn:
        assert read_window(conn, window)[0]["request_count"] == 5
    recent = (NOW - timedelta(days=1)).replace(minute=0)
    run_window(engine, recent, CostSettings())  # windows after the horizon still aggregate


def test_text_age_cannot_exceed_raw_age() -> None:
    with pytest.raises(ValidationError, match="keep_text_days"):
        RetentionSettings(keep_raw_days=30, keep_text_days=60)
    with pytest.raises(ValidationError, match="keep_text_days"):
        RetentionSettings(keep_raw_days=30, keep_text_days=None)
    RetentionSettings(keep_raw_days=None, keep_text_days=None)
    with pytest.raises(ValueError, match="positive"):
        apply_retention(None, keep_raw_days=0, keep_text_days=None)  # type: ignore[arg-type]
