from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from llmwatch.settings import SloSettings
from llmwatch.slo.objectives import objectives_for
from llmwatch.slo.rules import (
    Counts,
    burn_rate,
    burn_rules,
    extend_short,
    fires,
    last_counts,
    window_counts,
)

PAGE, TICKET = burn_rules(SloSettings())


def test_default_rules_are_the_workbook_fast_and_slow_burns() -> None:
    # The page burns at 12x, not the workbook's 14.4x (settings: outage paging at 50/h).
    assert (PAGE.burn_rate, PAGE.long, PAGE.short) == (
        12.0,
        timedelta(hours=1),
        timedelta(minutes=5),
    )
    assert (TICKET.burn_rate, TICKET.long, TICKET.short) == (
        6.0,
        timedelta(hours=6),
        timedelta(minutes=30),
    )
    assert PAGE.severity == "critical"
    assert TICKET.severity == "warning"


def test_burn_rate_is_the_bad_share_over_the_budget() -> None:
    assert burn_rate(Counts(1000, 10), 0.99) == pytest.approx(1.0)
    assert burn_rate(Counts(100, 50), 0.99) == pytest.approx(50.0)
    assert np.isnan(burn_rate(Counts(0, 0), 0.99))


def test_page_needs_both_windows_burning() -> None:
    # 20 % bad over the hour, but the last 5 minutes are clean: the outage is over.
    assert not fires(PAGE, 0.99, Counts(500, 100), Counts(40, 0))
    assert fires(PAGE, 0.99, Counts(500, 100), Counts(40, 40))
    # 5 minutes of errors in an hour that is otherwise fine: not yet 12x over the hour.
    assert not fires(PAGE, 0.99, Counts(500, 40), Counts(40, 40))


def test_a_handful_of_requests_pages_when_every_one_is_bad() -> None:
    # Five requests an hour: the 5-minute window is empty, so the short window reaches
    # back to the last three requests.
    short = extend_short(Counts(0, 0), Counts(3, 3), PAGE.min_bad)
    assert (short.events, short.bad) == (3, 3)
    assert fires(PAGE, 0.99, Counts(4, 3), short)
    # ... but two bad requests are not evidence enough at a 1 % budget.
    assert not fires(PAGE, 0.99, Counts(3, 2), extend_short(Counts(0, 0), Counts(2, 2), 3))


def test_the_binomial_guard_keeps_an_on_budget_feature_quiet() -> None:
    # 3 bad of 30 is 10x the 1 % budget over six hours, but a feature exactly on budget
    # shows 3 of 30 in 0.3 % of windows: not a ticket.
    assert not fires(TICKET, 0.99, Counts(30, 3), Counts(3, 1))
    assert fires(TICKET, 0.99, Counts(30, 5), Counts(3, 1))


def test_vectorised_counts_match_a_loop() -> None:
    rng = np.random.default_rng(0)
    ts = np.sort(rng.uniform(0, 10, 300))
    bad = rng.random(300) < 0.2
    at = np.array([0.5, 3.0, 7.25, 10.0])
    counts = window_counts(ts, bad, at, 1.0)
    last = last_counts(ts, bad, at, 3, at - 1.0)
    for i, t in enumerate(at):
        inside = (ts >= t - 1.0) & (ts < t)
        assert counts.events[i] == inside.sum()
        assert counts.bad[i] == bad[inside].sum()
        idx = np.flatnonzero(inside)[-3:]
        assert last.events[i] == len(idx)
        assert last.bad[i] == bad[idx].sum()
    many = fires(PAGE, 0.99, counts, counts)
    assert many.shape == at.shape


def test_objectives_take_the_feature_overrides() -> None:
    cfg = SloSettings(overrides={"batch": {"latency_ms": 60_000.0, "ttft_ms": None}})
    default = {o.slo: o for o in objectives_for("chat", cfg)}
    assert default["latency"].threshold_ms == 10_000
    assert default["latency"].objective == 0.99
    assert set(default) == {"latency", "ttft", "errors"}
    batch = {o.slo: o for o in objectives_for("batch", cfg)}
    assert batch["latency"].threshold_ms == 60_000
    assert set(batch) == {"latency", "errors"}


def test_bad_overrides_are_refused_with_the_feature_named() -> None:
    with pytest.raises(ValueError, match="'batch'"):
        SloSettings(overrides={"batch": {"latency_p99": 1.0}})
    with pytest.raises(ValueError, match="objectives are shares"):
        SloSettings(overrides={"batch": {"error_objective": 99.0}})
    with pytest.raises(ValueError, match="thresholds milliseconds"):
        SloSettings(overrides={"batch": {"latency_ms": -5.0}})
