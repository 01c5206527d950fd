"""The warehouse schema: every table the jobs read and write.

The ORM classes define the schema and serve the low-volume paths; bulk paths use the
tables through Core (``Model.__table__``) so that no row costs an ORM round trip.
Alembic migrations under ``migrations/`` must match these classes (a test checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from llmwatch.warehouse.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(256)
UNRESOLVED_SQL = "state IN ('open', 'acknowledged')"
# BigInteger autoincrement needs an INTEGER PRIMARY KEY on SQLite to get rowid aliasing.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --- ingestion ------------------------------------------------------------------------


class Request(Base):
    """One LLM request as recorded by the application (SPEC 3.1)."""

    __tablename__ = "requests"

    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    ts: Mapped[datetime]
    feature_id: Mapped[str] = mapped_column(ID)
    model_id: Mapped[str] = mapped_column(ID)
    provider: Mapped[str | None] = mapped_column(ID)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cached_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    # NULL means no price was known: never priced as 0.
    cost_usd: Mapped[float | None] = mapped_column(Float)
    # 'record' (given by the app), 'genai-prices', 'override' or NULL (unpriced).
    cost_source: Mapped[str | None] = mapped_column(String(32))
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(ID)
    user_segment: Mapped[str | None] = mapped_column(ID)
    prompt_template_id: Mapped[str | None] = mapped_column(ID)
    input: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    ingested_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_requests_ts", "ts"),
        Index("ix_requests_feature_model_ts", "feature_id", "model_id", "ts"),
        Index("ix_requests_ingested_at", "ingested_at"),
    )


class UserSignal(Base):
    """Explicit or implicit feedback about one request (SPEC 3.2)."""

    __tablename__ = "user_signals"

    # sha256 of (request_id, signal_type, timestamp, session_id): re-ingesting never doubles.
    signal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(ID)
    session_id: Mapped[str | None] = mapped_column(ID)
    signal_type: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime]
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    ingested_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_user_signals_request_id", "request_id"),
        Index("ix_user_signals_ts", "ts"),
    )


class IngestedFile(Base):
    """A file read to its end; its fingerprint makes a second read a no-op."""

    __tablename__ = "ingested_files"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int] = mapped_column(Integer)
    loaded: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    unpriced: Mapped[int] = mapped_column(Integer)
    # Records whose request_id was already stored with different content (not loaded).
    conflicts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ingested_at: Mapped[datetime]


class QuarantinedFile(Base):
    """A file that could not be read to its end (I/O error, corrupt gzip), or that the
    warehouse refused as a whole: nothing of it is loaded, and it is not tried again
    while its content is the same (delete the row to retry it)."""

    __tablename__ = "quarantined_files"

    # sha256 of the bytes, or of "unreadable:<path>" when the bytes cannot be read.
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    quarantined_at: Mapped[datetime]


class IngestReject(Base):
    """A line that failed validation, with where it was and why."""

    __tablename__ = "ingest_rejects"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    file_fingerprint: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    line_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The first bytes of the line, decoded with replacement, for a human to look at.
    excerpt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("file_fingerprint", "line_no", "reason"),)


# --- hourly aggregation ---------------------------------------------------------------


class WindowMetrics(Base):
    """Operational, cost and user-signal metrics for one window x feature x model."""

    __tablename__ = "window_metrics"

    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    feature_id: Mapped[str] = mapped_column(ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(ID, primary_key=True)
    window_end: Mapped[datetime]
    request_count: Mapped[int] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer)
    refusal_count: Mapped[int] = mapped_column(Integer)
    error_rate: Mapped[float] = mapped_column(Float)
    refusal_rate: Mapped[float] = mapped_column(Float)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    ttft_p50_ms: Mapped[float | None] = mapped_column(Float)
    ttft_p95_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens_sum: Mapped[int] = mapped_column(BigInteger)
    output_tokens_sum: Mapped[int] = mapped_column(BigInteger)
    cached_input_tokens_sum: Mapped[int] = mapped_column(BigInteger)
    reasoning_tokens_sum: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens_sum: Mapped[int] = mapped_column(BigInteger)
    input_tokens_mean: Mapped[float] = mapped_column(Float)
    output_tokens_mean: Mapped[float] = mapped_column(Float)
    # Median of input + output tokens per request.
    total_tokens_p50: Mapped[float] = mapped_column(Float)
    # Sums, means and medians over priced requests only; NULL when no request had a price.
    cost_total_usd: Mapped[float | None] = mapped_column(Float)
    cost_mean_usd: Mapped[float | None] = mapped_column(Float)
    cost_p50_usd: Mapped[float | None] = mapped_column(Float)
    unpriced_count: Mapped[int] = mapped_column(Integer)
    # Requests with a thumbs up or down; the positive rate is NULL when there are none.
    explicit_feedback_count: Mapped[int] = mapped_column(Integer)
    explicit_positive_rate: Mapped[float | None] = mapped_column(Float)
    explicit_feedback_coverage: Mapped[float] = mapped_column(Float)
    correction_rate: Mapped[float] = mapped_column(Float)
    follow_up_rate: Mapped[float] = mapped_column(Float)
    retry_rate: Mapped[float] = mapped_column(Float)
    abandonment_rate: Mapped[float] = mapped_column(Float)
    survivorship_bias: Mapped[bool] = mapped_column(Boolean)
    computed_at: Mapped[datetime]

    __table_args__ = (Index("ix_window_metrics_window_end", "window_end"),)


class WindowTemplateSpend(Base):
    """Requests and cost of one window x feature x model x prompt template (the site's
    top spenders; llmwatch.aggregation.templates). "" is no template."""

    __tablename__ = "window_template_spend"

    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    feature_id: Mapped[str] = mapped_column(ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(ID, primary_key=True)
    prompt_template_id: Mapped[str] = mapped_column(ID, primary_key=True)
    request_count: Mapped[int] = mapped_column(Integer)
    # Over priced requests only; NULL when none had a price.
    cost_total_usd: Mapped[float | None] = mapped_column(Float)
    unpriced_count: Mapped[int] = mapped_column(Integer)


# --- sample and judge -----------------------------------------------------------------


class Judgement(Base):
    """One judge call about one request under one rubric version and judge model.

    ``status`` is 'ok' or 'failure'; a failure keeps the judge's raw text and has no
    scores, because a parse failure is not a middling answer.
    """

    __tablename__ = "judgements"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ID)
    feature_id: Mapped[str] = mapped_column(ID)
    model_id: Mapped[str] = mapped_column(ID)
    request_ts: Mapped[datetime]
    rubric_version: Mapped[str] = mapped_column(String(64))
    judge_model: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    faithfulness: Mapped[int | None] = mapped_column(Integer)
    relevance: Mapped[int | None] = mapped_column(Integer)
    completeness: Mapped[int | None] = mapped_column(Integer)
    context_relevance: Mapped[int | None] = mapped_column(Integer)
    hallucination: Mapped[bool | None] = mapped_column(Boolean)
    reasons: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    raw_response: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    judged_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("request_id", "rubric_version", "judge_model"),
        Index("ix_judgements_feature_request_ts", "feature_id", "request_ts"),
    )


class ChartState(Base):
    """The persisted state of one EWMA control chart, so charts survive between runs."""

    __tablename__ = "chart_state"

    chart_id: Mapped[str] = mapped_column(ID, primary_key=True)
    feature_id: Mapped[str] = mapped_column(ID)
    metric: Mapped[str] = mapped_column(String(64))
    lam: Mapped[float] = mapped_column(Float)
    limit_l: Mapped[float] = mapped_column(Float)
    # 'warmup' while the baseline is collected, then 'monitoring' with the baseline frozen.
    phase: Mapped[str] = mapped_column(String(16))
    # Baseline points as [start, end, n, sum, sum of squares] (llmwatch.stats.ewma.Point).
    baseline_values: Mapped[list[Any] | None] = mapped_column(JSON)
    mu0: Mapped[float | None] = mapped_column(Float)
    # Spread of single scores (sigma), between-window variance (tau^2), Var(mu0).
    sigma0: Mapped[float | None] = mapped_column(Float)
    tau2: Mapped[float | None] = mapped_column(Float)
    mu0_var: Mapped[float | None] = mapped_column(Float)
    # Standardised EWMA statistic and the EWMA of 1/sd of the points.
    z: Mapped[float | None] = mapped_column(Float)
    e_weight: Mapped[float | None] = mapped_column(Float)
    t: Mapped[int] = mapped_column(Integer, default=0)
    # The lower-side CUSUM of the likelihood ratio for a drop of chart_cusum_shift.
    cusum: Mapped[float | None] = mapped_column(Float)
    # Judgements of windows too sparse to be a point yet, merged with the next ones.
    pending: Mapped[list[Any] | None] = mapped_column(JSON)
    last_window_end: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ChartRebaseline(Base):
    """A chart re-baselined by hand after an accepted change (`llmwatch chart rebaseline`)."""

    __tablename__ = "chart_rebaselines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    chart_id: Mapped[str] = mapped_column(ID)
    feature_id: Mapped[str] = mapped_column(ID)
    requested_at: Mapped[datetime]
    # The new baseline starts with the window holding this instant.
    since: Mapped[datetime]
    # The baseline that was replaced (None when the chart was still in its warm-up).
    previous_mu0: Mapped[float | None] = mapped_column(Float)
    previous_phase: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class ChartPoint(Base):
    """One charted window: the plotted statistic and its limits at that time."""

    __tablename__ = "chart_points"

    chart_id: Mapped[str] = mapped_column(ID, ForeignKey("chart_state.chart_id"), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    window_end: Mapped[datetime]
    n: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    lcl: Mapped[float | None] = mapped_column(Float)
    ucl: Mapped[float | None] = mapped_column(Float)
    signal: Mapped[bool] = mapped_column(Boolean, default=False)


# --- golden set and canary probes -----------------------------------------------------


class GoldenRun(Base):
    __tablename__ = "golden_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(ID)
    model_id: Mapped[str] = mapped_column(ID)
    dataset: Mapped[str] = mapped_column(ID)
    dataset_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    n_examples: Mapped[int] = mapped_column(Integer)
    n_passed: Mapped[int] = mapped_column(Integer)
    n_errors: Mapped[int] = mapped_column(Integer)
    pass_rate: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_golden_runs_target_started", "target", "started_at"),)


class GoldenResult(Base):
    __tablename__ = "golden_results"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("golden_runs.run_id"), primary_key=True
    )
    example_id: Mapped[str] = mapped_column(ID, primary_key=True)
    intent: Mapped[str] = mapped_column(ID)
    check_type: Mapped[str] = mapped_column(String(32))
    # NULL when the call itself failed (error set): an outage is not a wrong answer.
    passed: Mapped[bool | None] = mapped_column(Boolean)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CanaryRun(Base):
    __tablename__ = "canary_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(ID)
    model_id: Mapped[str] = mapped_column(ID)
    probe_set_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_canary_runs_target_started", "target", "started_at"),)


class CanaryResult(Base):
    __tablename__ = "canary_results"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("canary_runs.run_id"), primary_key=True
    )
    probe_id: Mapped[str] = mapped_column(ID, primary_key=True)
    n_runs: Mapped[int] = mapped_column(Integer)
    n_passed: Mapped[int] = mapped_column(Integer)
    n_errors: Mapped[int] = mapped_column(Integer)
    pass_rate: Mapped[float | None] = mapped_column(Float)
    # sha256 of the normalised output; the most common one when runs differ.
    output_fingerprint: Mapped[str | None] = mapped_column(String(64))
    distinct_outputs: Mapped[int] = mapped_column(Integer)
    system_fingerprint: Mapped[str | None] = mapped_column(ID)
    output_chars_mean: Mapped[float | None] = mapped_column(Float)
    input_tokens_mean: Mapped[float | None] = mapped_column(Float)
    output_tokens_mean: Mapped[float | None] = mapped_column(Float)
    latency_ms_mean: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CanarySample(Base):
    """One sampled answer of a distributional canary run (the test needs the texts)."""

    __tablename__ = "canary_samples"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("canary_runs.run_id"), primary_key=True
    )
    probe_id: Mapped[str] = mapped_column(ID, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    served_model: Mapped[str | None] = mapped_column(ID)
    system_fingerprint: Mapped[str | None] = mapped_column(ID)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    # Logprob canary calls (canary_test = "logprob"): per generated token
    # [token, logprob, {top token: logprob}]; None for sampled-text runs.
    logprobs: Mapped[list[Any] | None] = mapped_column(JSON)


class CanaryPin(Base):
    """The pinned reference run of a target: what every later run is tested against."""

    __tablename__ = "canary_pins"

    target: Mapped[str] = mapped_column(ID, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("canary_runs.run_id"))
    probe_set_version: Mapped[str] = mapped_column(String(64))
    pinned_at: Mapped[datetime]


# --- drift ------------------------------------------------------------------------------


class JudgeCalibrationRun(Base):
    """One run of the judge over its calibration set (llmwatch.judge.calibration)."""

    __tablename__ = "judge_calibration_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_at: Mapped[datetime]
    judge_model: Mapped[str] = mapped_column(ID)
    rubric_version: Mapped[str] = mapped_column(String(32))
    set_version: Mapped[str] = mapped_column(String(64))
    # Items in the set, items judged (a verdict or an unusable answer), verdicts that
    # matched, and unusable answers (parse failures, refused calls: never a match).
    n_items: Mapped[int] = mapped_column(Integer)
    n_judged: Mapped[int] = mapped_column(Integer)
    n_agreed: Mapped[int] = mapped_column(Integer)
    n_failures: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float | None] = mapped_column(Float)
    kappa: Mapped[float | None] = mapped_column(Float)
    # The baseline later runs are tested against (the newest pinned run of the series).
    pinned: Mapped[bool] = mapped_column(Boolean)
    baseline_run_id: Mapped[int | None] = mapped_column(BigInteger)
    p_value: Mapped[float | None] = mapped_column(Float)
    # 'baseline', 'ok', 'drift' or 'incomplete' (not every item judged: not tested).
    verdict: Mapped[str] = mapped_column(String(16))
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_judge_calibration_runs_series", "judge_model", "rubric_version", "run_at"),
    )


class DriftRun(Base):
    __tablename__ = "drift_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_date: Mapped[str] = mapped_column(String(10))
    reference_start: Mapped[datetime]
    reference_end: Mapped[datetime]
    current_start: Mapped[datetime]
    current_end: Mapped[datetime]
    n_reference: Mapped[int] = mapped_column(Integer)
    n_current: Mapped[int] = mapped_column(Integer)
    drift_share: Mapped[float | None] = mapped_column(Float)
    n_drifted: Mapped[int] = mapped_column(Integer)
    n_columns: Mapped[int] = mapped_column(Integer)
    report_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_drift_runs_report_date", "report_date"),)


class DriftColumn(Base):
    __tablename__ = "drift_columns"

    run_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("drift_runs.run_id"), primary_key=True
    )
    column_name: Mapped[str] = mapped_column(ID, primary_key=True)
    method: Mapped[str] = mapped_column(String(128))
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    drifted: Mapped[bool] = mapped_column(Boolean)


# --- alerts and bookkeeping -------------------------------------------------------------


class Alert(Base):
    """An alert (SPEC 3.5). Stored first, delivered after (see AlertDelivery)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    flow: Mapped[str] = mapped_column(String(64))
    feature_id: Mapped[str | None] = mapped_column(ID)
    model_id: Mapped[str | None] = mapped_column(ID)
    metric: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # kind|feature|model|metric: the series that cool-down de-duplicates on.
    series_key: Mapped[str] = mapped_column(Text)
    # The incident (4.7) this alert joined or opened.
    incident_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_alerts_created_at", "created_at"),
        Index("ix_alerts_series_window", "series_key", "window_start"),
    )


class AlertDelivery(Base):
    """Delivery of one alert to one channel (before incidents, migration 0004: kept as
    history; deliveries are now per incident transition, see NotificationDelivery)."""

    __tablename__ = "alert_deliveries"

    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Incident(Base):
    """Alerts of one series grouped into what people are told about (SPEC 4.7)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # kind|feature|model: alerts with this key join the incident while it is not resolved.
    group_key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    feature_id: Mapped[str | None] = mapped_column(ID)
    model_id: Mapped[str | None] = mapped_column(ID)
    # 'open', 'acknowledged' or 'resolved'.
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # The last time the condition was seen (an alert, stored or held back by cool-down).
    last_seen_at: Mapped[datetime]
    last_notified_at: Mapped[datetime | None]
    first_alert_id: Mapped[int] = mapped_column(BigInteger)
    worst_alert_id: Mapped[int] = mapped_column(BigInteger)
    alert_count: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    # Part of the series that is neither feature nor model (a delivery_failure's channel).
    scope: Mapped[str | None] = mapped_column(ID)

    __table_args__ = (
        Index("ix_incidents_group_state", "group_key", "state"),
        # At most one unresolved incident per series, even with two runs racing.
        Index(
            "uq_incidents_unresolved_group_key",
            "group_key",
            unique=True,
            postgresql_where=text(UNRESOLVED_SQL),
            sqlite_where=text(UNRESOLVED_SQL),
        ),
    )


class IncidentNotification(Base):
    """One transition of an incident that people are told about (opened, escalated,
    repeat, resolved); delivered to every channel through NotificationDelivery."""

    __tablename__ = "incident_notifications"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    # The alert the message is about: the new one, or the incident's worst.
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id"))
    event: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)


class NotificationDelivery(Base):
    """Delivery of one notification to one channel; 'pending' rows are retried."""

    __tablename__ = "notification_deliveries"

    # No foreign key: its conventional name passes PostgreSQL's 63-character limit.
    notification_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SloStatus(Base):
    """The latest burn-rate evaluation of one SLO of one feature (llmwatch.slo)."""

    __tablename__ = "slo_status"

    feature_id: Mapped[str] = mapped_column(ID, primary_key=True)
    # 'latency', 'ttft' or 'errors'.
    slo: Mapped[str] = mapped_column(String(16), primary_key=True)
    evaluated_at: Mapped[datetime]
    objective: Mapped[float] = mapped_column(Float)
    threshold_ms: Mapped[float | None] = mapped_column(Float)
    # Events and bad events over the budget period, and the share of budget left (< 0: spent).
    budget_days: Mapped[float] = mapped_column(Float)
    events: Mapped[int] = mapped_column(BigInteger)
    bad_events: Mapped[int] = mapped_column(BigInteger)
    remaining_budget: Mapped[float | None] = mapped_column(Float)
    # Burn rate (bad share / allowed share) per alert window, e.g. {"1h": 0.4, "5m": 0.0}.
    burn_rates: Mapped[dict[str, Any]] = mapped_column(JSON)
    paging: Mapped[bool] = mapped_column(Boolean)
    ticketing: Mapped[bool] = mapped_column(Boolean)


class Watermark(Base):
    """How far a job has got; written in the same transaction as the job's results."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(ID, primary_key=True)
    value: Mapped[datetime]
    updated_at: Mapped[datetime]


class WorkClaim(Base):
    """A piece of work one worker has taken (an inbox object, a request to judge), so
    that two workers never do it twice; the lease lets another take it over when the
    holder died. ``done_at`` is set for work whose claim is its only record (inbox
    objects: the next listing skips them without downloading them again)."""

    __tablename__ = "work_claims"

    # 'inbox' or 'judge:<rubric>:<judge model>'; the key is unique within its scope.
    scope: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    owner: Mapped[str] = mapped_column(ID)
    lease_until: Mapped[datetime]
    done_at: Mapped[datetime | None]
