"""Judge health against a real HTTP judge on 127.0.0.1 that never answers in schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from llmwatch.judge import job
from llmwatch.judge.health import judge_health_alerts
from llmwatch.settings import JudgeSettings
from llmwatch.warehouse.models import Alert
from tests.core.judge.helpers import T0, insert_requests, request_row
from tests.core.judge.test_runner import settings_for
from tests.core.llm.fault_server import Action, FaultServer

CHATTY = "The answer is accurate and complete. I'd give it 4 out of 5."


def _judge_failures(engine: Engine) -> list:
    with engine.connect() as conn:
        return (
            conn.execute(select(Alert.__table__).where(Alert.kind == "judge_failure"))
            .mappings()
            .all()
        )


def test_a_judge_that_never_answers_in_schema_raises_one_judge_failure(engine: Engine) -> None:
    # Three features, a few requests each, judged over four runs.
    rows = [
        request_row(f"{feature}-{i}", ts=T0 + timedelta(minutes=7 * i), feature_id=feature)
        for feature in ("notes", "search", "support")
        for i in range(8)
    ]
    insert_requests(engine, rows)
    server = FaultServer(default=Action(content=CHATTY)).start()
    settings = settings_for(
        server.base_url, engine.url.render_as_string(False), max_calls_per_run=6
    )
    setup = job.judge_setup(settings)
    try:
        for _ in range(4):
            selection = job.select(engine, setup, None, None)
            report = asyncio.run(job.judge(engine, setup, selection))
            assert report.parse_failures == report.selected > 0
            job.chart(engine, setup, datetime.now(UTC))
            job.check_health(engine, setup, report)
    finally:
        server.stop()
    (alert,) = _judge_failures(engine)
    assert alert["model_id"] == setup.judge_model
    assert alert["feature_id"] is None
    assert alert["value"] == 1.0
    assert "not JSON" in alert["message"]


def test_few_failures_per_run_add_up_over_the_trailing_day(engine: Engine) -> None:
    # A low-volume feature: two judge calls per run, both unusable. No run alone has the
    # five calls needed; the day does.
    cfg = JudgeSettings()
    now = datetime(2026, 3, 3, tzinfo=UTC)
    from sqlalchemy import insert

    from llmwatch.warehouse.models import Judgement

    def judged(i: int, at: datetime) -> dict:
        return {
            "request_id": f"r{i}",
            "feature_id": "notes",
            "model_id": "m",
            "request_ts": at,
            "rubric_version": cfg.rubric_version,
            "judge_model": "judge-m",
            "judged_at": at,
            "status": "failure",
            "failure_reason": "not JSON: Expecting value at char 0",
            "raw_response": "sure",
        }

    ids: list[int] = []
    for run in range(4):
        at = now + timedelta(hours=run)
        with engine.begin() as conn:
            conn.execute(
                insert(Judgement.__table__), [judged(2 * run, at), judged(2 * run + 1, at)]
            )
        ids += judge_health_alerts(
            engine, cfg, judge_model="judge-m", run_failures=2, run_total=2, now=at
        )
    # The first two runs leave 2 and 4 failures in the day: below the minimum of 5; the
    # third makes 6 (one alert), the fourth 8 (the same incident: held by the cool-down).
    assert len(ids) == 1
    (alert,) = _judge_failures(engine)
    assert alert["details"]["scope"] == "trailing"
    assert alert["details"]["trailing_failures"] == 6
