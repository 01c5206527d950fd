"""Drift core over generated traffic, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from llmwatch.alerts import list_alerts, record_alerts
from llmwatch.drift import (
    drift_windows,
    input_drift_alerts,
    list_runs,
    load_window,
    replace_run,
    run_columns,
    run_drift,
    sample_ids,
)
from llmwatch.drift.features import add_text_features
from llmwatch.settings import DriftSettings
from llmwatch.warehouse.models import DriftColumn
from tests.core.drift.traffic import CLEAN_DAY, SHIFT_DAY, SHIFTED_COLUMNS, load_traffic

SETTINGS = DriftSettings(reference_days=2, sample_size=3_000)


def _evaluate(engine: Engine, day: date, settings: DriftSettings = SETTINGS):
    windows = drift_windows(day, settings)
    with engine.connect() as conn:
        reference = load_window(
            conn, windows.reference_start, windows.reference_end,
            sample_size=settings.sample_size, seed=settings.sample_seed, rubric_version="v1",
        )  # fmt: skip
        current = load_window(
            conn, windows.current_start, windows.current_end,
            sample_size=settings.sample_size, seed=settings.sample_seed, rubric_version="v1",
        )  # fmt: skip
    result = run_drift(reference.frame, current.frame, drift_share=settings.drift_share)
    alerts = input_drift_alerts(windows, result, settings.drift_share, "reports/drift/x.html")
    with engine.begin() as conn:
        stored = replace_run(
            conn, windows, result,
            n_reference=reference.population, n_current=current.population, report_path=None,
        )  # fmt: skip
        ids = record_alerts(conn, alerts)
    return windows, reference, current, result, stored, ids


def test_shift_day_raises_input_drift_naming_the_shifted_columns(
    engine: Engine, drift_traffic: Path
) -> None:
    load_traffic(engine, drift_traffic)

    windows, reference, current, result, stored, ids = _evaluate(engine, SHIFT_DAY)

    assert reference.population > len(reference.frame) == SETTINGS.sample_size
    assert 0 < current.population == len(current.frame) <= SETTINGS.sample_size
    drifted = {c.column for c in result.drifted}
    assert drifted >= SHIFTED_COLUMNS
    # Feature and model mix did not change: the verdicts are per column, not wholesale.
    assert {"feature_id", "model_id", "latency_ms"}.isdisjoint(drifted)
    assert len(ids) == 1
    with engine.connect() as conn:
        (alert,) = [a for a in list_alerts(conn) if a["kind"] == "input_drift"]
        columns = run_columns(conn, stored.run_id)
        runs = list_runs(conn)
    assert alert["kind"] == "input_drift"
    assert alert["window_start"] == windows.current_start.isoformat()
    for name in SHIFTED_COLUMNS:
        assert name in alert["message"]
    assert {d["column"] for d in alert["details"]["drifted_columns"]} == drifted
    assert alert["value"] == pytest.approx(len(drifted) / len(result.columns))
    # Every compared column is stored with the method Evidently chose for it.
    assert {c["column_name"] for c in columns} == {c.column for c in result.columns}
    by_name = {c["column_name"]: c for c in columns}
    assert by_name["prompt"]["method"] == "Absolute text content drift"
    assert by_name["user_segment"]["method"] == "Jensen-Shannon distance"
    assert by_name["user_segment"]["drifted"] is True
    assert runs[0]["report_date"] == "2025-06-05"
    assert runs[0]["n_drifted"] == len(drifted)


def test_clean_day_does_not_alert_and_rerun_replaces(engine: Engine, drift_traffic: Path) -> None:
    load_traffic(engine, drift_traffic)

    *_, result, _, ids = _evaluate(engine, CLEAN_DAY)
    assert result.drift_share is not None
    assert result.drift_share < SETTINGS.drift_share
    assert ids == []
    assert result.skipped == {"judge_score": "0 reference / 0 current values (< 30)"}

    # The same day again: same sample, same verdicts, one run, still no alert.
    *_, again, stored_again, _ = _evaluate(engine, CLEAN_DAY)
    assert [c.score for c in again.columns] == [c.score for c in result.columns]
    with engine.connect() as conn:
        assert len(list_runs(conn)) == 1
        n_columns = len(conn.execute(select(DriftColumn.column_name)).all())
        assert [a for a in list_alerts(conn) if a["kind"] == "input_drift"] == []
    assert n_columns == stored_again.n_columns == len(result.columns)


def test_sample_is_bounded_reproducible_and_order_free() -> None:
    ids = [f"r{i:06d}" for i in range(10_000)]
    start = datetime(2025, 6, 1, tzinfo=UTC)
    first = sample_ids(ids, 500, 3, start)
    assert len(first) == len(set(first)) == 500
    assert first == sample_ids(list(reversed(ids)), 500, 3, start)
    assert first != sample_ids(ids, 500, 4, start)
    assert first != sample_ids(ids, 500, 3, start + timedelta(days=1))
    assert sample_ids(ids[:20], 500, 3, start) == ids[:20]


def test_windows_trailing_and_pinned() -> None:
    trailing = drift_windows(date(2025, 6, 10), DriftSettings(reference_days=7))
    assert trailing.reference_kind == "trailing"
    assert trailing.reference_start == datetime(2025, 6, 3, tzinfo=UTC)
    assert trailing.reference_end == trailing.current_start == datetime(2025, 6, 10, tzinfo=UTC)
    assert trailing.current_end == datetime(2025, 6, 11, tzinfo=UTC)
    baseline = (datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 8, tzinfo=UTC))
    pinned = drift_windows(
        date(2025, 6, 10), DriftSettings(baseline_start=baseline[0], baseline_end=baseline[1])
    )
    assert (pinned.reference_kind, pinned.reference_start, pinned.reference_end) == (
        "pinned", *baseline,
    )  # fmt: skip
    with pytest.raises(ValueError, match="both"):
        DriftSettings(baseline_start=baseline[0])


def _frame(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "latency_ms": rng.normal(1000 + shift, 100, n),
            "feature_id": rng.choice(["a", "b"], n),
            # No text: this test is about the numerical verdict (text is skipped).
            "prompt": [""] * n,
            "response": ["click reset"] * n,
        }
    )
    for name in ("ttft_ms", "input_tokens", "output_tokens", "cost_usd", "judge_score"):
        frame[name] = np.nan
    for name in ("model_id", "user_segment", "finish_reason"):
        frame[name] = "x"
    return add_text_features(frame)


def test_small_samples_use_p_values_and_the_verdict_follows_the_test() -> None:
    # Under 1000 rows Evidently uses K-S for numbers: drift is a p-value BELOW the threshold.
    rng = np.random.default_rng(1)
    result = run_drift(_frame(rng, 300, 0), _frame(rng, 300, 80), drift_share=0.5)
    latency = next(c for c in result.columns if c.column == "latency_ms")
    assert latency.method.startswith("K-S")
    assert latency.drifted
    assert latency.score is not None
    assert latency.threshold is not None
    assert latency.score < latency.threshold
    assert "cost_usd" in result.skipped
    assert result.skipped["prompt"] == "no text on one side"

    with pytest.raises(ValueError, match="both sides"):
        run_drift(_frame(rng, 300, 0).iloc[:0], _frame(rng, 300, 0), drift_share=0.5)
