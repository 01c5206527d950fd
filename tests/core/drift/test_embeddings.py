"""Prompt embeddings in the drift report, against the simulator's /v1/embeddings over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from llmwatch.drift import drift_windows, load_window, run_drift
from llmwatch.drift.embeddings import DISTANCE, cosine_distance, embed_frames, embedding_endpoint
from llmwatch.drift.evidently_run import EMBEDDING_SET, EMBEDDING_THRESHOLD
from llmwatch.settings import DriftSettings
from llmwatch.simulator import SimulatorServer
from tests.core.drift.traffic import CLEAN_DAY, SHIFT_DAY, load_traffic

EMBEDDING_MODEL = "text-embedding-3-small"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    server = SimulatorServer(latency_ms=1).start()
    yield server
    server.stop()


def _settings(base_url: str | None) -> DriftSettings:
    return DriftSettings(
        reference_days=2,
        sample_size=1_000,
        embedding_base_url=base_url,
        embedding_model=EMBEDDING_MODEL,
        embedding_sample_size=300,
    )


def _compare(engine: Engine, day: date, settings: DriftSettings):
    windows = drift_windows(day, settings)
    with engine.connect() as conn:
        frames = [
            load_window(
                conn, start, end,
                sample_size=settings.sample_size, seed=settings.sample_seed, rubric_version="v1",
            ).frame
            for start, end in (
                (windows.reference_start, windows.reference_end),
                (windows.current_start, windows.current_end),
            )
        ]  # fmt: skip
    embedded = embed_frames(
        *frames, settings,
        reference_start=windows.reference_start, current_start=windows.current_start,
    )  # fmt: skip
    result = run_drift(
        embedded.reference, embedded.current, drift_share=settings.drift_share,
        embedding_columns=embedded.vector_columns,
    )  # fmt: skip
    return embedded, {c.column: c for c in result.columns}


def _embedding_calls(sim: SimulatorServer) -> int:
    return len(sim.history(EMBEDDING_MODEL))


# Evidently's EmbeddingsDrift always fits a t-SNE picture of the vectors (seconds per
# run): the embedding path is backend-free, so it runs on SQLite only.
@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_shift_day_drifts_and_clean_day_does_not(
    engine: Engine, drift_traffic: Path, sim: SimulatorServer
) -> None:
    load_traffic(engine, drift_traffic)
    settings = _settings(sim.base_url)
    before = _embedding_calls(sim)

    embedded, columns = _compare(engine, SHIFT_DAY, settings)

    # 600 prompts in batches of 128: five HTTP calls, each side bounded to 300 rows.
    assert _embedding_calls(sim) - before == 5
    assert embedded.n_embedded == 600
    assert len(embedded.reference) == len(embedded.current) == 300
    assert len(embedded.vector_columns) == 1536
    distance = columns[DISTANCE]
    assert distance.kind == "numerical"
    assert distance.drifted
    # The new segment's vocabulary moves the current prompts away from the centroid.
    assert embedded.current[DISTANCE].mean() > embedded.reference[DISTANCE].mean()
    vectors = columns[EMBEDDING_SET]
    assert (vectors.kind, vectors.threshold) == ("embedding", EMBEDDING_THRESHOLD)
    assert vectors.drifted
    assert vectors.score is not None
    assert vectors.score > EMBEDDING_THRESHOLD

    _, clean = _compare(engine, CLEAN_DAY, settings)
    assert not clean[DISTANCE].drifted
    assert EMBEDDING_SET in clean


def test_without_an_endpoint_nothing_calls_it(
    engine: Engine, drift_traffic: Path, sim: SimulatorServer
) -> None:
    load_traffic(engine, drift_traffic)
    before = _embedding_calls(sim)

    embedded, columns = _compare(engine, SHIFT_DAY, _settings(None))

    assert _embedding_calls(sim) == before
    assert embedded.vector_columns == []
    assert DISTANCE not in embedded.reference
    assert DISTANCE not in columns
    assert EMBEDDING_SET not in columns
    # The rest of the report is untouched: the shift is still found without embeddings.
    assert columns["user_segment"].drifted


def test_cosine_distance_and_missing_key() -> None:
    centroid = np.array([1.0, 0.0], dtype=np.float32)
    vectors = np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]], dtype=np.float32)
    assert cosine_distance(vectors, centroid) == pytest.approx([0.0, 1.0, 2.0])
    settings = DriftSettings(embedding_base_url="http://x/v1", embedding_api_key_env="EMB_KEY")
    with pytest.raises(ValueError, match="EMB_KEY is not set"):
        embedding_endpoint(settings, environ={})
    endpoint = embedding_endpoint(settings, environ={"EMB_KEY": "sk-secret"})
    assert endpoint is not None
    assert endpoint.api_key is not None
    assert "sk-secret" not in repr(endpoint)
