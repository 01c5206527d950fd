"""Golden-set evaluation (daily, and by hand after upgrades): SPEC 4.4.

1. run the golden dataset against each target (or the one asked for) and store the
   per-example results; each run is compared with the previous run of its target;
2. with a baseline: run it too and compare the candidate with it, per intent and overall;
3. raise golden_regression for every regression found;
4. publish the runs and the side-by-side verdicts as artifacts.

The result says whether the candidate regressed, so ``llmwatch run golden`` can gate.
"""

from __future__ import annotations

from prefect import flow

from flows._evals import EvalFlowResult, evaluate_targets
from tasks.evals import run_golden_target


@flow(name="golden-set")
async def golden_set(
    target: str | None = None, baseline: str | None = None, notify: bool = False
) -> EvalFlowResult:
    return await evaluate_targets("golden", run_golden_target, target, baseline, notify)
