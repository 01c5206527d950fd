"""Canary probes (weekly, and by hand after upgrades): SPEC 4.5.

1. run every probe several times at temperature 0 against each pinned target (or the one
   asked for); store pass rate, output fingerprint, system_fingerprint, length, tokens
   and latency; compare with the previous run of the same target - a drop in pass rate
   or a changed output on a deterministic probe is a silent provider change (right only
   for deterministic endpoints such as the simulator); targets with
   canary_test = "distribution" are sampled k times at temperature 1 instead and tested
   against their pinned run (MMD, confirmed by a second run of fresh samples); targets
   with canary_test = "logprob" are called at temperature 0 for their next-token
   log-probabilities, ranked against the pinned run's replicates (confirmed likewise);
2. with a baseline: run it too and compare pass rates probe by probe;
3. raise canary_regression for every regression found;
4. publish the runs and the side-by-side verdicts as artifacts.
"""

from __future__ import annotations

from prefect import flow

from flows._evals import EvalFlowResult, evaluate_targets
from tasks.evals import run_canary_target


@flow(name="canary-probes")
async def canary_probes(
    target: str | None = None, baseline: str | None = None, notify: bool = False
) -> EvalFlowResult:
    return await evaluate_targets("canary", run_canary_target, target, baseline, notify)
