"""A distributional canary run of one target, end to end, without Prefect.

Sample every probe k times, store the run and its samples, test it against the target's
pinned run, state the power; when the first test is significant, sample again (a
confirmation run, stored too) and call the change confirmed only if that test is
significant as well. One ``canary_regression`` alert per confirmed change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import numpy as np
from pydantic import SecretStr
from sqlalchemy import Engine, update

from llmwatch.alerts import NewAlert
from llmwatch.evals import job
from llmwatch.evals.compare import ProbeStats
from llmwatch.evals.distribution import (
    CONFIRMED,
    NO_CHANGE,
    NO_REFERENCE,
    UNCONFIRMED,
    DistributionVerdict,
    SampledRun,
    by_probe,
    evidence,
    sample_probes,
)
from llmwatch.evals.job import RunReport
from llmwatch.evals.mmd import mmd_test
from llmwatch.evals.pin import Pin, pin_run, pinned, samples_of, save_samples
from llmwatch.evals.power import power_statement
from llmwatch.evals.probes import ProbeSet
from llmwatch.evals.store import save_canary_run
from llmwatch.llm import ChatClient, Endpoint
from llmwatch.settings import Settings
from llmwatch.warehouse.models import CanaryRun

Sampler = Callable[[ChatClient], Awaitable[SampledRun]]

# Permutations inside each power simulation: enough to place p against alpha = 0.05,
# and the simulations multiply them (the verdict's own test uses the configured count).
POWER_PERMUTATIONS = 200


async def distribution_canary_run(
    engine: Engine,
    settings: Settings,
    target: str,
    probes: ProbeSet,
    *,
    secret: SecretStr | None = None,
    rng: np.random.Generator | None = None,
) -> RunReport:
    cfg = settings.evals
    rng = rng or np.random.default_rng()
    endpoint = job.target_endpoint(settings, target, secret)
    report, run, summary = await _sample_and_store(
        engine, settings, endpoint, target, probes, "first"
    )
    if not report.comparable:
        return report
    with engine.connect() as conn:
        pin = pinned(conn, target)
        reference_samples = samples_of(conn, pin.run_id) if pin else []
    verdict = DistributionVerdict(
        target, NO_REFERENCE, cfg.distribution_alpha, pin.run_id if pin else None, report.run_id
    )
    report.distribution = verdict
    verdict.run_evidence = evidence(run.samples)
    if pin is None or pin.probe_set_version != probes.version:
        verdict.note = _no_reference(target, pin, probes)
        return report
    reference = by_probe(reference_samples)
    verdict.reference_evidence = evidence(reference_samples)
    verdict.first = mmd_test(
        reference,
        by_probe(run.samples),
        permutations=cfg.distribution_permutations,
        rng=rng,
        max_chars=cfg.distribution_max_chars,
    )
    verdict.power = power_statement(
        reference,
        k=cfg.distribution_k,
        share=cfg.power_share,
        alpha=cfg.distribution_alpha,
        wanted=cfg.power_wanted,
        simulations=cfg.power_simulations,
        permutations=POWER_PERMUTATIONS,
        rng=rng,
        max_chars=cfg.distribution_max_chars,
    )
    verdict.state = NO_CHANGE
    if verdict.first.p_value < cfg.distribution_alpha:
        confirm, confirm_run, _ = await _sample_and_store(
            engine, settings, endpoint, target, probes, "confirmation", confirms=report.run_id
        )
        verdict.confirmation_run_id = confirm.run_id
        verdict.confirmation_evidence = evidence(confirm_run.samples)
        verdict.state = UNCONFIRMED
        if confirm.comparable:
            verdict.confirmation = mmd_test(
                reference,
                by_probe(confirm_run.samples),
                permutations=cfg.distribution_permutations,
                rng=rng,
                max_chars=cfg.distribution_max_chars,
            )
            if verdict.confirmation.p_value < cfg.distribution_alpha:
                verdict.state = CONFIRMED
        else:
            verdict.note = f"confirmation run {confirm.run_id} was {confirm.status}"
    with engine.begin() as conn:
        # The verdict is stored with the run it judged, beside the run's own summary.
        conn.execute(
            update(CanaryRun)
            .where(CanaryRun.run_id == report.run_id)
            .values(summary={**summary, "verdict": verdict.to_details()})
        )
    return report


async def pin_target(
    engine: Engine,
    settings: Settings,
    target: str,
    probes: ProbeSet,
    *,
    secret: SecretStr | None = None,
) -> tuple[RunReport, Pin | None]:
    """Sample the target now and pin that run as its reference (None if it failed)."""
    endpoint = job.target_endpoint(settings, target, secret)
    # Twice the samples of a run: the power is simulated from two disjoint halves.
    k = 2 * settings.evals.distribution_k
    report, _, _ = await _sample_and_store(engine, settings, endpoint, target, probes, "pin", k=k)
    if not report.comparable:
        return report, None
    with engine.begin() as conn:
        return report, pin_run(conn, target, report.run_id, datetime.now(UTC))


def distribution_alert(report: RunReport) -> NewAlert | None:
    """The one alert of a confirmed change, with the evidence in its details."""
    verdict = report.distribution
    if verdict is None or not verdict.confirmed:
        return None
    if not isinstance(verdict, DistributionVerdict):
        from llmwatch.evals.logprob_run import logprob_alert

        return logprob_alert(report)
    assert verdict.first is not None
    assert verdict.confirmation is not None
    power = f"; {verdict.power.describe()}" if verdict.power else ""
    changed = (
        f"; evidence: {'; '.join(verdict.metadata_changed)}" if verdict.metadata_changed else ""
    )
    return NewAlert(
        kind="canary_regression",
        flow="canary-probes",
        # A different model is served, which says nothing yet of quality (llmwatch.severity:
        # critical needs a measured drop): warning, with the pass rates as evidence.
        severity="warning",
        model_id=report.model_id,
        metric="distribution:mmd",
        value=verdict.confirmation.p_value,
        threshold=verdict.alpha,
        window_start=report.started_at,
        window_end=report.finished_at,
        message=(
            f"canary target {report.target}: answers no longer come from the pinned "
            f"model's distribution (MMD test p={verdict.first.p_value:.4f}, confirmed by "
            f"fresh samples p={verdict.confirmation.p_value:.4f}, alpha "
            f"{verdict.alpha:g}){power}{changed}"
        ),
        details={**verdict.to_details(), "set_version": report.set_version},
        series_suffix=f"{report.target}|distribution|{verdict.reference_run_id}",
    )


def _no_reference(target: str, pin: Pin | None, probes: ProbeSet) -> str:
    if pin is None:
        return f"no pinned run: pin one with `llmwatch canary pin {target}`"
    return (
        f"the pinned run is of probe set version {pin.probe_set_version}, the probes are now "
        f"{probes.version}: pin again with `llmwatch canary pin {target}`"
    )


def _run_summary(report: RunReport, run: SampledRun) -> dict[str, object]:
    return {
        "mode": "distribution",
        "set": report.set_name,
        "n_calls": report.n_calls,
        "n_errors": report.n_errors,
        "client": run.client,
        **({"fatal": run.fatal[:500]} if run.fatal else {}),
    }


async def _sample_and_store(
    engine: Engine,
    settings: Settings,
    endpoint: Endpoint,
    target: str,
    probes: ProbeSet,
    role: str,
    confirms: str | None = None,
    k: int | None = None,
    sampler: Sampler | None = None,
    settings_summary: dict[str, object] | None = None,
) -> tuple[RunReport, SampledRun, dict[str, object]]:
    """Sample (by default k texts per probe; the logprob canary passes its own sampler
    and summary), store the run and its samples."""
    cfg = settings.evals
    k = k or cfg.distribution_k
    started = datetime.now(UTC)
    async with ChatClient(endpoint, job.limits(cfg)) as client:
        if sampler is not None:
            run = await sampler(client)
        else:
            run = await sample_probes(
                client,
                probes,
                k=k,
                temperature=cfg.distribution_temperature,
                max_tokens=cfg.distribution_max_tokens,
            )
    finished = datetime.now(UTC)
    n_calls = sum(r.n_runs for r in run.results)
    n_errors = sum(r.n_errors for r in run.results)
    report = RunReport(
        kind="canary",
        run_id=uuid.uuid4().hex,
        target=target,
        model_id=endpoint.model,
        status=job.run_status(run.fatal, n_calls, n_errors, cfg),
        set_name=probes.name,
        set_version=probes.version,
        started_at=started,
        finished_at=finished,
        n_calls=n_calls,
        n_errors=n_errors,
        fatal=run.fatal,
        client=run.client,
        probes={r.probe_id: ProbeStats.of(r) for r in run.results},
    )
    summary = {
        **_run_summary(report, run),
        "role": role,
        **(
            settings_summary
            if settings_summary is not None
            else {
                "k": k,
                "temperature": cfg.distribution_temperature,
                "max_tokens": cfg.distribution_max_tokens,
            }
        ),
        **({"confirms": confirms} if confirms else {}),
    }
    with engine.begin() as conn:
        save_canary_run(
            conn,
            run_id=report.run_id,
            target=target,
            model_id=endpoint.model,
            probe_set_version=probes.version,
            status=report.status,
            results=run.results,
            started_at=started,
            finished_at=finished,
            summary=summary,
        )
        save_samples(conn, report.run_id, run.samples)
    return report, run, summary
