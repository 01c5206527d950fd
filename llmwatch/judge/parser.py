"""Strict parsing of the judge's answer: a valid verdict or a failure, never a guess.

Accepted: exactly one JSON object (optionally inside one Markdown code fence, which
models add even when told not to), with every scored dimension present as an integer in
range and a hallucination flag. The common, unambiguous variants of SPEC 4.3 are read as
what they mean, and nothing else:

* a boolean written as a string: "true"/"false"/"yes"/"no" (any case, trimmed);
* an integer score written as a string of digits ("4", " 4 ");
* an optional dimension left out: ``context_relevance`` (read as null) and ``reasons``
  (read as empty).

Anything else (a float score such as 4.5 or "4.0", "4/5", "maybe", a missing scored
dimension) is a :class:`ParseFailure` that keeps the raw text; no score is ever made up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmwatch.judge.rubric import SCORE_MAX, SCORE_MIN, SCORED_DIMENSIONS

_FENCE = re.compile(r"^```(?:json|JSON)?\s*\n(?P<body>.*)\n```$", re.DOTALL)
MAX_REASONS_CHARS = 2000


@dataclass(frozen=True)
class Verdict:
    faithfulness: int
    relevance: int
    completeness: int
    context_relevance: int | None
    hallucination: bool
    reasons: str

    @property
    def score(self) -> float:
        """The charted quality score: the mean of the scored dimensions (1 to 5)."""
        return sum(getattr(self, name) for name in SCORED_DIMENSIONS) / len(SCORED_DIMENSIONS)


@dataclass(frozen=True)
class ParseFailure:
    reason: str
    raw: str | None


def parse_verdict(
    raw: str | None, has_context: bool, finish_reason: str | None = None
) -> Verdict | ParseFailure:
    if raw is None or not raw.strip():
        return ParseFailure("empty judge answer", raw)
    if finish_reason == "length":
        return ParseFailure("judge answer truncated (finish_reason=length)", raw)
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group("body").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParseFailure(f"not JSON: {exc.msg} at char {exc.pos}", raw)
    if not isinstance(data, dict):
        return ParseFailure(f"JSON is a {type(data).__name__}, not an object", raw)
    try:
        return _verdict(data, has_context)
    except ValueError as exc:
        return ParseFailure(str(exc), raw)


def _verdict(data: dict[str, Any], has_context: bool) -> Verdict:
    scores = {name: _score(data, name) for name in SCORED_DIMENSIONS}
    value = data.get("context_relevance")
    if has_context and value is not None:
        context_relevance: int | None = _score(data, "context_relevance")
    else:
        # Left out or null: not rated. Without a context block there is nothing to rate;
        # a number there is ignored rather than stored as if it meant something.
        context_relevance = None if value is None or _as_int(value) is not None else _bad(value)
    if "hallucination" not in data:
        raise ValueError("missing key 'hallucination'")
    hallucination = _as_bool(data["hallucination"])
    if hallucination is None:
        raise ValueError(f"hallucination must be true or false, got {data['hallucination']!r}")
    reasons = data.get("reasons", "")
    if reasons is None:
        reasons = ""
    if not isinstance(reasons, str):
        raise ValueError("reasons must be a string")
    return Verdict(
        faithfulness=scores["faithfulness"],
        relevance=scores["relevance"],
        completeness=scores["completeness"],
        context_relevance=context_relevance,
        hallucination=hallucination,
        reasons=reasons[:MAX_REASONS_CHARS],
    )


_BOOLEAN_WORDS = {"true": True, "yes": True, "false": False, "no": False}
_DIGITS = re.compile(r"^\s*[0-9]+\s*$")


def _as_bool(value: Any) -> bool | None:
    """A JSON boolean, or one of the unambiguous words; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _BOOLEAN_WORDS.get(value.strip().lower())
    return None


def _as_int(value: Any) -> int | None:
    """A JSON integer, or a string of digits; None for anything else (floats included)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    return None


def _bad(value: Any) -> int:
    raise ValueError(f"context_relevance must be an integer or null, got {value!r}")


def _score(data: dict[str, Any], name: str) -> int:
    if name not in data:
        raise ValueError(f"missing key {name!r}")
    value = _as_int(data[name])
    if value is None:
        raise ValueError(f"{name} must be an integer, got {data[name]!r}")
    if not SCORE_MIN <= value <= SCORE_MAX:
        raise ValueError(f"{name}={value} is outside {SCORE_MIN}..{SCORE_MAX}")
    return value
