"""Text embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint.

A small synchronous batch call for jobs that embed a bounded sample (the drift
report): texts go in batches, each batch is retried on transient failures (429, 5xx,
timeouts, malformed answers) with full-jitter backoff or exactly ``Retry-After``, and a
wrong key, URL or model (401/403/404) stops at once. The key travels in the
``Authorization`` header only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import httpx
import numpy as np
import orjson

from llmwatch.llm.client import Endpoint, Limits, _retry_after
from llmwatch.llm.errors import FatalEndpointError, PermanentRequestError, RetriesExhaustedError
from llmwatch.llm.retry import FATAL_STATUS, RETRYABLE_STATUS, backoff_delay


def embeddings_url(endpoint: Endpoint) -> str:
    return endpoint.base_url.rstrip("/") + "/embeddings"


def embed_texts(
    http: httpx.Client,
    endpoint: Endpoint,
    texts: Sequence[str],
    *,
    batch_size: int = 128,
    limits: Limits | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> np.ndarray:
    """One float32 row per text, in order; raises an ``LLMError`` when it cannot."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    limits = limits or Limits()
    rows: list[np.ndarray] = []
    for lo in range(0, len(texts), batch_size):
        batch = list(texts[lo : lo + batch_size])
        rows.append(_embed_batch(http, endpoint, batch, limits, rng, sleep))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    widths = {r.shape[1] for r in rows}
    if len(widths) != 1:
        raise PermanentRequestError(200, f"embedding width changed between batches: {widths}")
    return np.vstack(rows)


def _embed_batch(
    http: httpx.Client,
    endpoint: Endpoint,
    batch: list[str],
    limits: Limits,
    rng: random.Random | None,
    sleep: Callable[[float], None],
) -> np.ndarray:
    payload = orjson.dumps({**endpoint.params, "model": endpoint.model, "input": batch})
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key is not None:
        headers["Authorization"] = f"Bearer {endpoint.api_key.get_secret_value()}"
    attempt = 0
    while True:
        attempt += 1
        retry_after: float | None = None
        try:
            response = http.post(embeddings_url(endpoint), content=payload, headers=headers)
        except httpx.TransportError as exc:  # timeouts included
            problem = f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if status == 200:
                try:
                    return _parse(response.content, len(batch))
                except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
                    problem = f"malformed embeddings response: {exc}"
            elif status in FATAL_STATUS:
                raise FatalEndpointError(status, response.text)
            elif status in RETRYABLE_STATUS or status >= 500:
                problem = f"HTTP {status}: {response.text[:200]}"
                retry_after = _retry_after(response.headers)
            else:
                raise PermanentRequestError(status, response.text)
        if attempt > limits.max_retries:
            raise RetriesExhaustedError(attempt, problem)
        if retry_after is not None:
            delay = min(retry_after, limits.max_retry_after_s)
        else:
            delay = backoff_delay(attempt - 1, limits.backoff_base_s, limits.backoff_max_s, rng)
        sleep(delay)


def _parse(content: bytes, expected: int) -> np.ndarray:
    data = orjson.loads(content)["data"]
    if len(data) != expected:
        raise ValueError(f"{len(data)} embeddings for {expected} inputs")
    ordered = sorted(data, key=lambda item: int(item["index"]))
    if [int(item["index"]) for item in ordered] != list(range(expected)):
        raise ValueError("embedding indexes do not match the inputs")
    matrix = np.asarray([item["embedding"] for item in ordered], dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
        raise ValueError(f"embeddings are not finite vectors of one width: {matrix.shape}")
    return matrix
