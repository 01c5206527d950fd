"""Evidently (current API) on the reference and current frames, and its per-column verdicts.

Evidently picks the test per column from the column's type and the sample size
(e.g. Wasserstein distance for numbers and Jensen-Shannon distance for categories on
samples over 1000 rows, a domain classifier for text); the method, score, threshold and
verdict it used for every column are read back from the snapshot and stored as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.core.report import Snapshot
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
    reference: pd.DataFrame, current: pd.DataFrame, *, drift_share: float, min_judged: int = 30
) -> DriftResult:
    """Run Evidently's DataDriftPreset and extract one verdict per compared column."""
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
    )
    report = Report([DataDriftPreset(columns=names, drift_share=drift_share)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current[names], data_definition=definition),
        Dataset.from_pandas(reference[names], data_definition=definition),
    )
    return DriftResult(extract_columns(snapshot.dict(), kinds), snapshot, skipped)


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
