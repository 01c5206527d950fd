"""Judge a selection of samples concurrently and hand the results over in batches.

A fixed pool of workers (as many as the client's concurrency bound) pulls samples from
the selection, one judge call each. Every settled sample (a verdict, a parse failure,
or a request the endpoint refused) becomes a judgement row; a sample whose call failed
only transiently is left unsettled, so the next run judges it and the watermark stays
before it. Rows are flushed to ``sink`` every ``commit_every`` rows with the watermark
they allow, so a run killed at any point keeps what it flushed and loses nothing else.

The run stops early, after flushing, when the budget is used up, the circuit breaker
opens, or the endpoint refuses every request (bad key, URL or model).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmwatch.judge.parser import ParseFailure, Verdict, parse_verdict
from llmwatch.judge.redact import redact
from llmwatch.judge.rubric import Rubric, build_messages
from llmwatch.judge.store import Sample, Selection
from llmwatch.judge.structured import FORMATS, Format, is_format_refusal
from llmwatch.llm import (
    BudgetExceededError,
    ChatClient,
    ChatResult,
    CircuitOpenError,
    FatalEndpointError,
    PermanentRequestError,
    RetriesExhaustedError,
)

# (rows, watermark or None) -> number of rows that were new in the warehouse
Sink = Callable[[list[dict[str, Any]], datetime | None], int]
# samples -> the request ids this run now holds (llmwatch.judge.job.SampleClaims)
Claimer = Callable[[list[Sample]], set[str]]


@dataclass
class JudgeRunReport:
    selected: int = 0
    judged_ok: int = 0
    parse_failures: int = 0
    refused_requests: int = 0
    # Transient failures that outlived their retries: judged by a later run.
    deferred: int = 0
    # Never started because the run stopped early.
    not_started: int = 0
    # Held by a concurrent run (another worker): judged there, not here.
    claimed_elsewhere: int = 0
    stored: int = 0
    duplicates: int = 0
    stopped: str | None = None  # 'budget', 'circuit_open' or 'fatal'
    stop_message: str | None = None
    watermark: datetime | None = None
    # Request time of the earliest sample left unjudged (deferred or not started): its
    # window cannot be charted yet.
    earliest_pending_ts: datetime | None = None
    client: dict[str, int] = field(default_factory=dict)
    scores_by_feature: dict[str, list[float]] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return self.parse_failures + self.refused_requests


def judgement_row(
    sample: Sample,
    *,
    rubric_version: str,
    judge_model: str,
    judged_at: datetime,
    outcome: Verdict | ParseFailure | PermanentRequestError,
    result: ChatResult | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "request_id": sample.request_id,
        "feature_id": sample.feature_id,
        "model_id": sample.model_id,
        "request_ts": sample.ts,
        "rubric_version": rubric_version,
        "judge_model": judge_model,
        "judged_at": judged_at,
        "latency_ms": result.latency_ms if result else None,
        "cost_usd": result.cost_usd if result else None,
        "status": "ok",
        "score": None,
        "faithfulness": None,
        "relevance": None,
        "completeness": None,
        "context_relevance": None,
        "hallucination": None,
        "reasons": None,
        "failure_reason": None,
        "raw_response": result.text if result else None,
    }
    if isinstance(outcome, Verdict):
        row.update(
            score=outcome.score,
            faithfulness=outcome.faithfulness,
            relevance=outcome.relevance,
            completeness=outcome.completeness,
            context_relevance=outcome.context_relevance,
            hallucination=outcome.hallucination,
            reasons=outcome.reasons,
        )
    elif isinstance(outcome, ParseFailure):
        row.update(status="failure", failure_reason=outcome.reason, raw_response=outcome.raw)
    else:
        row.update(
            status="failure",
            failure_reason=f"judge endpoint refused the request: HTTP {outcome.status}",
            raw_response=outcome.body[:10_000],
        )
    return row


class _Stop(Exception):
    pass


async def judge_selection(
    client: ChatClient,
    rubric: Rubric,
    selection: Selection,
    sink: Sink,
    *,
    judge_model: str,
    redact_pii: bool,
    commit_every: int = 100,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    formats: Sequence[Format] = (None,),
    endpoint_key: str = "",
    claimer: Claimer | None = None,
) -> JudgeRunReport:
    """Judge ``selection``; ``formats`` are the response formats to ask for, best first
    (llmwatch.judge.structured), stepped down per ``endpoint_key`` when refused.

    With a ``claimer``, samples are claimed a small batch at a time as the pool needs
    them, so concurrent runs over the same selection interleave and each judges what it
    claimed; a sample held elsewhere stays unsettled here (the watermark and the charts
    wait for it as for a deferred one)."""
    samples: Sequence[Sample] = selection.samples
    report = JudgeRunReport(selected=len(samples))
    settled: set[int] = set()
    buffer: list[dict[str, Any]] = []
    next_index = 0
    stop: list[str] = []
    ready: deque[int] = deque()
    elsewhere: set[int] = set()
    claiming = asyncio.Lock()
    batch_size = client.limits.concurrency if claimer is not None else 1

    def flush() -> None:
        watermark = selection.watermark_after(settled)
        if not buffer and watermark is None:
            return
        new = sink(list(buffer), watermark)
        report.stored += new
        report.duplicates += len(buffer) - new
        if watermark is not None:
            report.watermark = watermark
        buffer.clear()

    async def judge_one(index: int) -> None:
        sample = samples[index]
        messages = build_messages(
            rubric,
            _clean(sample.input, redact_pii),
            _clean(sample.output, redact_pii) or "",
            _clean(sample.context, redact_pii),
        )
        result: ChatResult | None = None
        outcome: Verdict | ParseFailure | PermanentRequestError
        try:
            result = await _chat(client, messages, formats, endpoint_key)
        except PermanentRequestError as exc:
            outcome = exc
            report.refused_requests += 1
        except RetriesExhaustedError:
            report.deferred += 1
            return
        else:
            outcome = parse_verdict(result.text, bool(sample.context), result.finish_reason)
            if isinstance(outcome, Verdict):
                report.judged_ok += 1
                report.scores_by_feature.setdefault(sample.feature_id, []).append(outcome.score)
            else:
                report.parse_failures += 1
        buffer.append(
            judgement_row(
                sample,
                rubric_version=rubric.version,
                judge_model=judge_model,
                judged_at=now(),
                outcome=outcome,
                result=result,
            )
        )
        settled.add(index)
        if len(buffer) >= commit_every:
            flush()

    async def take() -> int | None:
        nonlocal next_index
        async with claiming:
            while not ready:
                if stop or next_index >= len(samples):
                    return None
                batch = range(next_index, min(next_index + batch_size, len(samples)))
                next_index = batch.stop
                if claimer is None:
                    ready.extend(batch)
                    continue
                held = await asyncio.to_thread(claimer, [samples[i] for i in batch])
                for i in batch:
                    if samples[i].request_id in held:
                        ready.append(i)
                    else:
                        elsewhere.add(i)
            return ready.popleft()

    async def worker() -> None:
        while not stop:
            index = await take()
            if index is None:
                return
            try:
                await judge_one(index)
            except BudgetExceededError as exc:
                _stop(stop, report, "budget", exc)
            except CircuitOpenError as exc:
                _stop(stop, report, "circuit_open", exc)
            except FatalEndpointError as exc:
                _stop(stop, report, "fatal", exc)

    try:
        await asyncio.gather(*(worker() for _ in range(client.limits.concurrency)))
    finally:
        # Whatever happened (even cancellation), what was judged is stored.
        # Each stop was raised by a sample whose call never completed: not started either.
        report.not_started = len(samples) - next_index + len(ready) + len(stop)
        report.claimed_elsewhere = len(elsewhere)
        flush()
        report.client = client.stats.as_dict()
        pending = [s.ts for i, s in enumerate(samples) if i not in settled]
        report.earliest_pending_ts = min(pending) if pending else None
    return report


async def _chat(
    client: ChatClient,
    messages: list[dict[str, str]],
    formats: Sequence[Format],
    endpoint_key: str,
) -> ChatResult:
    """One judge call in the best response format the endpoint has not refused."""
    while True:
        level = min(FORMATS.level(endpoint_key), len(formats) - 1)
        fmt = formats[level]
        try:
            if fmt is None:
                return await client.chat(messages)
            return await client.chat(messages, response_format=fmt)
        except PermanentRequestError as exc:
            if fmt is None or not is_format_refusal(exc):
                raise
            FORMATS.refuse(endpoint_key, level)


def _stop(stop: list[str], report: JudgeRunReport, why: str, exc: Exception) -> None:
    stop.append(why)
    if report.stopped is None:
        report.stopped = why
        report.stop_message = str(exc)


def _clean(text: str | None, redact_pii: bool) -> str | None:
    if text is None or not redact_pii:
        return text
    return redact(text)
