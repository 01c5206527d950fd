"""``llmwatch run golden``: the golden set through its Prefect flow, usable as a CI gate."""

from __future__ import annotations

import click


@click.command("golden")
@click.option("--target", help="Target to evaluate (default: every configured target).")
@click.option("--baseline", help="Target to compare with (e.g. the current production model).")
def golden(target: str | None, baseline: str | None) -> None:
    """Run the golden set and compare pass rates per intent and overall.

    Exits 1 when the target regresses (against the baseline when given, else against its
    previous run), 2 when the verdict is inconclusive (a run failed or had too many
    errors), 0 otherwise.
    """
    from llmwatch.cli.run_canary import run_eval_flow

    run_eval_flow("golden", target, baseline)
