"""The reports index links the triage pages found on disk."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from llmwatch.site.page import generate_site


def test_index_lists_triage_pages_on_disk(engine: Engine, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    index = generate_site(engine, reports).read_text()
    assert "No triage reports yet." in index

    (reports / "triage").mkdir()
    for name in ("7.html", "12.html", "notes.html", "3.txt"):
        (reports / "triage" / name).write_text("x")
    index = generate_site(engine, reports).read_text()
    assert '<a href="triage/12.html">alert #12</a>' in index
    assert '<a href="triage/7.html">alert #7</a>' in index
    assert index.index("triage/12.html") < index.index("triage/7.html")
    assert "notes.html" not in index
    assert "3.txt" not in index
