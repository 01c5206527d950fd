"""``llmwatch run golden``: the golden set through its Prefect flow, usable as a CI gate."""

from __future__ import annotations

import click


@click.command("golden")
@click.option("--target", help="Target to evaluate (default: every configured target).")
@click.option("--baseline", help="Target to compare with (e.g. the current production model).")
@click.option("--notify", is_flag=True, help="Notify the webhooks even for a --baseline gate run.")
def golden(target: str | None, baseline: str | None, notify: bool) -> None:
    """Run the golden set and compare pass rates per intent and overall.

    Exit status: 0 pass, 1 regression (against the baseline when given, else against
    its previous run), 3 inconclusive (a run failed or had too many errors), 2 usage or
    configuration error.
    """
    from llmwatch.cli.run_canary import run_eval_flow

    run_eval_flow("golden", target, baseline, notify)
