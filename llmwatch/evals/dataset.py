"""The golden dataset: a JSONL file of examples with intents, prompts and checks.

One object per line::

    {"id": "arith-001", "intent": "arithmetic", "prompt": "What is 17 * 23? ...",
     "check": {"type": "numeric", "expected": 391},
     "system": "optional system prompt", "params": {"max_tokens": 20},
     "answer": "391"}

``answer`` is an optional known-good answer: the test suite checks that every example's
own check accepts it, so a typo in a check cannot silently fail every model. The version
of a dataset is a hash of the file's content: results of different versions are never
compared with each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from llmwatch.evals.checks import GOLDEN_CHECKS, CheckError, CheckSpec

SHIPPED_DATASET = "golden_v1.jsonl"
_ID_MAX = 200


class DatasetError(ValueError):
    """The dataset file is unusable; the message names the line and the problem."""


@dataclass(frozen=True)
class GoldenExample:
    id: str
    intent: str
    prompt: str
    check: CheckSpec
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None
    # RAG examples: the documents a good retriever returns, for recall@k and MRR.
    relevant_ids: tuple[str, ...] | None = None

    def messages(self) -> list[dict[str, str]]:
        return chat_messages(self.system, self.prompt)


def chat_messages(system: str | None, prompt: str) -> list[dict[str, str]]:
    """The chat messages of one golden example or probe: optional system, then user."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages


@dataclass(frozen=True)
class Dataset:
    name: str
    version: str
    examples: tuple[GoldenExample, ...]

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


def content_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def shipped_path(filename: str) -> Path:
    return Path(str(resources.files("llmwatch.evals") / "data" / filename))


def load_dataset(path: Path | str | None = None) -> Dataset:
    """Load and validate a dataset; every problem raises :class:`DatasetError`."""
    file = Path(path) if path is not None else shipped_path(SHIPPED_DATASET)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read golden dataset {file}: {exc}") from None
    examples: list[GoldenExample] = []
    seen: set[str] = set()
    for number, raw_line in enumerate(data.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith(b"#"):
            continue
        try:
            example = _parse(json.loads(line))
        except (ValueError, CheckError, TypeError) as exc:
            raise DatasetError(f"{file}:{number}: {exc}") from None
        if example.id in seen:
            raise DatasetError(f"{file}:{number}: duplicate example id {example.id!r}")
        seen.add(example.id)
        examples.append(example)
    if not examples:
        raise DatasetError(f"golden dataset {file} has no examples")
    return Dataset(file.stem, content_version(data), tuple(examples))


def _text(raw: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name!r} must be a non-empty string")
    return value


def _parse(raw: Any) -> GoldenExample:
    if not isinstance(raw, dict):
        raise ValueError("each line must be a JSON object")
    known = {"id", "intent", "prompt", "system", "check", "params", "answer", "relevant_ids"}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    example_id = str(_text(raw, "id"))
    intent = str(_text(raw, "intent"))
    prompt = str(_text(raw, "prompt"))
    if len(example_id) > _ID_MAX or len(intent) > _ID_MAX:
        raise ValueError("id and intent must be at most 200 characters")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError("'params' must be an object")
    relevant = raw.get("relevant_ids")
    if relevant is not None and (
        not isinstance(relevant, list)
        or not relevant
        or not all(isinstance(r, str) and r for r in relevant)
    ):
        raise ValueError("'relevant_ids' must be a non-empty list of strings")
    return GoldenExample(
        id=example_id,
        intent=intent,
        prompt=prompt,
        check=CheckSpec.parse(raw.get("check"), GOLDEN_CHECKS),
        system=_text(raw, "system", required=False),
        params=params,
        answer=_text(raw, "answer", required=False),
        relevant_ids=tuple(relevant) if relevant is not None else None,
    )
