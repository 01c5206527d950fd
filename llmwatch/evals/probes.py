"""Canary probe definitions (TOML) and the probe set's content version.

::

    [defaults]
    repeats = 3
    max_tokens = 200

    [[probes]]
    id = "json-person"
    category = "format_following"
    prompt = 'Return a JSON object with the keys "name" and "age" for: Ada, 36.'
    check = { type = "json_keys", keys = ["name", "age"] }

``answer`` (optional) is a known-good output that the test suite runs each check on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmwatch.evals.checks import PROBE_CHECKS, CheckError, CheckSpec
from llmwatch.evals.dataset import DatasetError, chat_messages, content_version, shipped_path

SHIPPED_PROBES = "probes_v1.toml"


@dataclass(frozen=True)
class Probe:
    id: str
    category: str
    prompt: str
    check: CheckSpec
    system: str | None = None
    repeats: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None

    def messages(self) -> list[dict[str, str]]:
        return chat_messages(self.system, self.prompt)


@dataclass(frozen=True)
class ProbeSet:
    name: str
    version: str
    probes: tuple[Probe, ...]


def load_probes(path: Path | str | None = None, repeats: int | None = None) -> ProbeSet:
    """Load and validate probes; ``repeats`` overrides the file's default (not per-probe)."""
    file = Path(path) if path is not None else shipped_path(SHIPPED_PROBES)
    try:
        data = file.read_bytes()
        doc = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatasetError(f"cannot read probes {file}: {exc}") from None
    defaults = doc.get("defaults") or {}
    default_repeats = int(repeats if repeats is not None else defaults.get("repeats", 3))
    default_params = {k: v for k, v in defaults.items() if k != "repeats"}
    probes: list[Probe] = []
    seen: set[str] = set()
    for index, raw in enumerate(doc.get("probes") or [], start=1):
        try:
            probe = _parse(raw, default_repeats, default_params)
        except (ValueError, CheckError, TypeError) as exc:
            raise DatasetError(f"{file}: probe #{index}: {exc}") from None
        if probe.id in seen:
            raise DatasetError(f"{file}: duplicate probe id {probe.id!r}")
        seen.add(probe.id)
        probes.append(probe)
    if not probes:
        raise DatasetError(f"probe file {file} defines no [[probes]]")
    return ProbeSet(file.stem, content_version(data), tuple(probes))


def _parse(raw: Any, default_repeats: int, default_params: dict[str, Any]) -> Probe:
    if not isinstance(raw, dict):
        raise ValueError("a probe must be a table")
    unknown = set(raw) - {
        "id",
        "category",
        "prompt",
        "system",
        "check",
        "repeats",
        "params",
        "answer",
    }
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    for name in ("id", "category", "prompt"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ValueError(f"{name!r} must be a non-empty string")
    repeats = int(raw.get("repeats", default_repeats))
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    params = {**default_params, **(raw.get("params") or {})}
    return Probe(
        id=raw["id"],
        category=raw["category"],
        prompt=raw["prompt"],
        check=CheckSpec.parse(raw.get("check"), PROBE_CHECKS),
        system=raw.get("system"),
        repeats=repeats,
        params=params,
        answer=raw.get("answer"),
    )
