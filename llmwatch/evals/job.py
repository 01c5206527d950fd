"""One golden or canary run of one target, end to end, without Prefect.

Call the target, store the run and its results, compare with the previous comparable
run of the same target, and build the alerts. The Prefect tasks are thin wrappers.
"""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy import Engine

from llmwatch.alerts import NewAlert
from llmwatch.evals.compare import (
    OVERALL,
    Counts,
    ProbeStats,
    Row,
    Verdict,
    compare_canary,
    compare_golden,
    golden_counts,
)
from llmwatch.evals.dataset import Dataset, load_dataset
from llmwatch.evals.distribution import DistributionVerdict
from llmwatch.evals.evidence import Evidence, RunVerdict, run_alert
from llmwatch.evals.probes import ProbeSet, load_probes
from llmwatch.evals.retrieval import RetrievalSummary, retrieval_summary
from llmwatch.evals.runner import ProbeResult, run_golden, run_probes
from llmwatch.evals.store import (
    COMPARABLE,
    previous_canary,
    previous_golden,
    save_canary_run,
    save_golden_run,
)
from llmwatch.evals.targets import resolve_target
from llmwatch.llm import ChatClient, Endpoint, Limits
from llmwatch.settings import EvalSettings, Settings

if TYPE_CHECKING:  # logprob_run imports this module
    from llmwatch.evals.logprob_run import LogprobVerdict


@dataclass
class RunReport:
    kind: str  # 'golden' or 'canary'
    run_id: str
    target: str
    model_id: str
    status: str  # 'ok', 'incomplete' (too many errors) or 'failed' (endpoint refused us)
    set_name: str
    set_version: str
    started_at: datetime
    finished_at: datetime
    n_calls: int
    n_errors: int
    fatal: str | None = None
    client: dict[str, int] = field(default_factory=dict)
    golden: dict[str, Counts] = field(default_factory=dict)
    probes: dict[str, ProbeStats] = field(default_factory=dict)
    # RAG golden sets: recall@k and MRR over examples with retrieved and relevant ids.
    retrieval: RetrievalSummary | None = None
    previous_run_id: str | None = None
    vs_previous: Verdict | None = None
    # Distributional canary targets: the test against the pinned run (None otherwise).
    distribution: DistributionVerdict | LogprobVerdict | None = None

    @property
    def comparable(self) -> bool:
        return self.status == COMPARABLE


def limits(cfg: EvalSettings) -> Limits:
    return Limits.from_settings(cfg)


def golden_dataset(settings: Settings) -> Dataset:
    return load_dataset(settings.evals.golden_dataset)


def probe_set(settings: Settings) -> ProbeSet:
    return load_probes(settings.evals.probes, repeats=settings.evals.probe_repeats)


def target_endpoint(settings: Settings, name: str, secret: SecretStr | None = None) -> Endpoint:
    cfg = settings.evals
    return resolve_target(
        settings,
        name,
        secret=secret,
        defaults={"temperature": cfg.temperature, "max_tokens": cfg.max_tokens},
    )


def run_status(fatal: str | None, n_calls: int, n_errors: int, cfg: EvalSettings) -> str:
    if fatal:
        return "failed"
    if n_calls == 0 or n_errors / n_calls > cfg.max_error_share:
        return "incomplete"
    return COMPARABLE


async def golden_run(
    engine: Engine,
    settings: Settings,
    target: str,
    dataset: Dataset,
    *,
    secret: SecretStr | None = None,
) -> RunReport:
    cfg = settings.evals
    endpoint = target_endpoint(settings, target, secret)
    started = datetime.now(UTC)
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(ChatClient(endpoint, limits(cfg)))
        judge = None
        if settings.judge_base_url and settings.judge_model:
            judge_endpoint = Endpoint(
                settings.judge_base_url,
                settings.judge_model,
                settings.judge_api_key,
                {"temperature": 0.0, "max_tokens": 400, "response_format": {"type": "json_object"}},
            )
            judge = await stack.enter_async_context(ChatClient(judge_endpoint, limits(cfg)))
        outcome = await run_golden(
            client, dataset, judge=judge, judge_min_score=cfg.judge_min_score
        )
    finished = datetime.now(UTC)
    results = outcome.results
    counts = golden_counts(results)
    n_errors = counts.get(OVERALL, Counts(0, 0)).errors
    report = RunReport(
        kind="golden",
        run_id=uuid.uuid4().hex,
        target=target,
        model_id=endpoint.model,
        status=run_status(outcome.fatal, len(results), n_errors, cfg),
        set_name=dataset.name,
        set_version=dataset.version,
        started_at=started,
        finished_at=finished,
        n_calls=len(results),
        n_errors=n_errors,
        fatal=outcome.fatal,
        client=outcome.client,
        golden=counts,
        retrieval=_retrieval(dataset, results),
    )
    with engine.begin() as conn:
        save_golden_run(
            conn,
            run_id=report.run_id,
            target=target,
            model_id=endpoint.model,
            dataset=dataset.name,
            dataset_version=dataset.version,
            status=report.status,
            results=results,
            started_at=started,
            finished_at=finished,
            summary=_summary(report),
        )
        previous = previous_golden(conn, target, dataset.version, started, report.run_id)
    if previous is not None and report.comparable:
        report.previous_run_id = previous[0]
        report.vs_previous = golden_verdict(report, previous[1], "previous run", "previous", cfg)
    return report


def golden_verdict(
    candidate: RunReport,
    reference: dict[str, Counts],
    reference_name: str,
    against: str,
    cfg: EvalSettings,
) -> Verdict:
    return compare_golden(
        candidate.golden,
        reference,
        candidate_name=candidate.target,
        reference_name=reference_name,
        against=against,
        alpha=cfg.alpha,
        min_effect=cfg.min_effect,
        min_n=cfg.min_n,
    )


async def canary_run(
    engine: Engine,
    settings: Settings,
    target: str,
    probes: ProbeSet,
    *,
    secret: SecretStr | None = None,
) -> RunReport:
    cfg = settings.evals
    endpoint = target_endpoint(settings, target, secret)
    started = datetime.now(UTC)
    async with ChatClient(endpoint, limits(cfg)) as client:
        outcome = await run_probes(client, probes)
    finished = datetime.now(UTC)
    results: list[ProbeResult] = outcome.results
    n_calls = sum(r.n_runs for r in results)
    n_errors = sum(r.n_errors for r in results)
    report = RunReport(
        kind="canary",
        run_id=uuid.uuid4().hex,
        target=target,
        model_id=endpoint.model,
        status=run_status(outcome.fatal, n_calls, n_errors, cfg),
        set_name=probes.name,
        set_version=probes.version,
        started_at=started,
        finished_at=finished,
        n_calls=n_calls,
        n_errors=n_errors,
        fatal=outcome.fatal,
        client=outcome.client,
        probes={r.probe_id: ProbeStats.of(r) for r in results},
    )
    with engine.begin() as conn:
        save_canary_run(
            conn,
            run_id=report.run_id,
            target=target,
            model_id=endpoint.model,
            probe_set_version=probes.version,
            status=report.status,
            results=results,
            started_at=started,
            finished_at=finished,
            summary=_summary(report),
        )
        previous = previous_canary(conn, target, probes.version, started, report.run_id)
    if previous is not None and report.comparable:
        report.previous_run_id = previous[0]
        report.vs_previous = canary_verdict(report, previous[1], "previous run", "previous", cfg)
    return report


def canary_verdict(
    candidate: RunReport,
    reference: dict[str, ProbeStats],
    reference_name: str,
    against: str,
    cfg: EvalSettings,
) -> Verdict:
    return compare_canary(
        candidate.probes,
        reference,
        candidate_name=candidate.target,
        reference_name=reference_name,
        against=against,
        alpha=cfg.alpha,
        min_effect=cfg.canary_min_effect,
    )


def gate(candidate: RunReport, baseline: RunReport, cfg: EvalSettings) -> Verdict | None:
    """Candidate against baseline; None when either run is not comparable."""
    if not (candidate.comparable and baseline.comparable):
        return None
    if candidate.kind == "golden":
        return golden_verdict(candidate, baseline.golden, baseline.target, "baseline", cfg)
    return canary_verdict(candidate, baseline.probes, baseline.target, "baseline", cfg)


def regression_alerts(report: RunReport, verdict: Verdict) -> list[NewAlert]:
    """One alert for the run against its reference, with every regressed intent or
    probe (and the overall row) as an evidence row (llmwatch.evals.evidence)."""
    alert = run_alert(run_verdict(report, verdict))
    return [] if alert is None else [alert]


def run_verdict(report: RunReport, verdict: Verdict) -> RunVerdict:
    overall = next((row for row in verdict.rows if row.name == OVERALL), None)
    return RunVerdict(
        kind="golden_regression" if report.kind == "golden" else "canary_regression",
        flow="golden-set" if report.kind == "golden" else "canary-probes",
        target=report.target,
        model_id=report.model_id,
        run_id=report.run_id,
        against=verdict.against,
        reference=verdict.reference,
        reference_run_id=report.previous_run_id if verdict.against == "previous" else None,
        set_version=report.set_version,
        started_at=report.started_at,
        finished_at=report.finished_at,
        compared=sum(1 for row in verdict.rows if row.name != OVERALL),
        overall_regressed=bool(overall and overall.significant),
        evidence=[_evidence(row) for row in verdict.regressions],
    )


def _evidence(row: Row) -> Evidence:
    t = row.test
    return Evidence(
        name=row.name,
        significant=row.significant,
        reason=row.reason,
        test=t.test,
        p_value=t.p_value,
        candidate_rate=t.candidate_rate,
        reference_rate=t.reference_rate,
        candidate=(t.candidate_passed, t.candidate_n),
        reference=(t.reference_passed, t.reference_n),
        candidate_fingerprint=row.candidate_fingerprint,
        reference_fingerprint=row.reference_fingerprint,
        extra={"candidate_errors": row.candidate_errors, "reference_errors": row.reference_errors},
    )


def _retrieval(dataset: Dataset, results: list[Any]) -> RetrievalSummary | None:
    relevant = {e.id: e.relevant_ids for e in dataset.examples if e.relevant_ids}
    if not relevant:
        return None
    summary = retrieval_summary(
        (r.details.get("retrieved_ids"), relevant.get(r.example_id)) for r in results
    )
    return summary if summary.n else None


def _summary(report: RunReport) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "set": report.set_name,
        "n_calls": report.n_calls,
        "n_errors": report.n_errors,
        "client": report.client,
    }
    if report.fatal:
        summary["fatal"] = report.fatal[:500]
    if report.kind == "golden":
        summary["intents"] = {
            name: {"passed": c.passed, "scored": c.scored, "errors": c.errors}
            for name, c in report.golden.items()
        }
    if report.retrieval is not None:
        summary["retrieval"] = report.retrieval.to_dict()
    return summary
