from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from llmwatch.judge.store import (
    get_watermark,
    select_samples,
    write_judgements,
)
from llmwatch.warehouse.models import Judgement
from tests.core.judge.helpers import T0, insert_requests, request_row

RUBRIC, JUDGE = "v1", "judge-m"


def _select(engine: Engine, **kw):  # type: ignore[no-untyped-def]
    args = {"rubric_version": RUBRIC, "judge_model": JUDGE, "rates": {}, "default_rate": 1.0}
    with engine.connect() as conn:
        return select_samples(conn, **{**args, **kw})


def _row(sample, status: str = "ok", judge: str = JUDGE):  # type: ignore[no-untyped-def]
    return {
        "request_id": sample.request_id,
        "feature_id": sample.feature_id,
        "model_id": sample.model_id,
        "request_ts": sample.ts,
        "rubric_version": RUBRIC,
        "judge_model": judge,
        "status": status,
        "score": 4.0 if status == "ok" else None,
        "judged_at": T0,
    }


def test_selects_sampled_judgeable_unjudged_in_ingest_order(engine: Engine) -> None:
    rows = [
        request_row(
            f"r{i}", ts=T0 + timedelta(minutes=i), ingested_at=T0 + timedelta(minutes=10 - i)
        )
        for i in range(6)
    ]
    rows.append(request_row("err", ts=T0, error="boom", output=None))
    rows.append(request_row("nooutput", ts=T0, output=None))
    insert_requests(engine, rows)
    selection = _select(engine)
    assert [s.request_id for s in selection.samples] == [f"r{i}" for i in reversed(range(6))]
    assert selection.unjudgeable == 2
    assert selection.samples[0].output == "Open settings and choose reset."
    assert selection.mode == "watermark"


def test_per_feature_rate(engine: Engine) -> None:
    insert_requests(
        engine,
        [request_row(f"a{i}", ts=T0, feature_id="a") for i in range(200)]
        + [request_row(f"b{i}", ts=T0, feature_id="b") for i in range(200)],
    )
    selection = _select(engine, rates={"a": 0.0}, default_rate=0.5)
    features = {s.feature_id for s in selection.samples}
    assert features == {"b"}
    assert 70 < len(selection.samples) < 130


def test_write_is_idempotent_and_watermark_moves_forward_only(engine: Engine) -> None:
    insert_requests(engine, [request_row(f"r{i}", ts=T0 + timedelta(minutes=i)) for i in range(4)])
    selection = _select(engine)
    rows = [_row(s) for s in selection.samples[:3]]
    mark = selection.watermark_after({0, 1, 2})
    assert mark == selection.samples[2].ingested_at
    with engine.begin() as conn:
        assert write_judgements(conn, rows, mark, T0) == 3
    with engine.begin() as conn:
        # An overlapping run stored the same judgements: nothing doubles.
        assert write_judgements(conn, rows[:2], T0 - timedelta(days=1), T0) == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Judgement)).scalar_one() == 3
        assert get_watermark(conn) == mark

    again = _select(engine, lookback=timedelta(0))
    assert [s.request_id for s in again.samples] == ["r3"]
    # With a look-back the judged ones are scanned again but skipped.
    looked_back = _select(engine, lookback=timedelta(hours=1))
    assert [s.request_id for s in looked_back.samples] == ["r3"]
    assert looked_back.already_judged == 3


def test_other_judge_model_judges_again(engine: Engine) -> None:
    insert_requests(engine, [request_row("r0", ts=T0)])
    selection = _select(engine)
    with engine.begin() as conn:
        write_judgements(conn, [_row(selection.samples[0], judge="other")], None, T0)
    assert len(_select(engine).samples) == 1


def test_watermark_stops_before_the_first_unsettled_sample(engine: Engine) -> None:
    same = T0 + timedelta(minutes=5)
    insert_requests(
        engine,
        [
            request_row("a", ts=T0, ingested_at=T0 + timedelta(minutes=1)),
            request_row("b", ts=T0, ingested_at=same),
            request_row("c", ts=T0, ingested_at=same),
            request_row("d", ts=T0, ingested_at=T0 + timedelta(minutes=9)),
        ],
    )
    selection = _select(engine)
    ids = [s.request_id for s in selection.samples]
    assert ids == ["a", "b", "c", "d"]
    # b settled, c not: both share an ingested_at, so the mark stays before them.
    assert selection.watermark_after({0, 1}) == T0 + timedelta(minutes=1)
    assert selection.watermark_after({1, 2, 3}) is None
    assert selection.watermark_after({0, 1, 2, 3}) == T0 + timedelta(minutes=9)


def test_limit_stops_the_scan_at_an_ingest_boundary(engine: Engine) -> None:
    batch = T0 + timedelta(minutes=5)
    insert_requests(
        engine,
        [request_row("a", ts=T0, ingested_at=T0)]
        + [request_row(f"b{i}", ts=T0, ingested_at=batch) for i in range(3)]
        + [request_row("c", ts=T0, ingested_at=batch + timedelta(minutes=1))],
    )
    selection = _select(engine, limit=2)
    # The whole batch sharing an ingested_at is taken, so the watermark stays exact.
    assert [s.request_id for s in selection.samples] == ["a", "b0", "b1", "b2"]
    assert selection.truncated
    assert selection.watermark_after(range(4)) == batch


def test_range_mode_selects_by_request_time_and_has_no_watermark(engine: Engine) -> None:
    insert_requests(engine, [request_row(f"r{i}", ts=T0 + timedelta(hours=i)) for i in range(5)])
    selection = _select(engine, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3))
    assert [s.request_id for s in selection.samples] == ["r1", "r2"]
    assert selection.watermark_after({0, 1}) is None
