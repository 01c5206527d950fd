"""The command line, run as a user would: a real process on a real warehouse file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.s3server import SECRET_KEY, S3Server

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
    # The inbox the ingest deployment reads (and the recorder's layout) exists now.
    assert Path(".llmwatch/inbox/requests").is_dir()
    assert Path(".llmwatch/inbox/signals").is_dir()
    assert "inbox .llmwatch/inbox/{requests,signals}" in first.stdout
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


def _count(table: str) -> int:
    import sqlite3

    with sqlite3.connect(".llmwatch/warehouse.db") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _lines(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_ingest_folder_recognises_signal_files_and_force_reads_a_file_again(
    tmp_path: Path,
) -> None:
    requests = [
        {
            "request_id": f"r{i}",
            "timestamp": f"2026-11-01T10:{i:02d}:00Z",
            "feature_id": "chat",
            "model_id": "gpt-4o-mini-2024-07-18",
            "latency_ms": 100,
            "input_tokens": 10,
            "output_tokens": 5,
        }
        for i in range(6)
    ]

    def signals(prefix: str) -> list[dict[str, object]]:
        return [
            {
                "request_id": f"r{i}",
                "signal_type": "thumbs_up",
                "timestamp": f"2026-11-01T11:{i:02d}:00Z",
                "session_id": f"{prefix}{i}",
            }
            for i in range(3)
        ]

    # The recorder's layout (requests/ and signals/ sub-folders) and a signals file by name.
    spool = tmp_path / "spool"
    _lines(spool / "requests" / "requests-1.jsonl", requests)
    _lines(spool / "signals" / "batch-1.jsonl", signals("a"))
    _lines(spool / "app_signals.jsonl", signals("b"))
    assert llmwatch("init").returncode == 0
    loaded = llmwatch("ingest", "-v", str(spool))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "files: 3 read, 0 already ingested; loaded 12, duplicate 0, rejected 0" in (
        loaded.stdout
    )
    assert (_count("requests"), _count("user_signals"), _count("ingest_rejects")) == (6, 6, 0)

    # A signals file whose name says nothing is read as requests: every line rejected.
    # Asking again with --signals says what happened, and --force reads it again.
    feedback = _lines(tmp_path / "feedback.jsonl", signals("c"))
    wrong = llmwatch("ingest", str(feedback))
    assert wrong.returncode == 3
    again = llmwatch("ingest", "--signals", str(feedback))
    assert again.returncode == 0
    assert "was ingested as requests" in again.stdout
    assert "--force" in again.stdout
    forced = llmwatch("ingest", "--signals", "--force", str(feedback))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "files: 1 read, 0 already ingested; loaded 3" in forced.stdout
    assert _count("user_signals") == 9
    assert _count("ingested_files") == 4
    # Forcing a file already loaded doubles nothing (ids are idempotent).
    twice = llmwatch("ingest", "--force", str(spool / "requests"))
    assert "files: 1 read, 0 already ingested; loaded 0, duplicate 6" in twice.stdout
    assert (_count("requests"), _count("ingested_files")) == (6, 4)

    help_text = llmwatch("ingest", "--help").stdout
    assert "--force" in help_text
    assert "signals" in help_text


def _leaf_commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import click

    assert isinstance(group, click.Group)
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _leaf_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_a_config_typo_stops_every_command_with_one_line_and_no_secret(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from llmwatch.cli import main

    token = "T0KEN-4f9a-never-print-me"
    Path("llmwatch.toml").write_text(
        f'[[routing.webhooks]]\nname = "ops"\nurl = "https://hooks.example/{token}"\n'
        "[judge]\nsample_rate = 0.1\n"
    )
    expected = "Error: invalid configuration in llmwatch.toml: [judge] sample_rate: unknown key"
    commands = _leaf_commands(main)
    assert len(commands) > 15
    for command in commands:
        result = CliRunner().invoke(main, list(command))
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.strip() == expected, (command, result.stderr)
        assert token not in result.output

    # As a real process: one line on stderr, no traceback, exit code 2.
    process = llmwatch("run", "cost")
    assert process.returncode == 2
    assert process.stderr.strip() == expected
    assert process.stdout == ""
    # Help still works with a broken file (to find out what the keys are).
    assert llmwatch("run", "cost", "--help").returncode == 0


def _exit_codes(text: str) -> dict[int, str]:
    """'0 pass, 1 regression (...), 3 inconclusive' -> {0: 'pass', 1: ..., 3: ...}."""
    import re

    return {int(code): word for code, word in re.findall(r"\b(\d) ([a-z]+)", text)}


def _help_exit_codes(*command: str) -> dict[int, str]:
    from click.testing import CliRunner

    from llmwatch.cli import main

    text = " ".join(CliRunner().invoke(main, [*command, "--help"]).output.split())
    assert "Exit status:" in text, command
    return _exit_codes(text.split("Exit status:", 1)[1].split("Options:", 1)[0])


def test_help_exit_codes_agree_with_the_code_and_the_readme() -> None:
    from llmwatch.cli.common import EXIT_USAGE
    from llmwatch.cli.ingest import EXIT_REJECTS
    from llmwatch.cli.run_canary import EXIT_INCONCLUSIVE, EXIT_REGRESSION
    from llmwatch.compare import EXIT_CODES

    gate = {0: "pass", EXIT_REGRESSION: "regression", EXIT_INCONCLUSIVE: "inconclusive"}
    expected = {
        ("run", "golden"): gate,
        ("run", "canary"): gate,
        ("run", "compare"): {code: verdict for verdict, code in EXIT_CODES.items()},
        ("ingest",): {0: "loaded", EXIT_REJECTS: "rejects", 1: "failure"},
        ("demo",): {0: "caught", 1: "missed"},
    }
    readme = (EXAMPLES.parent / "README.md").read_text()
    usage = readme.split("## Using it", 1)[1].split("```", 2)[1]
    for command, codes in expected.items():
        assert _help_exit_codes(*command) == {**codes, EXIT_USAGE: "usage"}, command
        # The README's line of the command (its comment may wrap onto the next line)
        # gives some of the codes, each with the same meaning.
        line = usage.split(f"llmwatch {' '.join(command)} ", 1)[1].split("\nllmwatch ", 1)[0]
        in_readme = _exit_codes(line.split("# exit", 1)[1])
        assert in_readme, command
        assert in_readme.items() <= codes.items(), (command, in_readme)
    assert "exits 2 on a usage or configuration error" in readme


def test_since_takes_durations_and_iso_times_everywhere(tmp_path: Path) -> None:
    from llmwatch.times import FORMS

    assert llmwatch("init").returncode == 0
    assert llmwatch("ingest", str(EXAMPLES / "sample" / "requests.jsonl")).returncode == 3
    for since in ("2h", "7d", "30m", "2020-01-01", "2020-01-01T00:00:00+02:00"):
        result = llmwatch("alerts", "--since", since, "--json")
        assert result.returncode == 0, (since, result.stderr)
        assert [a["kind"] for a in json.loads(result.stdout)] == ["ingest_rejects"], since
    assert json.loads(llmwatch("alerts", "--since", "0s", "--json").stdout) == []
    bad = llmwatch("alerts", "--since", "soon")
    assert bad.returncode == 2
    assert "neither a duration (30m, 2h, 7d) nor an ISO-8601 time" in bad.stderr
    # Every --since/--until/--start/--end says which forms it takes.
    from click.testing import CliRunner

    from llmwatch.cli import main

    for command in (["alerts"], ["run", "cost"], ["run", "judge"]):
        text = " ".join(CliRunner().invoke(main, [*command, "--help"]).output.split())
        assert FORMS in text, command
    compare_help = " ".join(CliRunner().invoke(main, ["run", "compare", "--help"]).output.split())
    assert "(30m, 2h, 7d) or an ISO-8601 time" in compare_help


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://u:sekret-pw@127.0.0.1:1/db", "warehouse postgresql+psycopg://u:"),
        ("notaurl", "the warehouse URL is not a database URL"),
    ],
)
def test_a_wrong_warehouse_url_is_one_line_without_the_password(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from llmwatch.cli import main
    from llmwatch.settings import get_settings

    monkeypatch.setenv("LLMWATCH_WAREHOUSE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {expected}")
    assert "sekret-pw" not in result.output
    assert "Traceback" not in result.output


def test_ingest_reads_an_object_store_url(
    warehouse_url: str, s3_server: S3Server, s3_inbox: str
) -> None:
    bucket, _, prefix = s3_inbox.removeprefix("s3://").partition("/")
    body = (EXAMPLES / "sample" / "requests.jsonl").read_bytes()
    s3_server.client().put_object(Bucket=bucket, Key=f"{prefix}/day/requests.jsonl", Body=body)

    loaded = llmwatch("ingest", "-v", s3_inbox)
    assert loaded.returncode == 3, loaded.stderr
    assert f"{s3_inbox}/day/requests.jsonl: requests: loaded 3000" in loaded.stdout
    assert (
        loaded.stdout.strip()
        .splitlines()[-1]
        .startswith("files: 1 read, 0 already ingested; loaded 3000, duplicate 0, rejected 8")
    )
    again = llmwatch("ingest", s3_inbox)
    assert again.returncode == 0, again.stderr
    assert "0 read, 1 already ingested; loaded 0" in again.stdout
    forced = llmwatch("ingest", "--force", s3_inbox)
    assert forced.returncode == 2
    assert "--force reads local files again" in forced.stderr
    for run in (loaded, again, forced):
        assert SECRET_KEY not in run.stdout + run.stderr


def test_a_drift_day_out_of_the_calendar_is_one_line(tmp_path: Path) -> None:
    """`run drift --date 9999-12-31` raised OverflowError inside the flow (issue 16.9)."""
    from click.testing import CliRunner

    from llmwatch.cli import main

    for day in ("9999-12-31", "0001-01-03"):
        result = CliRunner().invoke(main, ["run", "drift", "--date", day])
        assert result.exit_code == 2, result.output
        assert f"Invalid value for --date: {day} is out of range" in result.stderr
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, OverflowError)
