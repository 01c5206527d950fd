"""Generated traffic for drift tests: three clean days, then a day with an input shift.

Shared with the flow tests (tests/flows/test_drift_report.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from llmwatch.ingest import ingest_paths
from llmwatch.settings import Settings
from llmwatch.simulator import Scenario
from llmwatch.simulator.writer import generate

CLEAN_DAY = date(2025, 6, 4)
SHIFT_DAY = date(2025, 6, 5)
REQUESTS_PER_DAY = 2_000
# The columns the developer_beta segment moves: who asks, what and how long.
SHIFTED_COLUMNS = {"user_segment", "prompt", "prompt_chars", "prompt_words", "input_tokens"}

SCENARIO = {
    "scenario": {
        "name": "drift-test",
        "start": "2025-06-02T00:00:00Z",
        "days": 4,
        "seed": 7,
        "requests_per_day": REQUESTS_PER_DAY,
    },
    "incidents": [
        {
            "kind": "input_shift",
            "feature": "support_chat",
            "start": "+3d",
            "end": "+4d",
            "segment": "developer_beta",
            "share": 0.4,
        }
    ],
}


def write_traffic(out: Path) -> Path:
    generate(out, Scenario.from_dict(SCENARIO))
    return out


def load_traffic(engine: Engine, folder: Path) -> None:
    summary = ingest_paths(engine, [folder], Settings())
    assert summary.total("loaded") > 3 * REQUESTS_PER_DAY
