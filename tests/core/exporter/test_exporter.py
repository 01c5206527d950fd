"""The Prometheus exporter over generated traffic, aggregated and alerted, on both backends."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, delete, insert, select

from llmwatch.aggregation import run_window
from llmwatch.alerts import NewAlert, record_alerts
from llmwatch.exporter import render, start_exporter, write_textfile
from llmwatch.settings import CostSettings, SloSettings
from llmwatch.slo.evaluate import evaluate_slos
from llmwatch.warehouse.models import Alert, ChartPoint, ChartState, SloStatus, WindowMetrics
from tests.core.compare.traffic import EQUAL, START, ingest_canary_traffic

HOURS = 4


@pytest.fixture
def aggregated(engine: Engine, tmp_path: Path) -> Engine:
    ingest_canary_traffic(engine, tmp_path / "traffic", requests_per_day=3000)
    for hour in range(10, 10 + HOURS):
        run_window(engine, START + timedelta(hours=hour), CostSettings())
    # A tight TTFT SLO, so the burn-rate evaluation raises slo_breach alerts.
    evaluate_slos(engine, SloSettings(ttft_ms=200.0), START + timedelta(hours=10 + HOURS))
    with engine.begin() as conn:
        # The canary stopped an hour earlier: its latest window is not the others'.
        conn.execute(
            delete(WindowMetrics).where(
                WindowMetrics.model_id == EQUAL,
                WindowMetrics.window_start == START + timedelta(hours=10 + HOURS - 1),
            )
        )
        record_alerts(
            conn,
            [
                NewAlert(
                    kind="input_drift",
                    flow="drift-report",
                    message="drift",
                    severity="info",
                    window_start=START,
                    window_end=START + timedelta(days=1),
                )
            ],
            cooldown=timedelta(0),
        )
    return engine


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def _expected(engine: Engine) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The same figures computed in Python from the warehouse rows."""
    with engine.connect() as conn:
        windows = [dict(r) for r in conn.execute(select(WindowMetrics.__table__)).mappings()]
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for w in windows:
        labels = {"feature": w["feature_id"], "model": w["model_id"]}
        expected[_key("llm_requests_total", **labels, status="error")] += w["error_count"]
        expected[_key("llm_requests_total", **labels, status="success")] += (
            w["request_count"] - w["error_count"]
        )
        expected[_key("llm_tokens_total", **labels, type="input")] += w["input_tokens_sum"]
        expected[_key("llm_tokens_total", **labels, type="output")] += w["output_tokens_sum"]
        expected[_key("llm_cost_usd_total", **labels)] += w["cost_total_usd"]
        series = (w["feature_id"], w["model_id"])
        if series not in latest or w["window_start"] > latest[series]["window_start"]:
            latest[series] = w
    for (feature, model), w in latest.items():
        labels = {"feature": feature, "model": model}
        for q, column in (("0.5", "latency_p50_ms"), ("0.95", "latency_p95_ms")):
            expected[_key("llm_request_duration_seconds", **labels, quantile=q)] = w[column] / 1000
        expected[_key("llm_time_to_first_token_seconds", **labels, quantile="0.95")] = (
            w["ttft_p95_ms"] / 1000
        )
        expected[_key("llm_window_requests", **labels)] = w["request_count"]
        expected[_key("llm_window_error_ratio", **labels)] = w["error_rate"]
        expected[_key("llm_window_cost_usd", **labels)] = w["cost_total_usd"]
        expected[_key("llm_window_start_timestamp_seconds", **labels)] = w[
            "window_start"
        ].timestamp()
    return expected


def test_exported_values_match_the_warehouse(aggregated: Engine) -> None:
    text = render(aggregated)
    samples = _samples(text)
    expected = _expected(aggregated)
    assert len(expected) == 3 * 12  # three models, twelve series each
    for key, value in expected.items():
        assert key in samples, key
        assert samples[key] == pytest.approx(value, rel=1e-9), key
    # The canary's latest window is the one before the others'.
    canary_start = _key("llm_window_start_timestamp_seconds", feature="support_chat", model=EQUAL)
    others = [v for k, v in samples.items() if k[0] == canary_start[0] and k != canary_start]
    assert samples[canary_start] == min(others) - 3600
    # Alerts by kind and severity (summed over feature and model).
    by_kind: dict[tuple[str, str], float] = defaultdict(float)
    for (name, labels), value in samples.items():
        if name == "llm_alerts_total":
            d = dict(labels)
            by_kind[(d["kind"], d["severity"])] += value
    with aggregated.connect() as conn:
        stored = conn.execute(select(Alert.kind, Alert.severity)).all()
    assert sum(by_kind.values()) == len(stored)
    assert by_kind[("input_drift", "info")] == 1
    assert by_kind[("slo_breach", "warning")] + by_kind[("slo_breach", "critical")] >= 1
    # SLO status: remaining budget and burn rates as stored by the last evaluation.
    with aggregated.connect() as conn:
        status = conn.execute(select(SloStatus.__table__)).mappings().all()
    assert status
    for row in status:
        slo = {"feature": row["feature_id"], "slo": row["slo"]}
        assert samples[_key("llm_slo_objective", **slo)] == row["objective"]
        if row["remaining_budget"] is not None:
            remaining = samples[_key("llm_slo_error_budget_remaining", **slo)]
            assert remaining == pytest.approx(row["remaining_budget"])
        for window, value in row["burn_rates"].items():
            if value is not None:
                burn = samples[_key("llm_slo_burn_rate", window=window, **slo)]
                assert burn == pytest.approx(value)
        paging = samples[_key("llm_slo_alerting", rule="page", **slo)]
        assert paging == float(row["paging"])
    assert any(row["paging"] for row in status if row["slo"] == "ttft")
    assert "# TYPE llm_requests_total counter" in text
    assert "# TYPE llm_request_duration_seconds gauge" in text


def test_empty_warehouse_exports_no_series(engine: Engine) -> None:
    families = list(text_string_to_metric_families(render(engine)))
    assert {f.name for f in families} >= {"llm_requests", "llm_tokens", "llm_alerts"}
    assert all(not f.samples for f in families)


def test_textfile_is_written_atomically(aggregated: Engine, tmp_path: Path) -> None:
    path = tmp_path / "collector" / "llmwatch.prom"
    write_textfile(aggregated, path)
    assert _samples(path.read_text()) == _samples(render(aggregated))
    assert os.listdir(path.parent) == ["llmwatch.prom"]  # no temporary file left behind


def test_http_exporter_is_scraped(aggregated: Engine) -> None:
    server, thread = start_exporter(aggregated, port=0)
    try:
        port = server.server_address[1]
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        scraped = _samples(response.text)
        assert scraped == _samples(render(aggregated))
        # Each scrape reads the warehouse afresh.
        with aggregated.begin() as conn:
            conn.execute(delete(WindowMetrics))
        again = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        assert not any(name == "llm_requests_total" for name, _ in again)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_quality_charts_export_their_latest_point(engine: Engine) -> None:
    now = START + timedelta(days=2)
    chart_id = "judge_score|rag_qa|v1|sim-judge"
    with engine.begin() as conn:
        conn.execute(
            insert(ChartState),
            [
                {
                    "chart_id": chart_id,
                    "feature_id": "rag_qa",
                    "metric": "judge_score",
                    "lam": 0.1,
                    "limit_l": 2.814,
                    "phase": "monitoring",
                    "mu0": 4.2,
                    "sigma0": 0.3,
                    "z": 3.9,
                    "t": 22,
                    "updated_at": now,
                }
            ],
        )
        conn.execute(
            insert(ChartPoint),
            [
                {
                    "chart_id": chart_id,
                    "window_start": START + timedelta(hours=h),
                    "window_end": START + timedelta(hours=h + 1),
                    "n": 10 + h,
                    "mean": 4.0 - h / 10,
                    "z": 4.1 - h / 100,
                    "lcl": 4.0 if h else None,
                    "ucl": 4.4 if h else None,
                    "signal": h == 2,
                }
                for h in range(3)
            ],
        )
    samples = _samples(render(engine))
    labels = {"feature": "rag_qa", "metric": "judge_score", "chart": chart_id}
    got = {
        stat: samples[_key("llm_quality_chart", **labels, statistic=stat)]
        for stat in ("window_mean", "window_n", "ewma", "lcl", "ucl")
    }
    assert got == pytest.approx(
        {"window_mean": 3.8, "window_n": 12, "ewma": 4.08, "lcl": 4.0, "ucl": 4.4}
    )


def test_the_judges_latest_complete_calibration_run_is_exported(engine: Engine) -> None:
    from llmwatch.judge.calibration import CalibrationOutcome, record_calibration
    from llmwatch.judge.calibration_set import load_calibration_set
    from llmwatch.judge.job import judge_setup
    from llmwatch.judge.runner import JudgeRunReport
    from llmwatch.settings import JudgeCalibrationSettings, Settings

    setup = judge_setup(Settings(judge_base_url="http://127.0.0.1:9/v1", judge_model="j-1"))
    cal = load_calibration_set()
    flip = {"good": "bad", "bad": "good"}
    right = {i.id: i.expected for i in cal.items}
    wrong = {i.id: flip[i.expected] if n % 4 == 0 else i.expected for n, i in enumerate(cal.items)}
    # Baseline, a drifted run, then an incomplete one (not exported: it tested nothing).
    for n, labels in enumerate((right, wrong, {"cal-001-a": "good"})):
        outcome = CalibrationOutcome(dict(labels), JudgeRunReport())
        now = START + timedelta(days=n)
        record_calibration(engine, setup, JudgeCalibrationSettings(), cal, outcome, now=now)
    samples = _samples(render(engine))
    got = {
        stat: samples[_key("llm_judge_calibration", judge_model="j-1", rubric="v1", statistic=stat)]
        for stat in ("accuracy", "kappa", "n", "drifted")
    }
    assert got == pytest.approx({"accuracy": 0.75, "kappa": 0.5, "n": 144, "drifted": 1})
