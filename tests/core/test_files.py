"""Report files are written whole and world-readable, whatever the umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from llmwatch.files import write_public_text
from llmwatch.site import generate_site


@pytest.fixture
def strict_umask() -> Iterator[None]:
    previous = os.umask(0o077)  # a service account's umask: nothing for others
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_reports_index_is_world_readable(
    engine: Engine, tmp_path: Path, strict_umask: None
) -> None:
    reports = tmp_path / "srv" / "reports"
    index = generate_site(engine, reports)
    assert mode(index) == 0o644
    assert mode(reports) == mode(reports.parent) == 0o755
    # One home page per range, each world-readable; no temporary left.
    assert sorted(p.name for p in reports.iterdir()) == [
        "index.html",
        "index@30d.html",
        "index@7d.html",
    ]
    assert {mode(p) for p in reports.iterdir()} == {0o644}
    generate_site(engine, reports)  # rewritten in place: still readable
    assert mode(index) == 0o644


def test_an_existing_folder_keeps_its_mode_and_a_failed_write_leaves_nothing(
    tmp_path: Path, strict_umask: None
) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    folder.chmod(0o750)
    page = write_public_text(folder / "drift" / "2026-01-01.html", "<p>ok</p>")
    assert (mode(page), mode(page.parent), mode(folder)) == (0o644, 0o755, 0o750)

    with pytest.raises(TypeError):
        write_public_text(folder / "drift" / "bad.html", 3)  # type: ignore[arg-type]
    assert sorted(p.name for p in page.parent.iterdir()) == ["2026-01-01.html"]
