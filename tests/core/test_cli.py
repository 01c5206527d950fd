"""The command line, run as a user would: a real process on a real warehouse file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def llmwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmwatch", *args], capture_output=True, text=True, timeout=120
    )


def test_init_ingest_alerts_on_the_shipped_sample(tmp_path: Path) -> None:
    assert "has no schema" in llmwatch("alerts").stderr
    first = llmwatch("init")
    assert first.returncode == 0
    assert "upgraded from empty" in first.stdout
    assert "up to date" in llmwatch("init").stdout

    loaded = llmwatch("ingest", str(EXAMPLES / "sample" / "requests.jsonl"))
    assert loaded.returncode == 3, loaded.stderr
    assert (
        loaded.stdout.strip()
        .splitlines()[-1]
        .startswith("files: 1 read, 0 already ingested; loaded 3000, duplicate 0, rejected 8")
    )
    again = llmwatch("ingest", str(EXAMPLES / "sample" / "requests.jsonl"))
    assert again.returncode == 0
    assert "0 read, 1 already ingested; loaded 0" in again.stdout

    alerts = json.loads(llmwatch("alerts", "--json").stdout)
    assert [a["kind"] for a in alerts] == ["ingest_rejects"]
    assert alerts[0]["value"] == 8.0
    assert json.loads(llmwatch("alerts", "--json", "--since", "2999-01-01").stdout) == []


def test_missing_file_fails_clearly(tmp_path: Path) -> None:
    llmwatch("init")
    result = llmwatch("ingest", "nope.jsonl")
    assert result.returncode == 1
    assert "nope.jsonl: no such file or folder" in result.stderr
