"""``llmwatch canary pin TARGET``: sample a target now and pin that run as its reference.

The distributional and logprob canaries (targets with ``canary_test = "distribution"``
or ``"logprob"``) test every later run against the pinned one, so pin right after a
model upgrade that was accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
from pydantic import SecretStr

from llmwatch.cli.common import warehouse_engine
from llmwatch.settings import Target


@click.group()
def canary() -> None:
    """Distributional canary: manage the pinned reference runs."""


@canary.command("pin")
@click.argument("target")
def pin(target: str) -> None:
    """Sample TARGET's probes now (2k per probe; logprob mode: logprob_replicates calls)
    and pin the run as its reference."""
    from llmwatch.evals import DatasetError, TargetError, job
    from llmwatch.evals.distribution_run import pin_target
    from llmwatch.evals.logprob_run import pin_logprob_target
    from llmwatch.settings import get_settings

    settings = get_settings()
    config = settings.targets.get(target)
    try:
        secret = _block_secret(config)
        job.target_endpoint(settings, target, secret)
        probes = job.probe_set(settings)
    except (TargetError, DatasetError) as exc:
        raise click.ClickException(str(exc)) from None
    assert config is not None
    if config.canary_test not in ("distribution", "logprob"):
        raise click.ClickException(
            f'target {target!r} has canary_test = "{config.canary_test}": set '
            'canary_test = "distribution" (or "logprob" for an endpoint that returns '
            "token log-probabilities) to test it against a pinned run"
        )
    pin_fn = pin_logprob_target if config.canary_test == "logprob" else pin_target
    engine, _ = warehouse_engine()
    try:
        report, pinned = asyncio.run(pin_fn(engine, settings, target, probes, secret=secret))
    finally:
        engine.dispose()
    if pinned is None:
        raise click.ClickException(
            f"run {report.run_id} of target {target} is {report.status} "
            f"({report.n_errors} of {report.n_calls} calls failed"
            + (f": {report.fatal}" if report.fatal else "")
            + "); nothing pinned"
        )
    click.echo(
        f"pinned run {pinned.run_id} of target {target} ({report.model_id}, "
        f"{config.canary_test}): {report.n_calls} calls over {len(report.probes)} probes, "
        f"probe set {pinned.probe_set_version}"
    )


def _block_secret(config: Target | None) -> SecretStr | None:
    """The key from the target's Prefect Secret block, when it names one (as the flow does)."""
    if config is None or not config.api_key_secret_block or config.api_key_env:
        return None
    from prefect.blocks.system import Secret

    block: Any = Secret.load(config.api_key_secret_block)
    return SecretStr(str(block.get()))
