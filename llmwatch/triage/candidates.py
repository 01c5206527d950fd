"""Learn: the cases an alert flagged become golden-set candidates, for a human to review.

Candidates go to their own file (never the live dataset), in the golden dataset format
of ``llmwatch.evals.dataset``, as judge-against-reference examples whose ``reference`` is
left empty: the right answer is what the reviewer writes before moving a case into the
live set. A ``#`` comment line before each case (the loader skips comments) keeps where
it came from: the alert, the request, the flagged answer and the judge's reasons.
Appending is idempotent: a case already in the file (by id) is not written again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from llmwatch.triage.report import DEFAULT_LIMIT, build_report
from llmwatch.triage.samples import affected_responses

CANDIDATES_DIR = Path("golden") / "candidates"


@dataclass
class CandidateResult:
    path: Path
    added: list[str]
    already_present: list[str]
    skipped_without_input: list[str]


def default_candidates_path(alert_id: int) -> Path:
    return CANDIDATES_DIR / f"{int(alert_id)}.jsonl"


def candidate_id(request_id: str) -> str:
    return f"flagged-{request_id}"[:200]


def add_from_flagged(
    engine: Engine, alert_id: int, out: Path | None = None, *, limit: int = DEFAULT_LIMIT
) -> CandidateResult:
    report = build_report(engine, alert_id, limit=1)
    with engine.connect() as conn:
        flagged = affected_responses(
            conn,
            report.metric,
            report.window_start,
            report.window_end,
            feature_id=report.alert["feature_id"],
            model_id=report.alert["model_id"],
            limit=limit,
            text_chars=None,
        )
    path = out or default_candidates_path(alert_id)
    present = _present_ids(path)
    result = CandidateResult(path, [], [], [])
    lines: list[str] = []
    for case in flagged:
        example_id = candidate_id(case["request_id"])
        if not case.get("input"):
            result.skipped_without_input.append(case["request_id"])
            continue
        if example_id in present:
            result.already_present.append(example_id)
            continue
        present.add(example_id)
        result.added.append(example_id)
        lines.append("# " + json.dumps(_provenance(report.alert, case), ensure_ascii=False))
        lines.append(json.dumps(_example(example_id, case), ensure_ascii=False))
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return result


def _example(example_id: str, case: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": example_id,
        "intent": case["feature_id"],
        "prompt": case["input"],
        "check": {"type": "judge", "reference": ""},
    }


def _provenance(alert: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidate": candidate_id(case["request_id"]),
        "review": "write the reference answer before moving this case into the live set",
        "alert_id": alert["id"],
        "alert_kind": alert["kind"],
        "request_id": case["request_id"],
        "model_id": case["model_id"],
        "flagged_output": case.get("output"),
        "context": case.get("context"),
        "judge_score": case.get("judge_score"),
        "judge_reasons": case.get("judge_reasons"),
    }


def _present_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            ids.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            message = f"{path} has a line that is not a golden example: {line[:80]}"
            raise ValueError(message) from None
    return ids
