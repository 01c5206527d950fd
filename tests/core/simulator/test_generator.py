"""Generated traffic: SPEC 3.1/3.2 format, determinism, load shape, and every incident."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np
import pytest

from llmwatch.simulator import Scenario
from llmwatch.simulator.quality import judge_verdict
from llmwatch.simulator.traffic import generate_traffic
from llmwatch.simulator.writer import generate, iter_records, write_traffic
from tests.core.simulator.conftest import GPT4O, HAIKU, MINI

SIGNAL_TYPES = {"thumbs_up", "thumbs_down", "correction", "follow_up", "retry", "abandoned"}
INT_FIELDS = ("input_tokens", "output_tokens")
OPTIONAL_INT_FIELDS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
STRING_FIELDS = ("provider", "finish_reason", "session_id", "user_segment", "prompt_template_id")
TEXT_FIELDS = ("input", "output", "context")
KNOWN_FIELDS = {
    "request_id",
    "timestamp",
    "feature_id",
    "model_id",
    "latency_ms",
    "ttft_ms",
    "cost_usd",
    "error",
    "metadata",
    *INT_FIELDS,
    *OPTIONAL_INT_FIELDS,
    *STRING_FIELDS,
    *TEXT_FIELDS,
}


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    return parsed.astimezone(UTC)


def spec_violations(record: dict[str, Any]) -> list[str]:
    """Why ``record`` breaks the SPEC 3.1 field rules (empty when it does not)."""
    problems = [f"unknown field {k}" for k in record if k not in KNOWN_FIELDS]
    for key in ("request_id", "feature_id", "model_id"):
        if not isinstance(record.get(key), str) or not record[key]:
            problems.append(f"{key} missing or not a string")
    try:
        parse_time(record["timestamp"])
    except (KeyError, ValueError, AttributeError, AssertionError):
        problems.append("timestamp")
    for key in ("latency_ms", "ttft_ms", "cost_usd"):
        value = record.get(key, 0 if key != "latency_ms" else None)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"{key}={value!r}")
    for key in INT_FIELDS + OPTIONAL_INT_FIELDS:
        value = record.get(key, 0 if key in OPTIONAL_INT_FIELDS else None)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{key}={value!r}")
    for key in STRING_FIELDS + TEXT_FIELDS:
        if key in record and not isinstance(record[key], str):
            problems.append(f"{key} not a string")
    if record.get("error") is not None and not isinstance(record["error"], str):
        problems.append("error")
    if not isinstance(record.get("metadata", {}), dict):
        problems.append("metadata")
    cached = record.get("cached_input_tokens", 0) + record.get("cache_write_tokens", 0)
    if cached > record.get("input_tokens", 0):
        problems.append("cached tokens exceed input tokens")
    if (record.get("error") is not None) != (record.get("finish_reason") == "error"):
        problems.append("error and finish_reason disagree")
    return problems


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, demo: Scenario) -> Path:
    out = tmp_path_factory.mktemp("demo-traffic")
    generate(out, demo)
    return out


@pytest.fixture(scope="module")
def records(demo_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(demo_dir.glob("requests-*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines())
    for row in rows:
        row["_time"] = parse_time(row["timestamp"])
    return rows


@pytest.fixture(scope="module")
def signals(demo_dir: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(demo_dir.glob("signals-*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines())
    return rows


def select(
    rows: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    feature: str | None = None,
    model: str | None = None,
) -> list[dict[str, Any]]:
    return [
        r
        for r in rows
        if start <= r["_time"] < end
        and (feature is None or r["feature_id"] == feature)
        and (model is None or r["model_id"] == model)
    ]


def day(demo: Scenario, offset_days: float, hour: float = 0) -> datetime:
    return demo.start + timedelta(days=offset_days, hours=hour)


def test_every_record_and_signal_follows_the_spec(
    records: list[dict[str, Any]], signals: list[dict[str, Any]], demo_dir: Path, demo: Scenario
):
    assert 60_000 < len(records) < 85_000  # 12,000 a day for 6 days
    bad = [
        (r["request_id"], p)
        for r in records
        if (p := spec_violations({k: v for k, v in r.items() if k != "_time"}))
    ]
    assert bad == []
    ids = [r["request_id"] for r in records]
    assert len(set(ids)) == len(ids)
    # Daily files hold exactly their day's records.
    for path in demo_dir.glob("requests-*.jsonl"):
        first = json.loads(path.open().readline())
        assert first["timestamp"].startswith(path.stem.removeprefix("requests-"))
    by_id = {r["request_id"]: r for r in records}
    assert signals
    for signal in signals:
        assert set(signal) <= {"request_id", "session_id", "signal_type", "timestamp", "metadata"}
        assert signal["signal_type"] in SIGNAL_TYPES
        record = by_id[signal["request_id"]]
        assert signal["session_id"] == record["session_id"]
        assert parse_time(signal["timestamp"]) > record["_time"]
    assert {s["signal_type"] for s in signals} == SIGNAL_TYPES


def test_records_look_like_production_traffic(records: list[dict[str, Any]]):
    features = Counter(r["feature_id"] for r in records)
    assert set(features) == {"support_chat", "rag_qa", "extraction"}
    assert {r["model_id"] for r in records} == {MINI, GPT4O, HAIKU}
    # Most records carry no cost, so that ingestion prices them; a few bring their own.
    priced = sum("cost_usd" in r for r in records) / len(records)
    assert 0.01 < priced < 0.1
    assert {r["finish_reason"] for r in records if r["provider"] == "anthropic"} >= {"end_turn"}
    assert any(r.get("cached_input_tokens") for r in records)
    rag = [r for r in records if r["feature_id"] == "rag_qa" and "output" in r]
    assert all("context" in r and r["metadata"]["retrieved_doc_ids"] for r in rag)
    assert not any("context" in r for r in records if r["feature_id"] != "rag_qa")
    assert all("ttft_ms" not in r for r in records if r["feature_id"] == "extraction")
    # Sessions: several turns, in time order, one feature each.
    sessions: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        sessions.setdefault(r["session_id"], []).append(r)
    assert max(len(turns) for turns in sessions.values()) >= 5
    assert all(len({t["feature_id"] for t in turns}) == 1 for turns in sessions.values())
    # Varied texts.
    support = [r["input"] for r in records if r["feature_id"] == "support_chat"]
    assert len(set(support)) > 500
    tokens = np.array([r["output_tokens"] for r in records if r["feature_id"] == "rag_qa"])
    assert np.percentile(tokens, 95) > 2 * np.percentile(tokens, 5)


def test_same_seed_same_bytes_and_other_seed_other_traffic(tmp_path: Path):
    def first_file(out: Path, seed: int) -> bytes:
        generate(out, None, days=1, requests_per_day=3000, seed=seed)
        return next(out.glob("requests-*.jsonl")).read_bytes()

    one = first_file(tmp_path / "a", 5)
    assert one == first_file(tmp_path / "b", 5)
    assert one != first_file(tmp_path / "c", 6)


def test_load_is_diurnal_and_quieter_at_weekends():
    traffic = generate_traffic(
        None, start="2025-06-02", days=7, requests_per_day=20_000, seed=1, include_text=False
    )
    times = traffic.columns["timestamp_ms"] // 1000
    hours = (times % 86_400) // 3600
    per_hour = np.bincount(hours, minlength=24)
    assert per_hour[13:17].mean() > 3 * per_hour[2:5].mean()
    weekday = ((times // 86_400) + 3) % 7  # 0 = Monday
    per_day = np.bincount(weekday, minlength=7)
    assert per_day[5:].mean() < 0.7 * per_day[:5].mean()


def test_cost_spike_raises_tokens_in_its_window(records: list[dict[str, Any]], demo: Scenario):
    def mean_tokens(offset: int) -> tuple[float, float]:
        rows = select(records, day(demo, offset, 10), day(demo, offset, 16), "support_chat", MINI)
        ok = [r for r in rows if r["finish_reason"] != "error"]
        return mean(r["output_tokens"] for r in ok), mean(r["input_tokens"] for r in ok)

    spike_out, spike_in = mean_tokens(2)
    clean_out, clean_in = mean_tokens(1)
    assert spike_out > 2.5 * clean_out
    assert spike_in > 1.3 * clean_in
    # Outside the window, and on other features, nothing changed.
    after = select(records, day(demo, 2, 17), day(demo, 2, 23), "support_chat", MINI)
    assert mean(r["output_tokens"] for r in after) < 1.5 * clean_out
    rag = select(records, day(demo, 2, 10), day(demo, 2, 16), "rag_qa")
    rag_before = select(records, day(demo, 1, 10), day(demo, 1, 16), "rag_qa")
    assert mean(r["output_tokens"] for r in rag) < 1.3 * mean(
        r["output_tokens"] for r in rag_before
    )


def test_latency_slo_breach_raises_p99_in_its_window(records: list[dict[str, Any]], demo: Scenario):
    def p99(offset: int) -> float:
        rows = select(records, day(demo, offset, 13), day(demo, offset, 17), "rag_qa", GPT4O)
        return float(np.percentile([r["latency_ms"] for r in rows], 99))

    def ttft_p95(offset: int) -> float:
        rows = select(records, day(demo, offset, 13), day(demo, offset, 17), "rag_qa", GPT4O)
        return float(np.percentile([r["ttft_ms"] for r in rows if "ttft_ms" in r], 95))

    assert p99(3) > 2.5 * p99(1)
    assert ttft_p95(3) > 2.5 * ttft_p95(1)


def test_error_burst_fails_a_share_of_calls_in_its_window(
    records: list[dict[str, Any]], demo: Scenario
):
    def error_rate(start: datetime, end: datetime) -> float:
        rows = select(records, start, end, "extraction", HAIKU)
        return sum(r.get("error") is not None for r in rows) / len(rows)

    assert 0.2 < error_rate(day(demo, 2, 19), day(demo, 2, 23)) < 0.4
    assert error_rate(day(demo, 0), day(demo, 2)) < 0.02
    failed = [r for r in select(records, day(demo, 2, 19), day(demo, 2, 23)) if r.get("error")]
    assert all(r["finish_reason"] == "error" and "output" not in r for r in failed)


def _judged(rows: list[dict[str, Any]]) -> float:
    scores = []
    for r in rows:
        if "output" not in r:
            continue
        verdict = judge_verdict(r["output"], r["input"], r.get("context"))
        scores.append(
            mean([verdict["faithfulness"], verdict["relevance"], verdict["completeness"]])
        )  # type: ignore[list-item]
    return mean(scores)


def test_quality_regression_is_what_the_judge_sees(records: list[dict[str, Any]], demo: Scenario):
    window = select(records, day(demo, 4, 6), day(demo, 4, 22), "rag_qa", GPT4O)
    baseline = select(records, day(demo, 1, 6), day(demo, 1, 22), "rag_qa", GPT4O)
    assert _judged(window) < _judged(baseline) - 0.7
    # Support traffic at the same time is not regressed.
    support_now = select(records, day(demo, 4, 6), day(demo, 4, 22), "support_chat", HAIKU)
    support_before = select(records, day(demo, 1, 6), day(demo, 1, 22), "support_chat", HAIKU)
    assert abs(_judged(support_now) - _judged(support_before)) < 0.3


def test_silent_model_change_changes_fingerprint_but_not_model_id(
    records: list[dict[str, Any]], demo: Scenario
):
    switch = day(demo, 3, 12)
    mini_before = {
        r["metadata"]["system_fingerprint"]
        for r in records
        if r["model_id"] == MINI and r["_time"] < switch
    }
    mini_after = {
        r["metadata"]["system_fingerprint"]
        for r in records
        if r["model_id"] == MINI and r["_time"] >= switch
    }
    assert len(mini_before) == len(mini_after) == 1
    assert mini_before != mini_after
    haiku = {r["metadata"]["system_fingerprint"] for r in records if r["model_id"] == HAIKU}
    assert len(haiku) == 1


def test_input_shift_brings_a_new_segment_with_new_words(
    records: list[dict[str, Any]], demo: Scenario
):
    window = select(records, day(demo, 5), day(demo, 6), "support_chat")
    before = select(records, day(demo, 0), day(demo, 5), "support_chat")
    assert not any(r["user_segment"] == "developer_beta" for r in before)
    share = sum(r["user_segment"] == "developer_beta" for r in window) / len(window)
    assert 0.25 < share < 0.55
    technical = ("SDK", "API", "/v2/", "OAuth", "curl")

    def technical_share(rows: list[dict[str, Any]]) -> float:
        return sum(any(w in r["input"] for w in technical) for r in rows) / len(rows)

    assert technical_share(window) > 0.25 > 0.01 > technical_share(before)
    assert mean(len(r["input"]) for r in window) > 1.3 * mean(len(r["input"]) for r in before)


def test_survivorship_bias_pairs_happy_votes_with_abandonment(
    records: list[dict[str, Any]], signals: list[dict[str, Any]], demo: Scenario
):
    by_request: dict[str, set[str]] = {}
    for s in signals:
        by_request.setdefault(s["request_id"], set()).add(s["signal_type"])

    def rates(rows: list[dict[str, Any]]) -> tuple[float, float]:
        kinds = [by_request.get(r["request_id"], set()) for r in rows]
        up = sum("thumbs_up" in k for k in kinds)
        down = sum("thumbs_down" in k for k in kinds)
        return sum("abandoned" in k for k in kinds) / len(rows), up / (up + down)

    abandon_in, positive_in = rates(select(records, day(demo, 4), day(demo, 5), "support_chat"))
    abandon_out, positive_out = rates(select(records, day(demo, 0), day(demo, 2), "support_chat"))
    assert abandon_in > 0.35
    assert positive_in > 0.85
    assert abandon_out < 0.15
    assert positive_out < 0.8


def test_ground_truth_file_lists_the_incidents_of_the_generated_window(
    demo_dir: Path, demo: Scenario, tmp_path: Path
):
    document = json.loads((demo_dir / "ground_truth.json").read_text())
    assert document["scenario"] == "demo"
    assert [i["kind"] for i in document["incidents"]] == [t.kind for t in demo.ground_truth()]
    # Two days only: the incidents after them are not in the ground truth.
    generate(tmp_path, demo, days=3, requests_per_day=500)
    short = json.loads((tmp_path / "ground_truth.json").read_text())
    assert {i["kind"] for i in short["incidents"]} == {"cost_spike", "error_burst"}


def test_start_moves_traffic_and_incidents_together(demo: Scenario):
    traffic = generate_traffic(
        demo, start="2026-01-05", days=3, requests_per_day=2000, include_text=False
    )
    assert traffic.start == datetime(2026, 1, 5, tzinfo=UTC)
    first = next(iter_records(traffic))
    assert first["timestamp"].startswith("2026-01-05")
    spike = next(i for i in traffic.scenario.incidents if i.kind == "cost_spike")
    assert spike.start == datetime(2026, 1, 7, 10, tzinfo=UTC)


def test_gzip_output_and_vectorised_speed(tmp_path: Path):
    started = time.perf_counter()
    traffic = generate_traffic(None, days=7, requests_per_day=30_000, include_text=False)
    elapsed = time.perf_counter() - started
    assert len(traffic) > 200_000
    # Numeric columns are drawn whole: a per-record Python loop would take many seconds.
    assert elapsed < 5.0
    summary = write_traffic(
        generate_traffic(None, days=1, requests_per_day=1000), tmp_path, compress=True
    )
    assert summary.request_files[0].name.endswith(".jsonl.gz")
    import gzip

    with gzip.open(summary.request_files[0], "rt") as handle:
        assert spec_violations(json.loads(handle.readline())) == []
