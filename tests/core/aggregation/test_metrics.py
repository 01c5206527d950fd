from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from llmwatch.aggregation import aggregate_window
from llmwatch.settings import CostSettings
from llmwatch.warehouse.engine import make_engine
from tests.core.aggregation.reference import reference_window
from tests.core.aggregation.traffic import BASE_TIME, generate_traffic, insert_rows, request, signal

W0 = BASE_TIME + timedelta(hours=10)
FLOATY = {"cost_total_usd", "cost_mean_usd"}  # sums of floats: order of addition may differ


def _aggregate(engine: Engine, window_start: Any = W0) -> dict[tuple[str, str], dict[str, Any]]:
    with engine.connect() as conn:
        rows = aggregate_window(conn, window_start, CostSettings())
    return {(r["feature_id"], r["model_id"]): r for r in rows}


def _assert_matches(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name in FLOATY and value is not None:
            assert actual[name] == pytest.approx(value, rel=1e-12), name
        else:
            assert actual[name] == value, name


def test_window_matches_reference_on_generated_traffic(engine: Engine) -> None:
    requests, signals = generate_traffic(days=1, per_hour=60)
    insert_rows(engine, requests, signals)
    for window in (W0, W0 + timedelta(hours=5)):
        got = _aggregate(engine, window)
        expected = reference_window(requests, signals, window)
        assert set(got) == set(expected)
        for key, exp in expected.items():
            _assert_matches(got[key], exp)
            assert got[key]["window_start"] == window
            assert got[key]["window_end"] == window + timedelta(hours=1)


def test_percentiles_on_ties_tiny_windows_and_nulls(engine: Engine) -> None:
    rng = random.Random(3)
    requests = []
    # one request; two; heavy ties; ttft mostly missing; 101 values (p99 on an odd count)
    shapes = {
        "one": [250.0],
        "two": [300.0, 100.0],
        "ties": [5.0] * 40 + [7.0] * 40 + [9.0] * 20,
        "many": [rng.choice([1.0, 2.0, 3.5, 1000.0]) for _ in range(101)],
    }
    for feature, latencies in shapes.items():
        for i, lat in enumerate(latencies):
            ttft = lat / 2 if i % 3 == 0 else None
            requests.append(
                request(
                    f"{feature}-{i}", W0 + timedelta(seconds=i), feature, "m", lat, ttft_ms=ttft
                )
            )
    insert_rows(engine, requests)
    got = _aggregate(engine)
    expected = reference_window(requests, [], W0)
    for key, exp in expected.items():
        _assert_matches(got[key], exp)
    assert got[("one", "m")]["latency_p99_ms"] == 250.0
    assert got[("two", "m")]["latency_p50_ms"] == 100.0  # ceil(0.5 * 2) = 1st value
    assert got[("two", "m")]["latency_p95_ms"] == 300.0
    assert got[("ties", "m")]["latency_p50_ms"] == 7.0  # 40 % are 5, 80 % are <= 7
    assert got[("ties", "m")]["latency_p95_ms"] == 9.0
    assert got[("two", "m")]["ttft_p95_ms"] == 150.0  # only the first request has a TTFT


def test_window_bounds_are_half_open(engine: Engine) -> None:
    end = W0 + timedelta(hours=1)
    insert_rows(
        engine,
        [
            request("before", W0 - timedelta(microseconds=1)),
            request("first", W0),
            request("last", end - timedelta(microseconds=1)),
            request("next", end),
        ],
    )
    assert _aggregate(engine)[("chat", "m1")]["request_count"] == 2


def test_unpriced_requests_are_counted_not_free(engine: Engine) -> None:
    insert_rows(
        engine,
        [
            request("a", W0, cost_usd=0.004),
            request("b", W0, cost_usd=None),
            request("c", W0, cost_usd=0.002),
            request("x", W0, "other", cost_usd=None),
        ],
    )
    got = _aggregate(engine)
    priced = got[("chat", "m1")]
    assert priced["unpriced_count"] == 1
    assert priced["cost_total_usd"] == pytest.approx(0.006)
    assert priced["cost_mean_usd"] == pytest.approx(0.003)  # not 0.006 / 3
    unpriced = got[("other", "m1")]
    assert unpriced["unpriced_count"] == 1
    assert unpriced["cost_total_usd"] is None
    assert unpriced["cost_mean_usd"] is None


def test_user_signals_count_each_request_once(engine: Engine) -> None:
    requests = [request(f"r{i}", W0 + timedelta(minutes=i)) for i in range(10)]
    late = W0 + timedelta(days=2)  # a signal arriving later still belongs to its request
    signals = [
        signal("r0", "thumbs_up", late),
        signal("r0", "thumbs_up", late, n=1),  # double click
        signal("r1", "thumbs_up", late),
        signal("r2", "thumbs_down", late),
        signal("r3", "abandoned", late),
        signal("r4", "abandoned", late),
        signal("r4", "retry", late),
        signal("r5", "correction", late),
        signal("r6", "follow_up", late),
        signal("elsewhere", "thumbs_down", late),
    ]
    insert_rows(engine, requests, signals)
    row = _aggregate(engine)[("chat", "m1")]
    assert row["explicit_feedback_count"] == 3
    assert row["explicit_positive_rate"] == pytest.approx(2 / 3)
    assert row["explicit_feedback_coverage"] == pytest.approx(0.3)
    assert row["abandonment_rate"] == pytest.approx(0.2)
    assert row["retry_rate"] == pytest.approx(0.1)
    assert row["correction_rate"] == pytest.approx(0.1)
    assert row["follow_up_rate"] == pytest.approx(0.1)
    assert row["survivorship_bias"] is False


def test_no_feedback_means_no_positive_rate(engine: Engine) -> None:
    insert_rows(engine, [request("a", W0)])
    row = _aggregate(engine)[("chat", "m1")]
    assert row["explicit_positive_rate"] is None
    assert row["explicit_feedback_coverage"] == 0.0


def test_error_and_refusal_rates(engine: Engine) -> None:
    insert_rows(
        engine,
        [
            request("ok", W0),
            request("err", W0, error="timeout", finish_reason=None),
            request("err2", W0, finish_reason="error"),
            request("ref", W0, finish_reason="refusal"),
            request("filt", W0, finish_reason="content_filter"),
        ],
    )
    row = _aggregate(engine)[("chat", "m1")]
    assert (row["error_count"], row["refusal_count"]) == (2, 2)
    assert row["error_rate"] == pytest.approx(0.4)


def test_empty_window_has_no_rows(engine: Engine) -> None:
    assert _aggregate(engine) == {}


def test_window_start_must_be_on_the_hour(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="on the hour"):
        aggregate_window(conn, W0 + timedelta(minutes=5), CostSettings())


def test_same_numbers_on_sqlite_and_postgresql(
    sqlite_template: Path, postgres_database: str, tmp_path: Path
) -> None:
    """Both warehouses, one data set, identical rows (float sums to the last few ulps)."""
    import shutil

    from tests.conftest import _truncate_all

    rng = random.Random(11)
    requests = [
        request(
            f"r{i}",
            W0 + timedelta(seconds=rng.uniform(0, 3599)),
            rng.choice(["a", "b"]),
            rng.choice(["m1", "m2"]),
            float(rng.choice([10, 20, 20, 30, rng.randint(1, 5000)])),
            ttft_ms=None if rng.random() < 0.3 else float(rng.randint(1, 50)),
            cost_usd=None if rng.random() < 0.1 else rng.uniform(0, 0.01),
        )
        for i in range(700)
    ]
    signals = [
        signal(f"r{i}", rng.choice(["thumbs_up", "thumbs_down", "abandoned"]), W0)
        for i in range(0, 700, 3)
    ]
    path = tmp_path / "both.db"
    shutil.copy(sqlite_template, path)
    _truncate_all(postgres_database)
    results = []
    for url in (f"sqlite:///{path}", postgres_database):
        engine = make_engine(url)
        insert_rows(engine, requests, signals)
        results.append(_aggregate(engine))
        engine.dispose()
    on_sqlite, on_postgres = results
    assert set(on_sqlite) == set(on_postgres)
    for key, row in on_sqlite.items():
        other = on_postgres[key]
        for name, value in row.items():
            if name == "computed_at":
                continue
            if name in FLOATY and value is not None:
                assert other[name] == pytest.approx(value, rel=1e-12), name
            else:
                assert other[name] == value, (key, name)


def test_streamed_sqlite_percentiles_equal_the_pure_sql_statement(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The job's streamed SQLite path and the single window-function query agree."""
    import shutil

    from sqlalchemy import text

    from llmwatch.aggregation.queries import percentile_column_names, sqlite_window_sql

    path = tmp_path / "w.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    requests, signals = generate_traffic(days=1, per_hour=80, seed=3)
    insert_rows(engine, requests, signals)
    rows = _aggregate(engine)
    with engine.connect() as conn:
        sql = conn.execute(
            text(sqlite_window_sql()),
            {"start": "2026-03-02 10:00:00.000000", "end": "2026-03-02 11:00:00.000000"},
        ).mappings()
        pure = {(r["feature_id"], r["model_id"]): r for r in sql}
    engine.dispose()
    assert set(pure) == set(rows)
    names = [*percentile_column_names(), "request_count", "error_count", "input_tokens_sum"]
    for key, row in pure.items():
        for name in names:
            assert rows[key][name] == row[name], (key, name)
