"""Strict parsing of the judge's answer: a valid verdict or a failure, never a guess.

Accepted: exactly one JSON object (optionally inside one Markdown code fence, which
models add even when told not to), with every rubric key present, integer scores in
range, a boolean hallucination flag. Anything else is a :class:`ParseFailure` that
keeps the raw text; no score is ever made up for it.
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
    if has_context:
        context_relevance: int | None = _score(data, "context_relevance")
    else:
        value = data.get("context_relevance")
        # Without a context block there is nothing to rate; a number here is ignored
        # rather than stored as if it meant something.
        context_relevance = None if value is None or _is_int(value) else _bad(value)
    if "hallucination" not in data:
        raise ValueError("missing key 'hallucination'")
    hallucination = data["hallucination"]
    if not isinstance(hallucination, bool):
        raise ValueError(f"hallucination must be true or false, got {hallucination!r}")
    reasons = data.get("reasons", "")
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(value: Any) -> int:
    raise ValueError(f"context_relevance must be an integer or null, got {value!r}")


def _score(data: dict[str, Any], name: str) -> int:
    if name not in data:
        raise ValueError(f"missing key {name!r}")
    value = data[name]
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not SCORE_MIN <= value <= SCORE_MAX:
        raise ValueError(f"{name}={value} is outside {SCORE_MIN}..{SCORE_MAX}")
    return int(value)
