"""Prefect tasks for the live canary / shadow comparison (over llmwatch.compare)."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from llmwatch.compare import Comparison, compare_versions, format_comparison
from llmwatch.compare.data import ArmKind
from llmwatch.settings import get_settings
from llmwatch.warehouse import make_engine


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def compare_live(
    baseline: str,
    candidate: str,
    since: datetime,
    until: datetime,
    by: ArmKind,
    feature: str | None,
) -> Comparison:
    settings = get_settings()
    engine = make_engine(settings.resolved_warehouse_url())
    try:
        comparison = compare_versions(
            engine,
            settings,
            baseline=baseline,
            candidate=candidate,
            since=since,
            until=until,
            by=by,
            feature=feature,
        )
    finally:
        engine.dispose()
    # One line: the table itself is in the artifact, and `llmwatch run compare` prints it;
    # logging it too showed it twice on the console.
    get_run_logger().info(
        "live comparison %s vs %s: %s", candidate, baseline, comparison.verdict.upper()
    )
    return comparison


@task(cache_policy=NO_CACHE)
def publish_comparison(comparison: Comparison) -> None:
    rows = [
        {
            "check": c.name,
            "status": c.status,
            "baseline": c.baseline_value,
            "candidate": c.candidate_value,
            "effect": f"{c.effect_name} {c.effect:.4g}" if c.effect is not None else None,
            "min_effect": c.min_effect,
            "test": c.test,
            "p_value": c.p_value,
            "n_baseline": c.baseline_n,
            "n_candidate": c.candidate_n,
        }
        for c in comparison.checks
    ]
    create_table_artifact(
        rows, key="compare-checks", description="live comparison: checks per metric"
    )
    markdown = "\n".join(
        [
            f"# {comparison.verdict.upper()}: {comparison.candidate.name} vs "
            f"{comparison.baseline.name}",
            "",
            *[f"- {reason}" for reason in comparison.reasons],
            *[f"- **warning**: {warning}" for warning in comparison.warnings],
            "",
            "```",
            format_comparison(comparison),
            "```",
        ]
    )
    create_markdown_artifact(markdown, key="compare-verdict", description="live comparison verdict")
