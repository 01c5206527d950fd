"""Retrieval metrics for RAG (SPEC 4.10): recall@k and MRR.

A case counts when both sides are known: the ids the system retrieved, in rank order
(a record's ``metadata.retrieved_ids``, or a target's ``retrieved_ids`` response field),
and the ids a golden example marks relevant (``relevant_ids``). Cases without either
are left out, never scored as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_K = 5


def recall_at_k(retrieved: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant ids found among the first ``k`` retrieved."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("recall needs at least one relevant id")
    if k < 1:
        raise ValueError("k must be at least 1")
    return len(wanted & set(retrieved[:k])) / len(wanted)


def reciprocal_rank(retrieved: Sequence[str], relevant: Iterable[str]) -> float:
    """1 / rank of the first relevant id retrieved (ranks from 1), 0 when none was."""
    wanted = set(relevant)
    for rank, doc in enumerate(retrieved, start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class RetrievalSummary:
    k: int
    n: int  # cases with both retrieved and relevant ids
    recall_at_k: float | None
    mrr: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"k": self.k, "n": self.n, "recall_at_k": self.recall_at_k, "mrr": self.mrr}


def retrieval_summary(
    cases: Iterable[tuple[Sequence[str] | None, Sequence[str] | None]], k: int = DEFAULT_K
) -> RetrievalSummary:
    """Mean recall@k and MRR over the (retrieved, relevant) pairs where both are known."""
    recalls: list[float] = []
    ranks: list[float] = []
    for retrieved, relevant in cases:
        if retrieved is None or not relevant:
            continue
        recalls.append(recall_at_k(retrieved, relevant, k))
        ranks.append(reciprocal_rank(retrieved, relevant))
    if not recalls:
        return RetrievalSummary(k, 0, None, None)
    return RetrievalSummary(k, len(recalls), sum(recalls) / len(recalls), sum(ranks) / len(ranks))
