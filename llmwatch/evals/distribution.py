"""The distributional canary: k samples per probe at a temperature above 0, tested
against the target's pinned run (SPEC 4.5, issue 17).

Real providers are not deterministic even at temperature 0, so comparing exact outputs
pages on unchanged models; a substituted model (a cheaper quantisation served under the
same name) keeps most outputs "passing". What stays the same for an unchanged model is
the distribution of its answers, which :mod:`llmwatch.evals.mmd` tests. A first
significant result is re-tested on fresh samples; only a confirmed change alerts.
The served model id, ``system_fingerprint`` and the length and token distributions are
evidence shown beside the verdict, never the test: a fingerprint changes with routine
deployments, and a substitute may echo the same model name.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from llmwatch.evals.mmd import MmdResult
from llmwatch.evals.power import PowerStatement
from llmwatch.evals.probes import Probe, ProbeSet
from llmwatch.evals.runner import ProbeResult, summarise_probe
from llmwatch.llm import ChatClient, ChatResult, FatalEndpointError, LLMError

if TYPE_CHECKING:  # logprob_run imports this module
    from llmwatch.evals.logprob_run import LogprobVerdict

# Verdict states.
NO_CHANGE = "no_change"  # first test not significant
UNCONFIRMED = "unconfirmed"  # first significant, fresh samples not: no alert
CONFIRMED = "confirmed"  # both significant: canary_regression
NO_REFERENCE = "no_reference"  # no pinned run for this probe set: inconclusive


@dataclass(frozen=True)
class Sample:
    probe_id: str
    seq: int
    text: str
    output_tokens: int | None
    served_model: str | None
    system_fingerprint: str | None
    finish_reason: str | None
    # Logprob canary calls: per generated token (token, logprob, top alternatives).
    logprobs: list[tuple[str, float, dict[str, float]]] | None = None


@dataclass
class SampledRun:
    results: list[ProbeResult]
    samples: list[Sample]
    fatal: str | None
    client: dict[str, int]


def sampling_params(probe: Probe, temperature: float, max_tokens: int) -> dict[str, Any]:
    # No per-request seed: a seed makes the samples reproducible, and then two runs of a
    # substituted model could look like two runs of the same one.
    params = {**probe.params, "temperature": temperature, "max_tokens": max_tokens}
    params.pop("seed", None)
    return params


async def sample_probes(
    client: ChatClient, probes: ProbeSet, *, k: int, temperature: float, max_tokens: int
) -> SampledRun:
    fatal: list[str] = []

    async def call(probe: Probe) -> ChatResult | str:
        try:
            return await client.chat(
                probe.messages(), **sampling_params(probe, temperature, max_tokens)
            )
        except FatalEndpointError as exc:
            fatal.append(str(exc))
            return f"{type(exc).__name__}: {exc}"
        except LLMError as exc:
            return f"{type(exc).__name__}: {exc}"

    async def one(probe: Probe) -> list[ChatResult | str]:
        return list(await asyncio.gather(*(call(probe) for _ in range(k))))

    replies = await asyncio.gather(*(one(p) for p in probes.probes))
    results, samples = [], []
    for probe, probe_replies in zip(probes.probes, replies, strict=True):
        results.append(summarise_probe(probe, probe_replies))
        answered = [r for r in probe_replies if isinstance(r, ChatResult)]
        for seq, reply in enumerate(answered):
            samples.append(
                Sample(
                    probe.id,
                    seq,
                    reply.text or "",
                    reply.usage.output_tokens if reply.usage.reported else None,
                    reply.model,
                    reply.system_fingerprint,
                    reply.finish_reason,
                )
            )
    return SampledRun(results, samples, fatal[0] if fatal else None, client.stats.as_dict())


def by_probe(samples: Sequence[Sample]) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for sample in sorted(samples, key=lambda s: (s.probe_id, s.seq)):
        texts.setdefault(sample.probe_id, []).append(sample.text)
    return texts


def _quantiles(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    p10, p50, p90 = np.quantile(np.asarray(values, dtype=float), [0.1, 0.5, 0.9])
    return {
        "mean": round(float(np.mean(values)), 2),
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
    }


def evidence(samples: Sequence[Sample]) -> dict[str, Any]:
    """What a run's samples say besides the test: ids, fingerprints, lengths, tokens."""
    tokens = [s.output_tokens for s in samples if s.output_tokens is not None]
    first_words = Counter((s.text.split() or [""])[0][:24] for s in samples)
    return {
        "n_samples": len(samples),
        "served_models": dict(Counter(s.served_model or "(none)" for s in samples)),
        "system_fingerprints": dict(Counter(s.system_fingerprint or "(none)" for s in samples)),
        "finish_reasons": dict(Counter(s.finish_reason or "(none)" for s in samples)),
        "output_chars": _quantiles([float(len(s.text)) for s in samples]),
        "output_tokens": _quantiles([float(t) for t in tokens]),
        # The share of the most common opening words: a cheap look at the token
        # distribution that a reader can compare before and after.
        "top_first_words": {
            word: round(count / len(samples), 3) for word, count in first_words.most_common(5)
        }
        if samples
        else {},
    }


def metadata_changes(reference: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    """Served model ids and fingerprints that differ between two runs' evidence."""
    changed = []
    for key in ("served_models", "system_fingerprints"):
        before = set(reference.get(key) or {})
        after = set(run.get(key) or {})
        if before and after and before != after:
            changed.append(f"{key} {sorted(before)} -> {sorted(after)}")
    return changed


@dataclass
class DistributionVerdict:
    target: str
    state: str
    alpha: float
    reference_run_id: str | None
    run_id: str
    confirmation_run_id: str | None = None
    first: MmdResult | None = None
    confirmation: MmdResult | None = None
    power: PowerStatement | None = None
    reference_evidence: dict[str, Any] = field(default_factory=dict)
    run_evidence: dict[str, Any] = field(default_factory=dict)
    confirmation_evidence: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    subject = "distribution"  # what changed, in the CLI's verdict line

    @property
    def confirmed(self) -> bool:
        return self.state == CONFIRMED

    @property
    def metadata_changed(self) -> list[str]:
        """Evidence that differs from the reference: reported, never a regression alone."""
        return metadata_changes(self.reference_evidence, self.run_evidence)

    def to_details(self) -> dict[str, Any]:
        def mmd(result: MmdResult | None) -> dict[str, Any] | None:
            if result is None:
                return None
            return {
                "p_value": result.p_value,
                "mmd2": result.statistic,
                "permutations": result.permutations,
                "n_reference": result.n_reference,
                "n_candidate": result.n_candidate,
                "n_prompts": result.n_prompts,
            }

        power = self.power
        return {
            "test": "mmd_hamming_permutation (Gao, Liang & Guestrin, ICLR 2025)",
            "state": self.state,
            "alpha": self.alpha,
            "target": self.target,
            "reference_run_id": self.reference_run_id,
            "run_id": self.run_id,
            "confirmation_run_id": self.confirmation_run_id,
            "first": mmd(self.first),
            "confirmation": mmd(self.confirmation),
            "power": None
            if power is None
            else {
                "share": power.share,
                "power": power.power,
                "wanted": power.wanted,
                "min_share": power.min_share,
                "k": power.k,
                "n_prompts": power.n_prompts,
                "simulations": power.simulations,
            },
            "evidence": {
                "reference": self.reference_evidence,
                "run": self.run_evidence,
                "confirmation": self.confirmation_evidence or None,
                "metadata_changed": self.metadata_changed,
            },
        }


def format_distribution(verdict: DistributionVerdict | LogprobVerdict) -> str:
    if not isinstance(verdict, DistributionVerdict):
        return verdict.format()  # the logprob canary's verdict
    lines = [f"distribution test vs pinned run {(verdict.reference_run_id or '-')[:12]}: "]
    if verdict.state == NO_REFERENCE:
        lines[0] += f"INCONCLUSIVE ({verdict.note})"
        return "\n".join(lines)
    state = {
        NO_CHANGE: "no change detected",
        UNCONFIRMED: "first run significant, NOT confirmed by fresh samples (no alert)",
        CONFIRMED: "CHANGED (confirmed by fresh samples)",
    }[verdict.state]
    lines[0] += state
    for name, result in (("first", verdict.first), ("confirmation", verdict.confirmation)):
        if result is not None:
            lines.append(
                f"  {name:<12} MMD^2 {result.statistic:.4g}, p={result.p_value:.4f} "
                f"(alpha {verdict.alpha:g}; {result.n_candidate} vs {result.n_reference} "
                f"samples over {result.n_prompts} prompts, {result.permutations} permutations)"
            )
    if verdict.power is not None:
        lines.append(f"  {verdict.power.describe()}")
    for label, ev in (
        ("reference", verdict.reference_evidence),
        ("this run", verdict.run_evidence),
        ("confirmation", verdict.confirmation_evidence),
    ):
        if ev:
            lines.append(f"  {label:<12} {_evidence_line(ev)}")
    for change in verdict.metadata_changed:
        lines.append(f"  evidence (not a regression by itself): {change}")
    return "\n".join(lines)


def _evidence_line(ev: Mapping[str, Any]) -> str:
    def q(values: Mapping[str, float] | None) -> str:
        if not values:
            return "n/a"
        return f"p10/p50/p90 {values['p10']:g}/{values['p50']:g}/{values['p90']:g}"

    return (
        f"model {','.join(ev['served_models'])}; fingerprint "
        f"{','.join(ev['system_fingerprints'])}; chars {q(ev['output_chars'])}; "
        f"tokens {q(ev['output_tokens'])}"
    )
