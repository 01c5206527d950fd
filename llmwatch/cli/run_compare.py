"""``llmwatch run compare``: live canary / shadow comparison through its Prefect flow."""

from __future__ import annotations

import json
from typing import cast

import click

from llmwatch.cli.common import warehouse_engine


@click.command("compare")
@click.option("--baseline", required=True, help="Current version: model id or prompt template.")
@click.option("--candidate", required=True, help="New version: model id or prompt template.")
@click.option(
    "--since",
    help="Start of the period: a duration before --until (30m, 2h, 7d) or an ISO-8601 time, "
    "UTC unless an offset is given (default: [compare] default_window_minutes).",
)
@click.option("--until", help="End of the period (default: now); same forms as --since.")
@click.option("--feature", help="Only this feature's records.")
@click.option(
    "--by",
    type=click.Choice(["model", "template"]),
    default="model",
    show_default=True,
    help="What the versions are: model ids or prompt template ids.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(
    baseline: str,
    candidate: str,
    since: str | None,
    until: str | None,
    feature: str | None,
    by: str,
    as_json: bool,
) -> None:
    """Compare a candidate version with the baseline on live records.

    Tests TTFT and latency (Mann-Whitney U and p95 ratio), error rate (Fisher / two-
    proportion z), judged quality (Welch t) and cost per request (Welch t, mean ratio).
    Exit status: 0 promote, 1 rollback, 3 hold (not enough data), 2 usage or
    configuration error.
    """
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema
    if baseline == candidate:
        raise click.BadParameter("baseline and candidate are the same", param_hint="--candidate")

    from llmwatch.compare.period import resolve_period
    from llmwatch.settings import get_settings

    try:
        resolve_period(since, until, default_minutes=get_settings().compare.default_window_minutes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since/--until") from None

    from flows.compare_versions import compare_versions
    from llmwatch.compare import format_comparison
    from llmwatch.compare.data import ArmKind

    result = compare_versions(
        baseline=baseline,
        candidate=candidate,
        since=since,
        until=until,
        feature=feature,
        by=cast(ArmKind, by),
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    else:
        click.echo(format_comparison(result))
    raise SystemExit(result.exit_code)
