"""Cardinality guard (issue 16.8): a window keeps at most the cap of distinct features
and models; the tail is one `__other__` row with its own exact percentiles, an alert
says so, and the exporter keeps to the same cap."""

from __future__ import annotations

import math
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from llmwatch.aggregation import aggregate_window, run_window
from llmwatch.alerts import list_alerts
from llmwatch.exporter.collector import WarehouseCollector
from llmwatch.settings import CostSettings
from tests.core.aggregation.traffic import BASE_TIME, insert_rows, request

CAP = 5


def traffic(engine: Engine) -> list[dict]:
    """30 features: feature f00 has 30 requests, f01 29 ... f29 one; two models, one of
    them with 20 ids of its own."""
    rows = []
    for f in range(30):
        for i in range(30 - f):
            model = f"m{i % 2}" if f < 10 else f"rare-{f % 20}"
            ts = BASE_TIME + timedelta(seconds=f * 60 + i)
            rows.append(request(f"r{f}-{i}", ts, f"f{f:02d}", model, latency_ms=float(f * 100 + i)))
    insert_rows(engine, rows)
    return rows


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


def test_the_tail_is_folded_into_one_row_with_exact_metrics(engine: Engine) -> None:
    rows = traffic(engine)
    settings = CostSettings(max_distinct_per_window=CAP)
    with engine.connect() as conn:
        window = aggregate_window(conn, BASE_TIME, settings)

    features = {r["feature_id"] for r in window}
    models = {r["model_id"] for r in window}
    assert features == {"f00", "f01", "f02", "f03", "__other__"}
    assert len(models) <= CAP
    assert "__other__" in models
    assert sum(r["request_count"] for r in window) == len(rows)  # nothing lost
    other = [r for r in rows if r["feature_id"] not in features]
    folded = [r for r in window if r["feature_id"] == "__other__"]
    assert sum(r["request_count"] for r in folded) == len(other)
    (tail,) = [r for r in folded if r["model_id"] == "__other__"]
    tail_latencies = [r["latency_ms"] for r in other if r["model_id"] not in models]
    assert tail["latency_p99_ms"] == nearest_rank(tail_latencies, 0.99)


def test_under_the_cap_nothing_changes(engine: Engine) -> None:
    traffic(engine)
    with engine.connect() as conn:
        window = aggregate_window(conn, BASE_TIME, CostSettings())
    assert len({r["feature_id"] for r in window}) == 30
    assert "__other__" not in {r["model_id"] for r in window}


def test_folding_raises_one_alert_per_dimension_and_the_exporter_keeps_the_cap(
    engine: Engine,
) -> None:
    rows = traffic(engine)
    settings = CostSettings(max_distinct_per_window=CAP)
    result = run_window(engine, BASE_TIME, settings)
    run_window(engine, BASE_TIME, settings)  # a re-run does not alert again

    with engine.connect() as conn:
        alerts = [a for a in list_alerts(conn) if a["metric"].startswith("folded_")]
    assert sorted(a["metric"] for a in alerts) == ["folded_features", "folded_models"]
    (features_alert,) = [a for a in alerts if a["metric"] == "folded_features"]
    assert features_alert["value"] == 30 - (CAP - 1)
    assert {a.metric for a in result.alerts} >= {"folded_features", "folded_models"}

    # A second window with other busy features: the exporter's own cap over all windows.
    later = BASE_TIME + timedelta(hours=1)
    insert_rows(
        engine,
        [request(f"z{f}-{i}", later, f"z{f:02d}", "m0") for f in range(8) for i in range(50)],
    )
    run_window(engine, later, settings)
    families = list(text_string_to_metric_families(_render(engine)))
    features = {s.labels["feature"] for f in families for s in f.samples if "feature" in s.labels}
    models = {s.labels["model"] for f in families for s in f.samples if "model" in s.labels}
    assert len(features - {""}) <= CAP
    assert len(models - {""}) <= CAP
    assert "__other__" in features
    requests = sum(
        s.value for f in families if f.name == "llm_requests" for s in f.samples
        if s.name == "llm_requests_total"
    )  # fmt: skip
    assert requests == len(rows) + 400


def _render(engine: Engine) -> str:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(engine, max_distinct=CAP))
    return generate_latest(registry).decode()
