"""Deterministic sampling: a request is in the sample iff the hash of its id says so.

The same request is sampled (or not) in every run, on every machine, and raising a
feature's rate only adds requests to its sample.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

_SALT = b"llmwatch-judge-sample:"


def sample_point(request_id: str) -> float:
    """A uniform number in [0, 1) fixed by the request id."""
    digest = hashlib.sha256(_SALT + request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def sample_rate(feature_id: str, rates: Mapping[str, float], default: float) -> float:
    return rates.get(feature_id, default)


def is_sampled(request_id: str, rate: float) -> bool:
    return sample_point(request_id) < rate
