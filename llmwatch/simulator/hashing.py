"""Deterministic pseudo-randomness keyed by content, independent of call order.

The server answers concurrent requests; drawing from one shared RNG would make each
answer depend on thread scheduling. Hashing the inputs instead makes the same request to
the same model version give the same answer, like a real model at temperature 0.
"""

from __future__ import annotations

import hashlib


def stable_int(*parts: object) -> int:
    """A 64-bit integer that depends only on ``parts``."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def stable_uniform(*parts: object) -> float:
    """A float in [0, 1) that depends only on ``parts``."""
    return stable_int(*parts) / 2.0**64


def stable_hex(*parts: object, length: int = 10) -> str:
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()[
        :length
    ]
