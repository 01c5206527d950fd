"""Structured output for the judge: ask for the verdict's JSON schema where the endpoint
accepts it, fall back when it refuses, and remember the refusal per endpoint.

The preference order is ``response_format`` = ``json_schema`` (OpenAI structured
outputs, vLLM, recent llama.cpp and Ollama), then ``json_object`` (JSON mode), then none.
An endpoint that answers a request with 400/422 naming the response format is asked with
the next one; the step down is kept for the life of the process, so later calls and
later runs served by it do not pay for the refusal again. The parser stays strict either
way: structured output makes failures rarer, it is not trusted to prevent them.
"""

from __future__ import annotations

import threading
from typing import Any

from llmwatch.judge.rubric import SCORE_MAX, SCORE_MIN
from llmwatch.llm import PermanentRequestError

_SCORE = {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX}
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "faithfulness": _SCORE,
        "relevance": _SCORE,
        "completeness": _SCORE,
        "context_relevance": {
            "type": ["integer", "null"],
            "minimum": SCORE_MIN,
            "maximum": SCORE_MAX,
        },
        "hallucination": {"type": "boolean"},
        "reasons": {"type": "string"},
    },
    "required": [
        "faithfulness",
        "relevance",
        "completeness",
        "context_relevance",
        "hallucination",
        "reasons",
    ],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "judge_verdict", "strict": True, "schema": VERDICT_SCHEMA},
}
JSON_OBJECT_FORMAT: dict[str, Any] = {"type": "json_object"}
# Words an endpoint's 400 names when it refuses the format itself (not the request).
_REFUSAL_WORDS = ("response_format", "json_schema", "json schema", "structured output")

Format = dict[str, Any] | None


def response_formats(json_schema: bool, json_mode: bool) -> tuple[Format, ...]:
    """The formats to try, best first; always ending with none."""
    formats: list[Format] = []
    if json_schema:
        formats.append(JSON_SCHEMA_FORMAT)
    if json_mode:
        formats.append(JSON_OBJECT_FORMAT)
    formats.append(None)
    return tuple(formats)


def is_format_refusal(exc: PermanentRequestError) -> bool:
    body = exc.body.lower()
    return exc.status in (400, 415, 422) and any(word in body for word in _REFUSAL_WORDS)


class FormatMemory:
    """Per endpoint, how many formats of its list it refused (process-wide)."""

    def __init__(self) -> None:
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()

    def level(self, endpoint: str) -> int:
        with self._lock:
            return self._refused.get(endpoint, 0)

    def refuse(self, endpoint: str, level: int) -> None:
        with self._lock:
            self._refused[endpoint] = max(self._refused.get(endpoint, 0), level + 1)

    def clear(self) -> None:
        with self._lock:
            self._refused.clear()


FORMATS = FormatMemory()
