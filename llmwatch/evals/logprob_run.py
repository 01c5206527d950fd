"""A logprob canary run of one target (``canary_test = "logprob"``), end to end, without
Prefect: the same shape as :mod:`llmwatch.evals.distribution_run`.

Call every probe at temperature 0 asking for token log-probabilities, store the run and
its calls, rank it against the pin's replicates (:func:`llmwatch.evals.logprob.rank_test`),
state the power; when the first test is significant, call again (a confirmation run,
stored too) and call the change confirmed only if that test is significant as well.
One ``canary_regression`` alert per confirmed change.

The pin calls each probe ``logprob_replicates`` times in rounds (every probe once per
round, in a shuffled order), so the replicates carry the endpoint's serving noise: the
first call after a start, prompt-cache paths, batching. That noise is the test's null.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import SecretStr
from sqlalchemy import Engine, update

from llmwatch.alerts import NewAlert
from llmwatch.evals import job
from llmwatch.evals.distribution import (
    CONFIRMED,
    NO_CHANGE,
    NO_REFERENCE,
    UNCONFIRMED,
    Sample,
    SampledRun,
    evidence,
    metadata_changes,
)
from llmwatch.evals.distribution_run import _no_reference, _sample_and_store
from llmwatch.evals.job import RunReport
from llmwatch.evals.logprob import Call, LogprobPower, RankResult, power_statement, rank_test
from llmwatch.evals.pin import Pin, pin_run, pinned, samples_of
from llmwatch.evals.probes import Probe, ProbeSet
from llmwatch.evals.runner import summarise_probe
from llmwatch.llm import ChatClient, ChatResult, FatalEndpointError, LLMError
from llmwatch.settings import Settings
from llmwatch.warehouse.models import CanaryRun

# Permutations inside each power simulation (the verdict's own test uses the setting).
POWER_PERMUTATIONS = 300


def no_logprobs_error(target: str, detail: str = "") -> str:
    return (
        f"target {target} returned no token log-probabilities{detail}: canary_test = "
        f'"logprob" needs them - set canary_test = "distribution" on [targets.{target}], '
        "or enable logprobs on the endpoint (llama.cpp's server: --logits_all true)"
    )


def logprob_params(probe: Probe, protocol: str, max_tokens: int, top: int) -> dict[str, Any]:
    """Temperature 0 (the next-token distribution does not depend on it, the path does),
    and the logprobs request in the protocol's own shape."""
    params = {**probe.params, "temperature": 0, "max_tokens": max_tokens}
    params.pop("seed", None)
    if protocol == "completions":
        params["logprobs"] = top
    else:
        params.update(logprobs=True, top_logprobs=top)
    return params


async def call_probes(
    client: ChatClient,
    probes: ProbeSet,
    target: str,
    *,
    rounds: int,
    max_tokens: int,
    top: int,
    rng: random.Random | None = None,
) -> SampledRun:
    rng = rng or random.Random()
    fatal: list[str] = []
    protocol = client.endpoint.protocol

    async def call(probe: Probe) -> ChatResult | str:
        try:
            reply = await client.chat(
                probe.messages(), **logprob_params(probe, protocol, max_tokens, top)
            )
        except FatalEndpointError as exc:
            fatal.append(str(exc))
            return f"{type(exc).__name__}: {exc}"
        except LLMError as exc:
            # An endpoint that refuses the logprobs parameter says so in its error.
            if "logprob" in str(exc).lower():
                fatal.append(no_logprobs_error(target, " (the endpoint refused the request)"))
            return f"{type(exc).__name__}: {exc}"
        if not reply.logprobs:
            # Not a silent fallback to text: without logprobs there is nothing to test.
            fatal.append(no_logprobs_error(target))
            return "no logprobs in the response"
        return reply

    replies: dict[str, list[ChatResult | str]] = {p.id: [] for p in probes.probes}
    # Rounds one after another, each probe once per round in a shuffled order: the
    # replicates of a probe then come from different server states, as runs do.
    for _ in range(rounds):
        order = list(probes.probes)
        rng.shuffle(order)
        answers = await asyncio.gather(*(call(p) for p in order))
        for probe, answer in zip(order, answers, strict=True):
            replies[probe.id].append(answer)
        if fatal:
            break
    results, samples = [], []
    for probe in probes.probes:
        results.append(summarise_probe(probe, replies[probe.id]))
        answered = [r for r in replies[probe.id] if isinstance(r, ChatResult)]
        for seq, reply in enumerate(answered):
            assert reply.logprobs is not None
            samples.append(
                Sample(
                    probe.id,
                    seq,
                    reply.text or "",
                    reply.usage.output_tokens if reply.usage.reported else None,
                    reply.model,
                    reply.system_fingerprint,
                    reply.finish_reason,
                    [(t.token, t.logprob, dict(t.top)) for t in reply.logprobs],
                )
            )
    return SampledRun(results, samples, fatal[0] if fatal else None, client.stats.as_dict())


def calls_by_probe(samples: Sequence[Sample]) -> dict[str, list[Call]]:
    calls: dict[str, list[Call]] = {}
    for sample in sorted(samples, key=lambda s: (s.probe_id, s.seq)):
        if sample.logprobs is not None:
            calls.setdefault(sample.probe_id, []).append(sample.logprobs)
    return calls


@dataclass
class LogprobVerdict:
    target: str
    state: str
    alpha: float
    reference_run_id: str | None
    run_id: str
    confirmation_run_id: str | None = None
    first: RankResult | None = None
    confirmation: RankResult | None = None
    power: LogprobPower | None = None
    reference_evidence: dict[str, Any] = field(default_factory=dict)
    run_evidence: dict[str, Any] = field(default_factory=dict)
    confirmation_evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    subject = "logprobs"  # what changed, in the CLI's verdict line

    @property
    def confirmed(self) -> bool:
        return self.state == CONFIRMED

    @property
    def metadata_changed(self) -> list[str]:
        """Evidence that differs from the reference: reported, never a regression alone."""
        return metadata_changes(self.reference_evidence, self.run_evidence)

    def to_details(self) -> dict[str, Any]:
        def rank(result: RankResult | None) -> dict[str, Any] | None:
            if result is None:
                return None
            return {
                "p_value": result.p_value,
                "rank_sum": result.statistic,
                "rank_sum_expected": result.expected,
                "permutations": result.permutations,
                "n_prompts": result.n_prompts,
                "replicates": result.replicates,
                "calls": result.calls,
                # Median over prompts, nats per shown logprob: this run vs the pin, and
                # the pin's replicates among themselves (the null's scale).
                "logprob_distance": result.distance,
                "replicate_distance": result.null_distance,
            }

        power = self.power
        return {
            "test": "logprob rank test vs pinned replicates (after Zhu et al., ICLR 2026)",
            "mode": "logprob",
            "state": self.state,
            "alpha": self.alpha,
            "target": self.target,
            "reference_run_id": self.reference_run_id,
            "run_id": self.run_id,
            "confirmation_run_id": self.confirmation_run_id,
            "first": rank(self.first),
            "confirmation": rank(self.confirmation),
            "power": None
            if power is None
            else {
                "shift_nats": power.shift,
                "power": power.power,
                "wanted": power.wanted,
                "min_shift_nats": power.min_shift,
                "n_prompts": power.n_prompts,
                "replicates": power.replicates,
                "simulations": power.simulations,
            },
            "evidence": {
                "reference": self.reference_evidence,
                "run": self.run_evidence,
                "confirmation": self.confirmation_evidence or None,
                "metadata_changed": self.metadata_changed,
            },
        }

    def format(self) -> str:
        from llmwatch.evals.distribution import _evidence_line

        lines = [f"logprob test vs pinned run {(self.reference_run_id or '-')[:12]}: "]
        if self.state == NO_REFERENCE:
            lines[0] += f"INCONCLUSIVE ({self.note})"
            return "\n".join(lines)
        lines[0] += {
            NO_CHANGE: "no change detected",
            UNCONFIRMED: "first run significant, NOT confirmed by fresh calls (no alert)",
            CONFIRMED: "CHANGED (confirmed by fresh calls)",
        }[self.state]
        for name, result in (("first", self.first), ("confirmation", self.confirmation)):
            if result is not None:
                lines.append(
                    f"  {name:<12} rank sum {result.statistic:.2f} (H0 {result.expected:.2f}), "
                    f"p={result.p_value:.4f} (alpha {self.alpha:g}; {result.n_prompts} prompts, "
                    f"{result.replicates} pinned replicates, {result.permutations} "
                    f"permutations); logprob distance to the pin {result.distance:.4g} nats, "
                    f"pin replicates among themselves {result.null_distance:.4g} (medians)"
                )
        if self.power is not None:
            lines.append(f"  {self.power.describe()}")
        for label, ev in (
            ("reference", self.reference_evidence),
            ("this run", self.run_evidence),
            ("confirmation", self.confirmation_evidence),
        ):
            if ev:
                lines.append(f"  {label:<12} {_evidence_line(ev)}")
        for change in self.metadata_changed:
            lines.append(f"  evidence (not a regression by itself): {change}")
        return "\n".join(lines)


async def logprob_canary_run(
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
    report, run, summary = await _calls(engine, settings, endpoint, target, probes, "first")
    if not report.comparable:
        return report
    with engine.connect() as conn:
        pin = pinned(conn, target)
        reference_samples = samples_of(conn, pin.run_id) if pin else []
    verdict = LogprobVerdict(
        target, NO_REFERENCE, cfg.distribution_alpha, pin.run_id if pin else None, report.run_id
    )
    report.distribution = verdict
    verdict.run_evidence = evidence(run.samples)
    reference = calls_by_probe(reference_samples)
    if pin is None or pin.probe_set_version != probes.version:
        verdict.note = _no_reference(target, pin, probes)
        return report
    if not reference:
        verdict.note = (
            f"the pinned run has no logprobs (pinned in another canary_test mode): pin again "
            f"with `llmwatch canary pin {target}`"
        )
        return report
    verdict.reference_evidence = evidence(reference_samples)
    verdict.first = rank_test(
        reference,
        calls_by_probe(run.samples),
        permutations=cfg.logprob_permutations,
        rng=rng,
    )
    verdict.power = power_statement(
        reference,
        shift=cfg.logprob_power_shift,
        alpha=cfg.distribution_alpha,
        wanted=cfg.power_wanted,
        simulations=cfg.power_simulations,
        permutations=POWER_PERMUTATIONS,
        rng=rng,
    )
    verdict.state = NO_CHANGE
    if verdict.first.p_value < cfg.distribution_alpha:
        confirm, confirm_run, _ = await _calls(
            engine, settings, endpoint, target, probes, "confirmation", confirms=report.run_id
        )
        verdict.confirmation_run_id = confirm.run_id
        verdict.confirmation_evidence = evidence(confirm_run.samples)
        verdict.state = UNCONFIRMED
        if confirm.comparable:
            verdict.confirmation = rank_test(
                reference,
                calls_by_probe(confirm_run.samples),
                permutations=cfg.logprob_permutations,
                rng=rng,
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


async def pin_logprob_target(
    engine: Engine,
    settings: Settings,
    target: str,
    probes: ProbeSet,
    *,
    secret: SecretStr | None = None,
) -> tuple[RunReport, Pin | None]:
    """Call every probe ``logprob_replicates`` times now and pin that run."""
    endpoint = job.target_endpoint(settings, target, secret)
    report, _, _ = await _calls(
        engine, settings, endpoint, target, probes, "pin",
        rounds=settings.evals.logprob_replicates,
    )  # fmt: skip
    if not report.comparable:
        return report, None
    with engine.begin() as conn:
        return report, pin_run(conn, target, report.run_id, datetime.now(UTC))


def logprob_alert(report: RunReport) -> NewAlert | None:
    """The one alert of a confirmed change, with the evidence in its details."""
    verdict = report.distribution
    if not isinstance(verdict, LogprobVerdict) or not verdict.confirmed:
        return None
    assert verdict.first is not None
    assert verdict.confirmation is not None
    power = f"; {verdict.power.describe()}" if verdict.power else ""
    changed = (
        f"; evidence: {'; '.join(verdict.metadata_changed)}" if verdict.metadata_changed else ""
    )
    return NewAlert(
        kind="canary_regression",
        flow="canary-probes",
        # As the distribution mode: a different model is served, not yet a measured drop.
        severity="warning",
        model_id=report.model_id,
        metric="logprob:rank",
        value=verdict.confirmation.p_value,
        threshold=verdict.alpha,
        window_start=report.started_at,
        window_end=report.finished_at,
        message=(
            f"canary target {report.target}: next-token log-probabilities moved away from "
            f"the pinned model's (rank test p={verdict.first.p_value:.4f}, confirmed by "
            f"fresh calls p={verdict.confirmation.p_value:.4f}, alpha {verdict.alpha:g}; "
            f"distance {verdict.confirmation.distance:.3g} nats vs "
            f"{verdict.confirmation.null_distance:.3g} among the pin's replicates){power}"
            f"{changed}"
        ),
        details={**verdict.to_details(), "set_version": report.set_version},
        series_suffix=f"{report.target}|logprob|{verdict.reference_run_id}",
    )


async def _calls(
    engine: Engine,
    settings: Settings,
    endpoint: Any,
    target: str,
    probes: ProbeSet,
    role: str,
    confirms: str | None = None,
    rounds: int | None = None,
) -> tuple[RunReport, SampledRun, dict[str, object]]:
    cfg = settings.evals
    rounds = rounds or cfg.logprob_calls

    async def sampler(client: ChatClient) -> SampledRun:
        return await call_probes(
            client, probes, target, rounds=rounds, max_tokens=cfg.logprob_max_tokens,
            top=cfg.logprob_top,
        )  # fmt: skip

    return await _sample_and_store(
        engine, settings, endpoint, target, probes, role, confirms=confirms,
        sampler=sampler,
        settings_summary={
            "mode": "logprob", "rounds": rounds, "max_tokens": cfg.logprob_max_tokens,
            "top_logprobs": cfg.logprob_top, "temperature": 0,
        },
    )  # fmt: skip
