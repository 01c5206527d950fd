from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from llmwatch.cli import main
from llmwatch.judge.rebaseline import NoChartError, rebaseline_feature
from llmwatch.settings import get_settings
from llmwatch.warehouse.models import ChartPoint, ChartRebaseline, ChartState
from tests.core.judge.helpers import T0
from tests.core.judge.test_quality import CFG, HOUR, alerts, history, run


def test_rebaseline_accepts_a_new_level_and_is_recorded(engine: Engine) -> None:
    history(engine, 60, drop_from=18)
    run(engine, T0 + 30 * HOUR)
    raised = len(alerts(engine))
    assert raised > 0  # the drop was signalled ...
    # ... and accepted: rag_qa's new level becomes its baseline from hour 18 on.
    (done,) = rebaseline_feature(
        engine, CFG, "rag_qa", since=T0 + 18 * HOUR + timedelta(minutes=20), reason="new model",
        now=T0 + 30 * HOUR,
    )  # fmt: skip
    assert done.since == T0 + 18 * HOUR
    assert done.previous_phase == "monitoring"
    with engine.connect() as conn:
        state = conn.execute(
            select(ChartState.phase, ChartState.last_window_end).where(
                ChartState.feature_id == "rag_qa"
            )
        ).one()
        kept = (
            conn.execute(
                select(ChartPoint.window_start).where(ChartPoint.chart_id == done.chart_id)
            )
            .scalars()
            .all()
        )
        (record,) = conn.execute(select(ChartRebaseline.__table__)).mappings().all()
    assert tuple(state) == ("warmup", T0 + 18 * HOUR)
    assert max(kept) < T0 + 18 * HOUR  # later points are charted again
    assert record["reason"] == "new model"
    assert record["previous_mu0"] == pytest.approx(done.previous_mu0)
    # Charted again from hour 18: the new level is the baseline, nothing more alerts.
    run(engine, T0 + 60 * HOUR)
    assert len(alerts(engine)) == raised
    with engine.connect() as conn:
        phase = conn.execute(
            select(ChartState.phase).where(ChartState.feature_id == "rag_qa")
        ).scalar_one()
    assert phase == "monitoring"


def test_cli_rebaselines_and_refuses_an_unknown_feature(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NoChartError):
        rebaseline_feature(engine, CFG, "nope")
    history(engine, 30)
    run(engine, T0 + 30 * HOUR)
    monkeypatch.setenv("LLMWATCH_WAREHOUSE_URL", engine.url.render_as_string(False))
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["chart", "rebaseline", "nope"])
    assert result.exit_code != 0
    assert "has no quality chart" in result.output
    args = ["chart", "rebaseline", "support_chat", "--since", "2026-03-02T12:00", "--reason", "x"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "new baseline from 2026-03-02T12:00:00+00:00" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(ChartRebaseline.feature_id)).scalars().all() == ["support_chat"]
