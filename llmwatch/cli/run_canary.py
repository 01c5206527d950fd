"""``llmwatch run canary``: canary probes through their Prefect flow, usable as a CI gate."""

from __future__ import annotations

import asyncio

import click

from llmwatch.cli.common import warehouse_engine

EXIT_REGRESSION = 1
EXIT_INCONCLUSIVE = 3  # like `run compare`'s hold; 2 is click's usage error


@click.command("canary")
@click.option("--target", help="Target to probe (default: every configured target).")
@click.option("--baseline", help="Target to compare with (e.g. the current production model).")
@click.option("--notify", is_flag=True, help="Notify the webhooks even for a --baseline gate run.")
def canary(target: str | None, baseline: str | None, notify: bool) -> None:
    """Run the canary probes and compare them per probe and overall.

    Exit status: 0 pass, 1 regression (against the baseline when given, else against
    its previous run), 3 inconclusive (a run failed or had too many errors), 2 usage or
    configuration error.
    """
    run_eval_flow("canary", target, baseline, notify)


def run_eval_flow(kind: str, target: str | None, baseline: str | None, notify: bool) -> None:
    """Shared by ``run golden`` and ``run canary``: validate, run the flow, print, exit."""
    warehouse_engine()[0].dispose()  # a clear error before Prefect starts if no schema

    from llmwatch.evals import DatasetError, TargetError, job
    from llmwatch.settings import get_settings

    settings = get_settings()
    try:
        for name in (target, baseline):
            if name:
                config = settings.targets.get(name)
                if config is None or not config.api_key_secret_block or config.api_key_env:
                    job.target_endpoint(settings, name)
        if kind == "golden":
            job.golden_dataset(settings)
        else:
            job.probe_set(settings)
    except (TargetError, DatasetError) as exc:
        raise click.ClickException(str(exc)) from None
    if target is None and not settings.targets:
        raise click.ClickException("no --target given and no targets configured")

    from llmwatch.evals.compare import format_verdict

    if kind == "golden":
        from flows.golden_set import golden_set as flow_fn
    else:
        from flows.canary_probes import canary_probes as flow_fn

    result = asyncio.run(flow_fn(target=target, baseline=baseline, notify=notify))
    for report in result.reports:
        click.echo(
            f"{kind} run {report.run_id[:12]} target {report.target} ({report.model_id}): "
            f"{report.status}, {report.n_calls} call(s), {report.n_errors} error(s) excluded"
            + (f" - {report.fatal}" if report.fatal else "")
        )
        if report.retrieval is not None:
            r = report.retrieval
            click.echo(
                f"  retrieval over {r.n} RAG example(s): recall@{r.k} {r.recall_at_k:.3f}, "
                f"MRR {r.mrr:.3f}"
            )
        if report.distribution is not None:
            from llmwatch.evals.distribution import format_distribution

            click.echo(format_distribution(report.distribution))
    for verdict in result.verdicts:
        against = (
            f"baseline {verdict.reference}" if verdict.against == "baseline" else "previous run"
        )
        state = "REGRESSED" if verdict.regressed else "no regression"
        click.echo(f"\n{verdict.candidate} vs {against}: {state}")
        click.echo(format_verdict(verdict))
    if result.alert_ids:
        click.echo(f"\n{len(result.alert_ids)} new alert(s): {result.alert_ids}")
    if result.regressed:
        names = sorted({r.name for v in result.verdicts for r in v.regressions})
        names += [
            f"{r.distribution.subject} of {r.target}"
            for r in result.reports
            if r.distribution is not None and r.distribution.confirmed
        ]
        click.echo(f"\nVERDICT: REGRESSION ({', '.join(names)})", err=True)
        raise SystemExit(EXIT_REGRESSION)
    if result.inconclusive:
        click.echo(
            "\nVERDICT: INCONCLUSIVE (a run failed, had too many errors or has no pinned "
            "reference)",
            err=True,
        )
        raise SystemExit(EXIT_INCONCLUSIVE)
    click.echo("\nVERDICT: PASS")
