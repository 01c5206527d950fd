"""Deterministic text embeddings: signed feature hashing of words, L2-normalised.

Texts that share words get close vectors, so the distance of a day's prompts to a
reference centroid rises when a new user segment brings new vocabulary - which is what
the drift job measures with a real embedding model.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

import numpy as np

from llmwatch.simulator.hashing import stable_int

_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65_536)
def _slot(word: str, dimensions: int) -> tuple[int, float]:
    h = stable_int("embed", word)
    return h % dimensions, 1.0 if (h >> 40) & 1 else -1.0


def embed(text: str, dimensions: int = 1536) -> np.ndarray:
    vector = np.zeros(dimensions, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        index, sign = _slot(word, dimensions)
        vector[index] += sign
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        # An empty text still gets a valid unit vector, as real embedding APIs return one.
        vector[stable_int("empty", text) % dimensions] = 1.0
        return vector
    return vector / norm


def encode_base64(vector: np.ndarray) -> str:
    """The OpenAI ``encoding_format="base64"`` wire form: little-endian float32 bytes."""
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
