"""Which windows a run may chart: never past what it could have judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmwatch.judge.job import closed_before
from llmwatch.judge.runner import JudgeRunReport
from llmwatch.settings import JudgeSettings

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
CFG = JudgeSettings()


def test_a_live_run_charts_up_to_the_settle_time() -> None:
    settled = NOW - timedelta(minutes=CFG.chart_settle_minutes)
    assert closed_before(JudgeRunReport(), CFG, NOW) == settled


def test_a_back_fill_charts_no_further_than_its_end() -> None:
    end = datetime(2026, 11, 3, tzinfo=UTC)
    assert closed_before(JudgeRunReport(), CFG, NOW, until=end) == end


def test_a_pending_sample_holds_its_window_open() -> None:
    pending = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)
    report = JudgeRunReport(earliest_pending_ts=pending)
    end = datetime(2026, 11, 3, tzinfo=UTC)
    assert closed_before(report, CFG, NOW, until=end) == pending
