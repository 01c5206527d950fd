"""One sample-and-judge run, assembled from the settings: select, judge, chart.

The Prefect tasks call these three steps; they are plain functions so that a notebook
or a test can run the same job without Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from llmwatch.judge.health import judge_health_alerts
from llmwatch.judge.quality import ChartUpdate, update_quality_charts
from llmwatch.judge.rubric import Rubric, get_rubric
from llmwatch.judge.runner import JudgeRunReport, judge_selection
from llmwatch.judge.store import (
    Sample,
    Selection,
    judged_ids,
    select_samples,
    write_judgements,
)
from llmwatch.judge.structured import Format, response_formats
from llmwatch.llm import Budget, ChatClient, Endpoint, Limits, Pricing
from llmwatch.settings import JudgeSettings, Settings
from llmwatch.warehouse import claims


class JudgeConfigError(ValueError):
    """The judge cannot run with this configuration (said before any call is made)."""


@dataclass(frozen=True)
class JudgeSetup:
    cfg: JudgeSettings
    endpoint: Endpoint
    limits: Limits
    pricing: Pricing | None
    rubric: Rubric

    @property
    def judge_model(self) -> str:
        return self.endpoint.model

    @property
    def formats(self) -> tuple[Format, ...]:
        return response_formats(self.cfg.json_schema, self.cfg.json_mode)

    @property
    def endpoint_key(self) -> str:
        """The endpoint a format refusal is remembered for."""
        return f"{self.endpoint.base_url}|{self.endpoint.model}"

    def budget(self) -> Budget:
        return Budget(self.cfg.max_calls_per_run, self.cfg.max_cost_usd_per_run, self.pricing)


def judge_setup(settings: Settings) -> JudgeSetup:
    cfg = settings.judge
    if not settings.judge_base_url or not settings.judge_model:
        raise JudgeConfigError(
            "no judge endpoint configured: set LLMWATCH_JUDGE_BASE_URL and LLMWATCH_JUDGE_MODEL "
            "(and LLMWATCH_JUDGE_API_KEY when the endpoint needs one)"
        )
    try:
        rubric = get_rubric(cfg.rubric_version)
    except ValueError as exc:
        raise JudgeConfigError(str(exc)) from None
    pricing = Pricing.lookup(settings.judge_model, settings.prices)
    if cfg.max_cost_usd_per_run is not None and pricing is None:
        raise JudgeConfigError(
            f"judge.max_cost_usd_per_run is set but no price is known for judge model "
            f"{settings.judge_model!r}: add it under [prices] or remove the cost budget"
        )
    params: dict[str, Any] = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
    endpoint = Endpoint(
        settings.judge_base_url, settings.judge_model, settings.judge_api_key, params
    )
    limits = Limits.from_settings(cfg)
    return JudgeSetup(cfg, endpoint, limits, pricing, rubric)


def select(
    engine: Engine, setup: JudgeSetup, start: datetime | None, end: datetime | None
) -> Selection:
    cfg = setup.cfg
    with engine.connect() as conn:
        return select_samples(
            conn,
            rubric_version=setup.rubric.version,
            judge_model=setup.judge_model,
            rates=cfg.sample_rates,
            default_rate=cfg.default_sample_rate,
            start=start,
            end=end,
            lookback=timedelta(minutes=cfg.watermark_lookback_minutes),
            limit=cfg.max_calls_per_run,
        )


class SampleClaims:
    """This run's claims on the samples it judges (llmwatch.warehouse.claims), so that
    concurrent runs on several workers split the work: a sample is judged by the run
    that claimed it; one judged meanwhile by another run is given back untouched."""

    def __init__(self, engine: Engine, setup: JudgeSetup) -> None:
        self.engine = engine
        self.rubric_version = setup.rubric.version
        self.judge_model = setup.judge_model
        self.scope = f"judge:{self.rubric_version}:{self.judge_model}"
        self.owner = claims.new_owner()
        self.lease = timedelta(seconds=setup.cfg.claim_lease_seconds)
        self.held: set[str] = set()

    def __call__(self, samples: list[Sample]) -> set[str]:
        ids = [s.request_id for s in samples]
        with self.engine.begin() as conn:
            taken = claims.claim(conn, self.scope, ids, self.owner, self.lease, datetime.now(UTC))
            # Judged and given back by another run after our selection was made.
            done = judged_ids(conn, taken, self.rubric_version, self.judge_model)
            claims.release(conn, self.scope, done, self.owner)
        self.held |= taken - done
        return taken - done

    def release(self) -> None:
        """Give every claim back: judged samples are now recorded as judgements, and the
        rest (deferred, not started) are for the next run at once."""
        with self.engine.begin() as conn:
            claims.release(conn, self.scope, self.held, self.owner)
        self.held.clear()


async def judge(engine: Engine, setup: JudgeSetup, selection: Selection) -> JudgeRunReport:
    """Judge the selection over one shared HTTP client; results and the watermark are
    committed together every ``commit_every`` judgements. Samples are claimed as they
    are taken, so concurrent runs split the selection between them."""

    def sink(rows: list[dict[str, Any]], watermark: datetime | None) -> int:
        with engine.begin() as conn:
            return write_judgements(conn, rows, watermark, datetime.now(UTC))

    held = SampleClaims(engine, setup)
    try:
        async with ChatClient(setup.endpoint, setup.limits, setup.budget()) as client:
            return await judge_selection(
                client,
                setup.rubric,
                selection,
                sink,
                judge_model=setup.judge_model,
                redact_pii=setup.cfg.redact_pii,
                commit_every=setup.cfg.commit_every,
                formats=setup.formats,
                endpoint_key=setup.endpoint_key,
                claimer=held,
            )
    finally:
        held.release()  # a run killed before this leaves its claims to their lease


def closed_before(
    report: JudgeRunReport, cfg: JudgeSettings, now: datetime, until: datetime | None = None
) -> datetime:
    """Windows ending at or before this instant are complete and can be charted.

    A back-fill of [start, end) has judged nothing after ``end``: charting past it
    would close later windows empty and they could never be charted again.
    """
    closed = now - timedelta(minutes=cfg.chart_settle_minutes)
    if until is not None:
        closed = min(closed, until)
    if report.earliest_pending_ts is not None:
        closed = min(closed, report.earliest_pending_ts)
    return closed


def chart(
    engine: Engine, setup: JudgeSetup, closed: datetime, now: datetime | None = None
) -> list[ChartUpdate]:
    return update_quality_charts(
        engine, setup.cfg, judge_model=setup.judge_model, closed_before=closed, now=now
    )


def check_health(
    engine: Engine, setup: JudgeSetup, report: JudgeRunReport, now: datetime | None = None
) -> list[int]:
    """``judge_failure`` for this run and the judge model's trailing day (health.py)."""
    return judge_health_alerts(
        engine,
        setup.cfg,
        judge_model=setup.judge_model,
        run_failures=report.failures,
        run_total=report.judged_ok + report.failures,
        now=now or datetime.now(UTC),
    )
