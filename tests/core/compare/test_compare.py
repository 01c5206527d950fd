"""Live comparison over generated canary traffic, on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from llmwatch.compare import Comparison, bounded_sample, compare_versions, format_comparison
from llmwatch.compare.checks import distribution_check, error_rate_check
from llmwatch.compare.data import ArmData
from llmwatch.settings import CompareSettings
from llmwatch.warehouse.models import Request
from tests.core.compare.traffic import (
    BASELINE,
    END,
    EQUAL,
    SLOW,
    START,
    ingest_canary_traffic,
    insert_judgements,
    settings_with_prices,
)


@pytest.fixture
def canary_engine(engine: Engine, tmp_path: Path) -> Engine:
    loaded = ingest_canary_traffic(engine, tmp_path / "traffic")
    assert loaded > 4500
    insert_judgements(engine, {BASELINE: 4.0, EQUAL: 4.0, SLOW: 3.3})
    return engine


def _compare(engine: Engine, candidate: str, baseline: str = BASELINE, **kwargs: Any) -> Comparison:
    params: dict[str, Any] = {"since": START, "until": END, **kwargs}
    return compare_versions(
        engine, settings_with_prices(), baseline=baseline, candidate=candidate, **params
    )


def _effect(result: Comparison, name: str) -> float:
    effect = result.check(name).effect
    assert effect is not None
    return effect


def test_equal_candidate_is_promoted(canary_engine: Engine) -> None:
    result = _compare(canary_engine, EQUAL)
    assert result.verdict == "promote", format_comparison(result)
    assert result.exit_code == 0
    assert result.candidate.requests > 800
    assert result.baseline.requests > 2500
    assert all(c.tested for c in result.checks), format_comparison(result)
    assert 0.9 < _effect(result, "latency") < 1.1
    assert 0.9 < _effect(result, "cost_per_request") < 1.1


def test_slower_candidate_is_rolled_back(canary_engine: Engine) -> None:
    result = _compare(canary_engine, SLOW)
    assert result.verdict == "rollback"
    assert result.exit_code == 1
    latency, ttft = result.check("latency"), result.check("ttft")
    assert latency.status == "regressed"
    assert ttft.status == "regressed"
    assert _effect(result, "latency") > 1.5
    assert latency.p_value is not None
    assert latency.p_value < 1e-6
    assert result.check("quality").status == "regressed"
    # Same price and tokens: cost and errors are not blamed.
    assert result.check("cost_per_request").status == "ok"
    assert result.check("error_rate").status == "ok"
    assert any(r.startswith("latency: p95 ratio") for r in result.reasons)
    text = format_comparison(result)
    assert "VERDICT: ROLLBACK" in text
    assert "mann_whitney_u" in text


def test_too_few_records_hold(canary_engine: Engine) -> None:
    # Twenty minutes after midnight: a handful of requests per arm.
    result = _compare(canary_engine, SLOW, until=START + timedelta(minutes=20))
    assert result.verdict == "hold", format_comparison(result)
    assert result.exit_code == 3
    assert 0 < result.candidate.requests < 200
    assert any("not enough data" in r for r in result.reasons)


def test_feature_filter_and_unknown_candidate(canary_engine: Engine) -> None:
    result = _compare(canary_engine, EQUAL, feature="rag_qa")
    assert result.verdict == "hold"
    assert result.baseline.requests == result.candidate.requests == 0
    assert result.check("latency").status == "unavailable"


def test_arms_serving_different_features_are_compared_with_a_warning(
    canary_engine: Engine,
) -> None:
    same = _compare(canary_engine, EQUAL)
    assert same.warnings == []
    assert same.candidate.features == same.baseline.features == ("support_chat",)
    # A third of the candidate's traffic moves to another feature.
    with canary_engine.begin() as conn:
        ids = conn.execute(select(Request.request_id).where(Request.model_id == EQUAL)).scalars()
        moved = list(ids)[::3]
        conn.execute(
            update(Request).where(Request.request_id.in_(moved)).values(feature_id="rag_qa")
        )
    mixed = _compare(canary_engine, EQUAL)
    assert mixed.candidate.features == ("rag_qa", "support_chat")
    assert len(mixed.warnings) == 1
    assert "different features" in mixed.warnings[0]
    assert "--feature" in mixed.warnings[0]
    table = format_comparison(mixed)
    assert table.count("WARNING: the arms serve different features") == 1
    assert mixed.to_dict()["warnings"] == mixed.warnings
    # One feature asked for: nothing mixed, no warning.
    assert _compare(canary_engine, EQUAL, feature="support_chat").warnings == []


def test_prompt_template_arms(canary_engine: Engine) -> None:
    with canary_engine.begin() as conn:
        conn.execute(
            update(Request).where(Request.model_id == SLOW).values(prompt_template_id="support_v2")
        )
        conn.execute(
            update(Request)
            .where(Request.model_id == BASELINE)
            .values(prompt_template_id="support_v1")
        )
    result = _compare(canary_engine, "support_v2", baseline="support_v1", by="template")
    assert result.baseline.name == "support_v1"
    assert result.candidate.name == "support_v2"
    assert result.verdict == "rollback"
    assert result.check("quality").candidate_n == result.candidate.requests


def test_required_quality_without_judgements_holds(engine: Engine, tmp_path: Path) -> None:
    ingest_canary_traffic(engine, tmp_path / "traffic")
    settings = settings_with_prices(compare=CompareSettings(require_quality=True))
    result = compare_versions(
        engine, settings, baseline=BASELINE, candidate=EQUAL, since=START, until=END
    )
    assert result.verdict == "hold"
    assert result.check("quality").status == "unavailable"
    relaxed = compare_versions(
        engine,
        settings_with_prices(),
        baseline=BASELINE,
        candidate=EQUAL,
        since=START,
        until=END,
    )
    assert relaxed.verdict == "promote"
    assert any("quality" in r for r in relaxed.reasons)


# --- pure functions -------------------------------------------------------------------


def test_bounded_sample_is_seeded_and_order_free() -> None:
    values = np.arange(1000, dtype=float)
    shuffled = np.random.default_rng(1).permutation(values)
    a, b = bounded_sample(values, 100, seed=5), bounded_sample(shuffled, 100, seed=5)
    assert a.size == 100
    assert np.array_equal(a, b)
    assert not np.array_equal(a, bounded_sample(values, 100, seed=6))
    assert bounded_sample(values[:50], 100, seed=5).size == 50


def test_a_small_significant_slowdown_is_not_a_regression() -> None:
    rng = np.random.default_rng(0)
    base = rng.lognormal(6, 0.3, 20_000)
    cand = base * 1.03
    check = distribution_check(
        "latency", base, cand, min_ratio=1.1, min_samples=50, alpha=0.01, populations=(0, 0)
    )
    assert check.p_value is not None
    assert check.p_value < 0.01
    assert check.status == "ok"


def _arm(n: int, errors: int) -> ArmData:
    empty = np.empty(0)
    return ArmData("x", n, errors, 0, 0.0, 0.0, empty, empty, 0, 0, empty)


def test_error_rate_uses_fisher_for_rare_errors() -> None:
    check = error_rate_check(_arm(300, 0), _arm(300, 9), min_increase=0.01, min_n=200, alpha=0.01)
    assert check.test == "fisher_exact"
    assert check.status == "regressed"
    check = error_rate_check(
        _arm(5000, 250), _arm(5000, 330), min_increase=0.01, min_n=200, alpha=0.01
    )
    assert check.test == "two_proportion_z"
    assert check.status == "regressed"
    check = error_rate_check(_arm(300, 0), _arm(300, 1), min_increase=0.01, min_n=200, alpha=0.01)
    assert check.status == "ok"


def test_same_version_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="same version"):
        compare_versions(
            engine, settings_with_prices(), baseline="a", candidate="a", since=START, until=END
        )
