"""Spend per window x feature x model x prompt template (the site's top spenders): written
by the hourly job with the window, exact, under the cardinality cap, on both backends."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from llmwatch.aggregation import run_window
from llmwatch.alerts import list_alerts
from llmwatch.settings import CostSettings
from llmwatch.warehouse.models import WindowMetrics, WindowTemplateSpend
from tests.core.aggregation.traffic import BASE_TIME, insert_rows, request


def _spend(engine: Engine) -> dict[tuple[str, str, str], tuple[int, float | None, int]]:
    t = WindowTemplateSpend
    with engine.connect() as conn:
        rows = conn.execute(select(t.__table__).where(t.window_start == BASE_TIME)).all()
    return {
        (r.feature_id, r.model_id, r.prompt_template_id): (
            r.request_count, r.cost_total_usd, r.unpriced_count
        )
        for r in rows
    }  # fmt: skip


def test_spend_is_split_by_template_and_adds_up_to_the_window(engine: Engine) -> None:
    rows = [
        request(f"a{i}", BASE_TIME + timedelta(minutes=i), "chat", "m1",
                prompt_template_id="greet-v2", cost_usd=0.01)
        for i in range(6)
    ] + [
        request(f"b{i}", BASE_TIME + timedelta(minutes=i), "chat", "m1",
                prompt_template_id=None, cost_usd=None if i else 0.5)
        for i in range(3)
    ] + [  # the next window: not in this one
        request("late", BASE_TIME + timedelta(hours=1), "chat", "m1", prompt_template_id="x"),
    ]  # fmt: skip
    insert_rows(engine, rows)
    run_window(engine, BASE_TIME, CostSettings())

    spend = _spend(engine)
    assert spend.keys() == {("chat", "m1", "greet-v2"), ("chat", "m1", "")}
    assert spend[("chat", "m1", "greet-v2")][0] == 6
    assert spend[("chat", "m1", "greet-v2")][1] == pytest.approx(0.06)
    assert spend[("chat", "m1", "")] == (3, pytest.approx(0.5), 2)  # two unpriced, not free
    with engine.connect() as conn:
        (window,) = conn.execute(select(WindowMetrics.__table__)).all()
    assert sum(s[0] for s in spend.values()) == window.request_count
    assert sum(s[1] or 0 for s in spend.values()) == pytest.approx(window.cost_total_usd)

    # Re-aggregation replaces the rows: a template gone from the window disappears.
    insert_rows(engine, [request("c0", BASE_TIME + timedelta(minutes=30), "chat", "m2",
                                 prompt_template_id="other")])  # fmt: skip
    run_window(engine, BASE_TIME, CostSettings())
    assert sum(s[0] for s in _spend(engine).values()) == 10


def test_templates_beyond_the_cap_are_folded_and_alerted(engine: Engine) -> None:
    cap = 4
    rows = [  # template t00 has 20 requests, t01 19 ... t09 11; half without a template
        request(f"r{t}-{i}", BASE_TIME + timedelta(seconds=t * 60 + i), "chat", "m1",
                prompt_template_id=f"t{t:02d}")
        for t in range(10) for i in range(20 - t)
    ] + [
        request(f"n{i}", BASE_TIME + timedelta(seconds=i), "chat", "m1") for i in range(50)
    ]  # fmt: skip
    insert_rows(engine, rows)
    settings = CostSettings(max_distinct_per_window=cap)
    run_window(engine, BASE_TIME, settings)

    spend = _spend(engine)
    templates = Counter({key[2]: value[0] for key, value in spend.items()})
    assert templates == {"t00": 20, "t01": 19, "t02": 18, "__other__": sum(range(11, 18)),
                         "": 50}  # fmt: skip
    with engine.connect() as conn:
        (alert,) = [a for a in list_alerts(conn) if a["metric"] == "folded_templates"]
    assert alert["kind"] == "ingest_rejects"
    assert alert["value"] == 10 - (cap - 1)
    # The window's own rows are not touched by the template fold.
    with engine.connect() as conn:
        (window,) = conn.execute(select(WindowMetrics.__table__)).all()
    assert (window.feature_id, window.request_count) == ("chat", len(rows))
