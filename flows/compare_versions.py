"""Live canary / shadow comparison during a rollout: SPEC 4.9.

1. resolve the period (``since`` as a duration such as "30m" or a timestamp; up to now);
2. read both versions' live records (by model id or prompt template) and test the
   candidate against the baseline: latency, TTFT, error rate, judged quality, cost;
3. publish the checks and the verdict (promote / hold / rollback) as artifacts.

The result carries the verdict, so ``llmwatch run compare`` (or an automation) can gate.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from llmwatch.compare import Comparison
from llmwatch.compare.data import ArmKind
from llmwatch.compare.period import resolve_period
from llmwatch.settings import get_settings
from tasks.compare import compare_live, publish_comparison


@flow(name="compare-versions")
def compare_versions(
    baseline: str,
    candidate: str,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    feature: str | None = None,
    by: ArmKind = "model",
) -> Comparison:
    start, end = resolve_period(
        since, until, default_minutes=get_settings().compare.default_window_minutes
    )
    comparison = compare_live(baseline, candidate, start, end, by, feature)
    publish_comparison(comparison)
    return comparison
