"""Prompt embeddings for the drift report, when an embedding endpoint is configured.

The two sides are compared on the same rows for every column, embeddings included:
when embeddings are on, each side is first cut to a seeded simple random sample (the
method of :mod:`llmwatch.drift.frames`) of at most ``embedding_sample_size`` of its
rows that have prompt text, and only those rows are embedded and compared. Rows
without a prompt have nothing to embed and are never given an invented vector.

Two things are added to both frames:

* ``prompt_centroid_distance``: cosine distance of each prompt's embedding to the
  centroid (mean of the unit vectors) of the reference prompts - one number per row
  that Evidently tests like any other numerical column;
* the embedding vectors as columns ``prompt_emb_0000`` ..., which Evidently's
  ``EmbeddingsDrift`` metric compares as one embedding set (``EMBEDDING_SET``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import numpy as np
import pandas as pd
from pydantic import SecretStr

from llmwatch.drift.evidently_run import EMBEDDING_SET
from llmwatch.drift.frames import sample_ids
from llmwatch.llm.client import Endpoint, Limits
from llmwatch.llm.embeddings import embed_texts
from llmwatch.settings import DriftSettings

DISTANCE = "prompt_centroid_distance"
# Fewer embedded prompts than this on a side: no embedding comparison that day.
MIN_EMBEDDED = 10


@dataclass
class EmbeddedFrames:
    reference: pd.DataFrame
    current: pd.DataFrame
    # The embedding vector columns (empty when nothing was embedded).
    vector_columns: list[str] = field(default_factory=list)
    # Why embeddings were left out, when they were configured but not used.
    skipped: dict[str, str] = field(default_factory=dict)
    # Prompts sent to the endpoint (both sides).
    n_embedded: int = 0


def embedding_endpoint(
    settings: DriftSettings, environ: Mapping[str, str] = os.environ
) -> Endpoint | None:
    """The configured endpoint, or None when embeddings are off."""
    if not settings.embedding_base_url:
        return None
    key = None
    if settings.embedding_api_key_env:
        value = environ.get(settings.embedding_api_key_env)
        if not value:
            raise ValueError(
                f"embedding API key variable {settings.embedding_api_key_env} is not set"
            )
        key = SecretStr(value)
    return Endpoint(settings.embedding_base_url, settings.embedding_model, api_key=key)


def embed_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    settings: DriftSettings,
    *,
    reference_start: datetime,
    current_start: datetime,
    http: httpx.Client | None = None,
    limits: Limits | None = None,
) -> EmbeddedFrames:
    """Both frames with embedding columns, or unchanged (and no call) when not configured."""
    endpoint = embedding_endpoint(settings)
    if endpoint is None:
        return EmbeddedFrames(reference, current)
    ref = _embeddable(reference, settings, reference_start)
    cur = _embeddable(current, settings, current_start)
    if min(len(ref), len(cur)) < MIN_EMBEDDED:
        reason = f"{len(ref)} reference / {len(cur)} current prompts (< {MIN_EMBEDDED})"
        return EmbeddedFrames(reference, current, skipped={EMBEDDING_SET: reason})
    limits = limits or Limits(timeout_s=60.0)
    owned = http is None
    client = http or httpx.Client(
        timeout=httpx.Timeout(limits.timeout_s, connect=limits.connect_timeout_s)
    )
    try:
        texts = ref["prompt"].tolist() + cur["prompt"].tolist()
        vectors = embed_texts(client, endpoint, texts, limits=limits)
    finally:
        if owned:
            client.close()
    ref_vectors, cur_vectors = vectors[: len(ref)], vectors[len(ref) :]
    centroid = _unit(ref_vectors).mean(axis=0)
    names = [f"prompt_emb_{i:04d}" for i in range(vectors.shape[1])]
    return EmbeddedFrames(
        _with_vectors(ref, ref_vectors, centroid, names),
        _with_vectors(cur, cur_vectors, centroid, names),
        vector_columns=names,
        n_embedded=len(texts),
    )


def _embeddable(frame: pd.DataFrame, settings: DriftSettings, start: datetime) -> pd.DataFrame:
    with_text = frame[frame["prompt"] != ""]
    chosen = set(
        sample_ids(
            with_text["request_id"].tolist(),
            settings.embedding_sample_size,
            settings.sample_seed,
            start,
        )
    )
    return with_text[with_text["request_id"].isin(chosen)].reset_index(drop=True)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def cosine_distance(vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(centroid))
    if norm == 0.0:
        raise ValueError("the reference embedding centroid is the zero vector")
    return 1.0 - _unit(vectors) @ (centroid / norm)


def _with_vectors(
    frame: pd.DataFrame, vectors: np.ndarray, centroid: np.ndarray, names: list[str]
) -> pd.DataFrame:
    out = frame.copy()
    out[DISTANCE] = cosine_distance(vectors, centroid).astype("float64")
    return pd.concat([out, pd.DataFrame(vectors, columns=names, index=out.index)], axis=1)
