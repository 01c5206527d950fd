"""recall@k and MRR (llmwatch.evals.retrieval)."""

from __future__ import annotations

import pytest

from llmwatch.evals.retrieval import recall_at_k, reciprocal_rank, retrieval_summary


def test_recall_at_k_counts_relevant_ids_in_the_top_k() -> None:
    retrieved = ["d3", "d1", "d9", "d2"]
    assert recall_at_k(retrieved, ["d1", "d2"], k=2) == 0.5
    assert recall_at_k(retrieved, ["d1", "d2"], k=4) == 1.0
    assert recall_at_k(retrieved, ["d7"], k=4) == 0.0
    with pytest.raises(ValueError, match="relevant"):
        recall_at_k(retrieved, [], k=2)


def test_reciprocal_rank_of_the_first_relevant_id() -> None:
    assert reciprocal_rank(["d3", "d1", "d2"], {"d1", "d2"}) == 0.5
    assert reciprocal_rank(["d1"], {"d1"}) == 1.0
    assert reciprocal_rank(["d4", "d5"], {"d1"}) == 0.0


def test_summary_skips_cases_without_both_sides() -> None:
    summary = retrieval_summary(
        [
            (["a", "b", "c"], ["b"]),  # recall@2 1, rr 1/2
            (["x", "y", "z"], ["z", "q"]),  # recall@2 0, rr 1/3
            (None, ["a"]),  # target returned no ids
            (["a"], None),  # example has no relevant ids
        ],
        k=2,
    )
    assert summary.n == 2
    assert summary.recall_at_k == pytest.approx(0.5)
    assert summary.mrr == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert retrieval_summary([(None, ["a"])]).to_dict() == {
        "k": 5, "n": 0, "recall_at_k": None, "mrr": None,
    }  # fmt: skip
