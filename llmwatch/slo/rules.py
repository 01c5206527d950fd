"""Multi-window, multi-burn-rate alerts (Google SRE Workbook, "Alerting on SLOs").

An SLO "a share ``objective`` of events is good" allows a share ``1 − objective`` of bad
events: the error budget. The burn rate of a window is its bad share divided by that
allowance (1: the budget lasts exactly its period). A rule fires when both its long
window and its short window burn at least ``burn_rate``: the long window makes the alert
significant, the short one makes it stop soon after the problem does.

At a handful of events an hour, one bad event is a huge burn rate, so a rule also needs
(Poisson-sized evidence, not a ratio of two tiny numbers):

* at least ``min_bad`` bad events in the long window, and a binomial tail
  P(X ≥ bad | events, 1 − objective) of at most ``max_p_value``: a feature exactly on
  budget would almost never show that many bad events;
* a short window that reaches back far enough to hold ``min_bad`` events, so at 5 events
  an hour "the last 5 minutes" (usually empty) becomes "the last 3 events".

A total outage is paged after ``min_bad`` bad events at any volume where the long
window's burn rate needs fewer (every one of 3 events bad: 3 at 5 requests an hour, about
36 min), and after the burn rate's share of the long window at high volume (12 % of an
hour, 7.2 min, on the default page rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from scipy.stats import binom

from llmwatch.settings import SloSettings


@dataclass(frozen=True)
class BurnRule:
    name: str  # 'page' or 'ticket'
    severity: str
    burn_rate: float
    long: timedelta
    short: timedelta
    min_bad: int = 3
    max_p_value: float = 0.001


def burn_rules(cfg: SloSettings) -> tuple[BurnRule, BurnRule]:
    """The fast-burn page and the slow-burn ticket of the settings."""
    page = BurnRule(
        "page",
        "critical",
        cfg.page_burn_rate,
        timedelta(minutes=cfg.page_long_minutes),
        timedelta(minutes=cfg.page_short_minutes),
        cfg.min_bad_events,
        cfg.max_p_value,
    )
    ticket = BurnRule(
        "ticket",
        "warning",
        cfg.ticket_burn_rate,
        timedelta(minutes=cfg.ticket_long_minutes),
        timedelta(minutes=cfg.ticket_short_minutes),
        cfg.min_bad_events,
        cfg.max_p_value,
    )
    return page, ticket


@dataclass(frozen=True)
class Counts:
    """Events and bad events of a window (scalars, or arrays of many windows at once)."""

    events: Any
    bad: Any


def burn_rate(counts: Counts, objective: float) -> Any:
    """Bad share over allowed share; NaN for a window without events."""
    events = np.asarray(counts.events, dtype=float)
    bad = np.asarray(counts.bad, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(events > 0, bad / np.maximum(events, 1) / (1.0 - objective), np.nan)
    return rate if rate.ndim else float(rate)


def fires(rule: BurnRule, objective: float, long: Counts, short: Counts) -> Any:
    """Whether ``rule`` fires for these window counts (elementwise for arrays).

    ``short`` must already reach back to hold ``rule.min_bad`` events when the short
    window itself holds fewer (``llmwatch.slo.evaluate`` and the benchmark do that).
    """
    budget = 1.0 - objective
    long_events = np.asarray(long.events, dtype=float)
    long_bad = np.asarray(long.bad, dtype=float)
    short_events = np.asarray(short.events, dtype=float)
    short_bad = np.asarray(short.bad, dtype=float)
    long_burn = long_bad >= rule.burn_rate * budget * long_events
    short_burn = (short_bad > 0) & (short_bad >= rule.burn_rate * budget * short_events)
    enough = long_bad >= rule.min_bad
    # P(X >= bad) for X ~ Binomial(events, budget): sf(bad - 1).
    p_value = binom.sf(long_bad - 1, long_events, budget)
    result = long_burn & short_burn & enough & (p_value <= rule.max_p_value)
    return result if result.ndim else bool(result)


def extend_short(short: Counts, last: Counts, min_events: int) -> Counts:
    """The short window, or the last ``min_events`` events when it holds fewer."""
    events = np.asarray(short.events)
    use_last = events < min_events
    return Counts(
        np.where(use_last, last.events, short.events), np.where(use_last, last.bad, short.bad)
    )


def window_counts(ts: np.ndarray, bad: np.ndarray, at: np.ndarray, length: float) -> Counts:
    """Events and bad events in [t - length, t) for each t of ``at`` (``ts`` sorted)."""
    cum = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
    hi = np.searchsorted(ts, at, side="left")
    lo = np.searchsorted(ts, at - length, side="left")
    return Counts(hi - lo, cum[hi] - cum[lo])


def last_counts(
    ts: np.ndarray, bad: np.ndarray, at: np.ndarray, k: int, since: np.ndarray
) -> Counts:
    """Events and bad events among the last ``k`` events before each t of ``at`` that are
    not older than the matching ``since`` (the long window's start)."""
    cum = np.concatenate([[0], np.cumsum(bad, dtype=np.int64)])
    hi = np.searchsorted(ts, at, side="left")
    floor = np.searchsorted(ts, since, side="left")
    lo = np.maximum(hi - k, floor)
    return Counts(hi - lo, cum[hi] - cum[lo])
