"""The site in headless Chromium (no network) on both backends: the charts render, every
alert link leads to a triage page on disk, and hostile ids and prompts run nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from llmwatch.aggregation import replace_template_spend
from llmwatch.site import generate_site
from llmwatch.site.layout import slug
from llmwatch.warehouse.models import Judgement, Request
from tests.core.site.warehouse_rows import START, fill_warehouse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# If any of this ran, the page title changes or the body gets the attribute.
PAYLOAD = (
    "<script>document.title='pwned'</script>"
    "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','yes')\">"
)
HOSTILE_FEATURE = f"chat{PAYLOAD}"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def _hostile_requests(engine: Engine, hours: int) -> None:
    """Prompts in the alerted window of rag_qa: the triage page samples them."""
    at = START + timedelta(hours=hours - 2, minutes=10)
    with engine.begin() as conn:
        conn.execute(
            insert(Request),
            [
                {
                    "request_id": f"hostile-{i}", "ts": at + timedelta(minutes=i),
                    "feature_id": "rag_qa", "model_id": "gpt-4o-mini", "latency_ms": 900.0,
                    "input_tokens": 30, "output_tokens": 40, "cost_usd": 0.0001,
                    "input": f"{PAYLOAD} {i}", "output": PAYLOAD, "user_segment": PAYLOAD,
                    "prompt_template_id": PAYLOAD, "ingested_at": at + timedelta(hours=1),
                }
                for i in range(5)
            ],
        )  # fmt: skip
        conn.execute(
            insert(Judgement),
            [
                {
                    "request_id": f"hostile-{i}", "feature_id": "rag_qa",
                    "model_id": "gpt-4o-mini", "request_ts": at + timedelta(minutes=i),
                    "rubric_version": "v1", "judge_model": "judge", "status": "ok",
                    "score": 2.0, "reasons": PAYLOAD, "judged_at": at + timedelta(hours=1),
                }
                for i in range(5)
            ],
        )  # fmt: skip


def test_pages_render_in_chromium_and_nothing_runs(engine: Engine, tmp_path: Path) -> None:
    hours = 24 * 8
    fill_warehouse(engine, hours=hours, features=("rag_qa", "support_chat", HOSTILE_FEATURE))
    _hostile_requests(engine, hours)
    with engine.begin() as conn:  # the hourly job's spend by template for that window
        replace_template_spend(conn, START + timedelta(hours=hours - 2), cap=200)
    reports = tmp_path / "reports"
    generate_site(engine, reports)

    pages = {
        "home": reports / "index.html",
        "feature": reports / "feature" / "rag_qa.html",
        "range": reports / "index@7d.html",
        "hostile-feature": reports / "feature" / f"{slug(HOSTILE_FEATURE)}.html",
    }
    triage_links: set[Path] = set()
    for name, page in pages.items():
        shot = tmp_path / f"{name}.png"
        _chromium(tmp_path / f"profile-{name}-shot", "--window-size=1400,2000",
                  f"--screenshot={shot}", page.resolve().as_uri())  # fmt: skip
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 20_000  # not a blank page
        dom = _chromium(tmp_path / f"profile-{name}", "--dump-dom", page.resolve().as_uri()).stdout

        assert "<title>pwned</title>" not in dom
        assert 'data-pwned="yes"' not in dom
        assert "<img" not in dom
        assert re.search(r"<title>(llmwatch:|Feature) [^<]*- llmwatch</title>", dom), dom[:300]
        assert dom.count("<svg") >= 4
        assert len(re.findall(r'class="series"', dom)) >= 4
        ticks = re.findall(r'<text class="xtick"[^>]*>([^<]+)</text>', dom)
        assert len(ticks) >= 4 * 4
        assert len(set(ticks)) >= 4  # labelled ticks, not only the first and last
        if name == "home":  # the hostile template is a row of the top spenders, as text
            spenders = re.findall(r'<tr class="spender">(.*?)</tr>', dom)
            assert any("&lt;script&gt;document.title" in row for row in spenders)
        for href in re.findall(r'href="([^"]*triage/[^"]+)"', dom):
            triage_links.add((page.parent / href).resolve())
    assert triage_links
    assert all(p.is_file() for p in triage_links)

    # The triage page linked from home shows the hostile prompts as text.
    (triage,) = {p for p in triage_links if p.name == "1.html"}
    dom = _chromium(tmp_path / "profile-triage", "--dump-dom", triage.as_uri()).stdout
    assert "hostile-0" in dom
    assert 'data-pwned="yes"' not in dom
    assert "<title>pwned</title>" not in dom
