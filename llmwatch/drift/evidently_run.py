"""Evidently (current API) on the reference and current frames, and its per-column verdicts.

Evidently picks the test per column from the column's type and the sample size
(e.g. Wasserstein distance for numbers and Jensen-Shannon distance for categories on
samples over 1000 rows, a domain classifier for text); the method, score, threshold and
verdict it used for every column are read back from the snapshot and stored as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.core.report import Snapshot
from evidently.metrics import EmbeddingsDrift
from evidently.metrics.embeddings import ModelDriftMethod
from evidently.presets import DataDriftPreset

from llmwatch.drift.features import TEXT_FEATURES

NUMERICAL = (
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    *TEXT_FEATURES,
    "judge_score",
    "prompt_centroid_distance",
)
CATEGORICAL = ("feature_id", "model_id", "user_segment", "finish_reason")
TEXT = ("prompt",)
# A numerical column needs this many values on each side to be compared at all.
MIN_VALUES = 10
# The prompt embeddings, compared as one set by Evidently's EmbeddingsDrift with its
# default method stated explicitly: a classifier told to separate reference from
# current embeddings; drift when its ROC AUC on held-out rows exceeds the threshold.
# (No bootstrap: then the verdict is exactly "score > threshold" and can be stored.)
EMBEDDING_SET = "prompt_embedding"
EMBEDDING_METHOD = "model-based (SGD classifier ROC AUC)"
EMBEDDING_THRESHOLD = 0.55


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str
    method: str
    score: float | None
    threshold: float | None
    drifted: bool


@dataclass
class DriftResult:
    columns: list[ColumnDrift]
    snapshot: Snapshot
    # Columns left out of the comparison, with the reason (e.g. no judge scores yet).
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float | None:
        return len(self.drifted) / len(self.columns) if self.columns else None


def select_columns(
    reference: pd.DataFrame, current: pd.DataFrame, min_judged: int
) -> tuple[dict[str, str], dict[str, str]]:
    """The columns to compare (name -> kind) and the ones skipped (name -> reason)."""
    chosen: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in NUMERICAL:
        if name not in reference or name not in current:
            continue
        need = min_judged if name == "judge_score" else MIN_VALUES
        counts = (int(reference[name].notna().sum()), int(current[name].notna().sum()))
        if min(counts) < need:
            skipped[name] = f"{counts[0]} reference / {counts[1]} current values (< {need})"
        else:
            chosen[name] = "numerical"
    for name in CATEGORICAL:
        chosen[name] = "categorical"
    for name in TEXT:
        if (reference[name] != "").any() and (current[name] != "").any():
            chosen[name] = "text"
        else:
            skipped[name] = "no text on one side"
    return chosen, skipped


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    drift_share: float,
    min_judged: int = 30,
    embedding_columns: Sequence[str] = (),
) -> DriftResult:
    """Run Evidently's DataDriftPreset and extract one verdict per compared column.

    ``embedding_columns`` (the prompt embedding vectors, see llmwatch.drift.embeddings)
    are compared as one set by Evidently's EmbeddingsDrift, which adds one verdict.
    """
    if reference.empty or current.empty:
        raise ValueError(
            f"drift needs requests on both sides: {len(reference)} reference, "
            f"{len(current)} current"
        )
    kinds, skipped = select_columns(reference, current, min_judged)
    names = list(kinds)
    definition = DataDefinition(
        numerical_columns=[n for n in names if kinds[n] == "numerical"],
        categorical_columns=[n for n in names if kinds[n] == "categorical"],
        text_columns=[n for n in names if kinds[n] == "text"],
        embeddings={EMBEDDING_SET: list(embedding_columns)} if embedding_columns else None,
    )
    metrics: list[Any] = [DataDriftPreset(columns=names, drift_share=drift_share)]
    if embedding_columns:
        method = ModelDriftMethod(threshold=EMBEDDING_THRESHOLD, bootstrap=False)
        metrics.append(EmbeddingsDrift(embeddings_name=EMBEDDING_SET, drift_method=method))
    used = names + list(embedding_columns)
    snapshot = Report(metrics, include_tests=True).run(
        Dataset.from_pandas(current[used], data_definition=definition),
        Dataset.from_pandas(reference[used], data_definition=definition),
    )
    columns = extract_columns(snapshot.dict(), kinds)
    if embedding_columns:
        columns.append(extract_embedding_drift(snapshot.dict()))
    return DriftResult(columns, snapshot, skipped)


def extract_columns(result: dict[str, Any], kinds: dict[str, str]) -> list[ColumnDrift]:
    """Per-column method, score, threshold and verdict from ``Snapshot.dict()``.

    The score and the method are the ValueDrift metric's; the verdict is its test's
    status (FAIL = drift), which knows whether the method's score is a p-value (drift
    below the threshold) or a distance (drift above it).
    """
    failed = {
        test["metric_config"]["metric_id"]: test["status"] == "FAIL"
        for test in result["tests"]
        if test.get("id") == "drift"
    }
    columns = []
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        name = config["column"]
        if metric["id"] not in failed:
            raise ValueError(f"Evidently returned no drift test for column {name!r}")
        score = metric.get("value")
        columns.append(
            ColumnDrift(
                column=name,
                kind=kinds.get(name, "unknown"),
                method=str(config.get("method")),
                score=None if score is None else float(score),
                threshold=None if config.get("threshold") is None else float(config["threshold"]),
                drifted=failed[metric["id"]],
            )
        )
    return columns


def extract_embedding_drift(result: dict[str, Any]) -> ColumnDrift:
    """The EmbeddingsDrift score (ROC AUC) and its verdict, score > threshold."""
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if config.get("embeddings_name") == EMBEDDING_SET:
            score = float(metric["value"])
            return ColumnDrift(
                column=EMBEDDING_SET,
                kind="embedding",
                method=EMBEDDING_METHOD,
                score=score,
                threshold=EMBEDDING_THRESHOLD,
                drifted=score > EMBEDDING_THRESHOLD,
            )
    raise ValueError("Evidently returned no embeddings drift result")
