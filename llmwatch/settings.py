"""One settings object for the whole product.

Precedence, highest first: keyword arguments, ``LLMWATCH_*`` environment variables,
the TOML file (``llmwatch.toml`` in the working directory, or the path in
``LLMWATCH_CONFIG``), then the defaults below. The defaults need no file at all.

Nested sections are overridden from the environment with a double underscore, e.g.
``LLMWATCH_INGEST__BATCH_SIZE=5000``. The spec-named flat variables
(``LLMWATCH_JUDGE_BASE_URL`` ...) are plain top-level fields.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV_VAR = "LLMWATCH_CONFIG"
DEFAULT_CONFIG_FILE = "llmwatch.toml"


class Section(BaseModel):
    """A section of the configuration: an unknown key is an error, not ignored, so a
    typo (``[judge] sample_rate``) cannot silently leave a default in force."""

    model_config = ConfigDict(extra="forbid")


class PriceOverride(Section):
    """A local price in USD per million tokens, for self-hosted or negotiated models.

    ``input_mtok`` applies to uncached input tokens; cached reads and cache writes fall
    back to the input price when not given.
    """

    input_mtok: float = Field(ge=0)
    output_mtok: float = Field(ge=0)
    cache_read_mtok: float | None = Field(default=None, ge=0)
    cache_write_mtok: float | None = Field(default=None, ge=0)


class IngestSettings(Section):
    batch_size: int = Field(default=20_000, gt=0)
    # JSONL files at least this large are parsed by this many worker processes while
    # the main process writes (0: never); smaller files use a thread.
    parse_processes: int = Field(default=2, ge=0)
    process_min_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # A line longer than this is rejected without being held in memory whole.
    max_line_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Text fields (input, output, context) longer than this reject the record.
    max_text_chars: int = Field(default=200_000, gt=0)
    # Identifier fields (request_id, feature_id, model_id ...) longer than this are rejected.
    max_id_chars: int = Field(default=256, gt=0)
    # OTel spans: the first of these attributes found (span, then resource) is the feature id.
    otel_feature_attributes: list[str] = Field(
        default_factory=lambda: ["llmwatch.feature_id", "service.name"]
    )
    # Where the ingest flow reads from: a local folder or an fsspec URL shared by every
    # worker (s3://bucket/prefix, gs://..., az://...); unset: <data_dir>/inbox/requests
    # and <data_dir>/inbox/signals. Signal files are recognised by name (``signals``).
    inbox_url: str | None = None
    # S3-compatible object stores: the endpoint (MinIO, Ceph, moto) and the key pair;
    # unset, s3fs finds them as boto does (AWS_* variables, ~/.aws, instance role).
    inbox_endpoint_url: str | None = None
    inbox_key: SecretStr | None = None
    inbox_secret: SecretStr | None = None
    # A worker that claimed a remote inbox object and died: after this long another
    # worker takes the object over. Longer than the slowest file takes to load.
    inbox_claim_lease_seconds: int = Field(default=900, gt=0)


class CostSettings(Section):
    """Hourly cost and operational aggregation, and its alert rules (SPEC 4.2).

    SLOs are alerted on burn rates by the ``slo`` section, not here.
    """

    # Total spend of one hour over all features and models, and per feature.
    hourly_budget_usd: float | None = Field(default=None, gt=0)
    feature_hourly_budget_usd: dict[str, float] = Field(default_factory=dict)
    # Token and cost per request against the same feature+model's trailing windows.
    baseline_hours: int = Field(default=72, ge=2)
    min_history: int = Field(default=12, ge=2)
    robust_z: float = Field(default=5.0, gt=0)
    # ... and at least this many times the baseline median, so a tiny MAD cannot page.
    min_ratio: float = Field(default=1.5, ge=1)
    anomaly_min_requests: int = Field(default=20, ge=1)
    # Each run re-aggregates this many complete hours, so late records are counted.
    lookback_hours: int = Field(default=3, ge=1)
    # After missed runs, a scheduled run also catches up the hours since the last
    # aggregated one, but at most this many; older gaps need an explicit back-fill.
    max_catchup_hours: int = Field(default=48, ge=1)
    # The first scheduled run (no window aggregated yet) on a warehouse that already
    # holds requests aggregates them, from the oldest hour but at most this many hours
    # back (7 days); older history needs an explicit back-fill (--start/--end).
    max_backfill_hours: int = Field(default=168, ge=1)
    # Concurrent runs (several workers, a back-fill beside the schedule) claim the
    # windows they aggregate; a run that died holds its window this long.
    claim_lease_seconds: int = Field(default=900, gt=0)
    # Older windows are re-aggregated when records or signals for them were ingested
    # since the last run (see llmwatch.aggregation.late); this much before the last
    # run's mark is looked at again, for ingest transactions that committed late.
    late_margin_minutes: float = Field(default=30.0, ge=0)
    # At most this many distinct features, and as many models, per window: the tail
    # (least requests) is folded into "__other__", with a warning and an alert.
    max_distinct_per_window: int = Field(default=200, ge=2)
    # Survivorship bias: many abandon while the few who rate are happy (seed 000).
    survivorship_abandonment_rate: float = Field(default=0.3, ge=0, le=1)
    survivorship_positive_rate: float = Field(default=0.8, ge=0, le=1)
    survivorship_min_explicit: int = Field(default=10, ge=1)
    cooldown_hours: float = Field(default=6.0, ge=0)


_SLO_OBJECTIVE_KEYS = frozenset(
    {"latency_ms", "latency_objective", "ttft_ms", "ttft_objective", "error_objective"}
)


class SloSettings(Section):
    """SLOs as objectives, alerted on error-budget burn rates (SPEC 4.2; llmwatch.slo).

    Per feature: ``latency_objective`` of successful requests faster than ``latency_ms``,
    ``ttft_objective`` of successful streamed requests with TTFT under ``ttft_ms``, and
    ``error_objective`` of requests without error. A threshold or objective set to
    ``None`` disables that SLO.
    """

    latency_ms: float | None = Field(default=10_000.0, gt=0)
    latency_objective: float | None = Field(default=0.99, gt=0, lt=1)
    ttft_ms: float | None = Field(default=3_000.0, gt=0)
    ttft_objective: float | None = Field(default=0.95, gt=0, lt=1)
    error_objective: float | None = Field(default=0.99, gt=0, lt=1)
    # feature_id -> {key: value} for the five keys above (None disables).
    overrides: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    # The error budget's period, for the remaining budget.
    budget_days: float = Field(default=30.0, gt=0)
    # Fast burn pages (1.67 % of a 30-day budget in an hour), slow burn opens a ticket
    # (5 % in 6 h): each over a long window and a short one that stops the alert soon
    # after recovery (Google SRE Workbook, "Alerting on SLOs"). 12, not the workbook's
    # 14.4 (2 %): at 50 requests/h a page needs 6 bad events instead of 8, so an outage
    # pages within 15 min in 95 % of cases (14.4: 15 min, at the edge) for 0.07 false
    # pages per 30 days instead of 0.01 (bench/detection.py).
    page_burn_rate: float = Field(default=12.0, gt=0)
    page_long_minutes: float = Field(default=60.0, gt=0)
    page_short_minutes: float = Field(default=5.0, gt=0)
    ticket_burn_rate: float = Field(default=6.0, gt=0)
    ticket_long_minutes: float = Field(default=360.0, gt=0)
    ticket_short_minutes: float = Field(default=30.0, gt=0)
    # Low volume: an alert needs this many bad events in its long window, and the bad
    # count must be unlikely (binomial tail below max_p_value) for a feature that is just
    # on budget; the short window reaches back to hold at least min_bad_events events.
    min_bad_events: int = Field(default=3, ge=1)
    max_p_value: float = Field(default=0.001, gt=0, le=1)
    # Evaluation step of `llmwatch run slo` over a range (a back-fill, the demo). The
    # schedule evaluates every minute; a 5-minute back-fill is 5x cheaper and may page
    # up to 4 minutes later than the schedule did.
    step_minutes: float = Field(default=5.0, gt=0)
    cooldown_hours: float = Field(default=6.0, ge=0)

    @field_validator("overrides")
    @classmethod
    def _known_keys(
        cls, value: dict[str, dict[str, float | None]]
    ) -> dict[str, dict[str, float | None]]:
        for feature, keys in value.items():
            unknown = set(keys) - _SLO_OBJECTIVE_KEYS
            if unknown:
                raise ValueError(
                    f"slo.overrides[{feature!r}]: unknown key(s) {sorted(unknown)}; "
                    f"expected some of {sorted(_SLO_OBJECTIVE_KEYS)}"
                )
            for key, number in keys.items():
                bad_objective = key.endswith("objective") and not 0 < (number or 0.5) < 1
                if bad_objective or (number is not None and number <= 0):
                    raise ValueError(
                        f"slo.overrides[{feature!r}].{key} = {number}: objectives are shares "
                        "in (0, 1), thresholds milliseconds > 0"
                    )
        return value


class EndpointLimits(Section):
    """How llmwatch calls one LLM endpoint: concurrency, rate, retries, timeouts, breaker."""

    concurrency: int = Field(default=8, ge=1)
    requests_per_second: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=4, ge=0)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    max_retry_after_s: float = Field(default=120.0, gt=0)
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    breaker_failures: int = Field(default=10, ge=1)


class JudgeSettings(EndpointLimits):
    """Sample-and-judge (SPEC 4.3) and its quality control charts (SPEC 5)."""

    rubric_version: str = "v1"
    # Fraction of each feature's requests that is judged; features not listed get the default.
    default_sample_rate: float = Field(default=0.05, ge=0, le=1)
    sample_rates: dict[str, float] = Field(default_factory=dict)
    # The judge endpoint is rate-limited by default: most providers cap requests/s.
    requests_per_second: float | None = Field(default=20.0, gt=0)
    # Per-run budget; the cost budget needs a known price for the judge model.
    max_calls_per_run: int | None = Field(default=2000, ge=1)
    max_cost_usd_per_run: float | None = Field(default=None, gt=0)
    temperature: float = 0.0
    max_tokens: int = Field(default=400, ge=16)
    # JSON mode (response_format=json_object): the fallback when a JSON schema is refused.
    json_mode: bool = True
    redact_pii: bool = True
    # Results are committed (with the watermark) every this many judgements.
    commit_every: int = Field(default=100, ge=1)
    # Requests ingested up to this long before the watermark are looked at again, so a
    # slow ingest transaction that commits late is not skipped (already judged ones are).
    watermark_lookback_minutes: float = Field(default=15.0, ge=0)
    # Concurrent runs (several workers) claim the samples they judge; a run that died
    # holds its claims this long, then another run judges them. Longer than a run.
    claim_lease_seconds: int = Field(default=900, gt=0)
    # EWMA chart of the judged score, standardised by each point's n (llmwatch.stats.ewma).
    # lambda 0.15 and L 4.0 (not the textbook 0.1 and 2.814, an ARL of 500 points: 1.4
    # false alerts a month with hourly points), with the CUSUM below, hold <= 0.3 false
    # alerts per 30 days with an estimated baseline (bench/detection.py).
    chart_lambda: float = Field(default=0.15, gt=0, le=1)
    chart_l: float = Field(default=4.0, gt=0)
    chart_window_minutes: int = Field(default=60, ge=1)
    # A point needs this many scored judgements; sparser windows merge with the next ones.
    chart_min_window_n: int = Field(default=10, ge=2)
    # The baseline: at least this many points (72: enough to estimate the between-window
    # variance), judgements and hours (a daily cycle).
    chart_warmup_windows: int = Field(default=72, ge=2)
    chart_baseline_min_n: int = Field(default=300, ge=2)
    chart_baseline_hours: float = Field(default=24.0, ge=0)
    # A window is charted once it ended this long ago (late records and judging settle).
    chart_settle_minutes: float = Field(default=15.0, ge=0)
    # Floor for the spread of single scores, so a baseline of identical scores does not
    # make every later wobble a signal (in score units, 1..5).
    chart_min_sigma: float = Field(default=0.05, gt=0)
    # Beside the EWMA, a CUSUM of the likelihood ratio for a drop of this many points
    # (1..5 scale) signals when it passes chart_cusum_h (for hourly points; lower by
    # ln(hours) for longer merged points): it catches a drop of that size
    # within a few points at any volume (bench/detection.py).
    chart_cusum_shift: float = Field(default=0.5, gt=0)
    chart_cusum_h: float = Field(default=6.6, gt=0)
    # Judge health: share of unusable answers (parse failures and refused calls) per run
    # and per judge model over the trailing failure_window_hours.
    failure_rate_threshold: float = Field(default=0.2, ge=0, le=1)
    failure_min_n: int = Field(default=5, ge=1)
    failure_window_hours: float = Field(default=24.0, gt=0)
    # Ask for a JSON-schema structured output (falls back to json_mode when refused).
    json_schema: bool = True
    alert_cooldown_hours: float = Field(default=6.0, ge=0)


class JudgeCalibrationSettings(Section):
    """The judge judged on a set of known verdicts (llmwatch.judge.calibration)."""

    # A verdict is 'good' when its score reaches this and it flags no hallucination.
    pass_score: float = Field(default=3.5, ge=1, le=5)
    # judge_drift: accuracy below the pinned run's, one-sided at alpha, by at least min_drop.
    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_drop: float = Field(default=0.05, ge=0, le=1)
    # A drop of this much or more is critical, a smaller significant one a warning.
    critical_drop: float = Field(default=0.15, gt=0, le=1)


class DriftSettings(Section):
    """Daily Evidently drift report (SPEC 4.6)."""

    # Reference = the trailing days before the report day, unless a baseline is pinned.
    reference_days: int = Field(default=7, ge=1)
    # A pinned baseline period [baseline_start, baseline_end) (UTC) wins over reference_days.
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    # Each side is a simple random sample of at most this many requests (seeded, so a
    # re-run of the same day gives the same report).
    sample_size: int = Field(default=20_000, ge=100)
    sample_seed: int = 0
    # input_drift fires when the share of drifted columns reaches this.
    drift_share: float = Field(default=0.25, gt=0, le=1)
    # Judge scores join the frame only when both sides have this many.
    min_judged: int = Field(default=30, ge=1)
    # An OpenAI-compatible /v1/embeddings endpoint; when set, prompts are embedded and the
    # distance to the reference centroid becomes a drift column.
    embedding_base_url: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_api_key_env: str | None = None
    # At most this many prompts per side are embedded.
    embedding_sample_size: int = Field(default=2_000, ge=10)
    alert_cooldown_hours: float = Field(default=20.0, ge=0)

    @model_validator(mode="after")
    def _baseline_pair(self) -> DriftSettings:
        if (self.baseline_start is None) != (self.baseline_end is None):
            raise ValueError("drift baseline needs both baseline_start and baseline_end")
        if self.baseline_start is not None and self.baseline_end is not None:
            if self.baseline_start.tzinfo is None or self.baseline_end.tzinfo is None:
                raise ValueError("drift baseline_start/baseline_end need a UTC offset")
            if self.baseline_end <= self.baseline_start:
                raise ValueError("drift baseline_end must be after baseline_start")
        return self


class EvalSettings(EndpointLimits):
    """Golden-set runs, canary probes and the upgrade gate (SPEC 4.4, 4.5)."""

    # None: the shipped llmwatch/evals/data/golden_v1.jsonl and probes_v1.toml.
    golden_dataset: Path | None = None
    probes: Path | None = None
    # Repetitions of each probe (overrides the probe file's default).
    probe_repeats: int | None = Field(default=None, ge=1)
    # Defaults for every target call; a target's own params win.
    temperature: float = 0.0
    max_tokens: int = Field(default=512, ge=1)
    # Regression test: one-sided p below alpha AND a drop of at least the minimum effect.
    alpha: float = Field(default=0.05, gt=0, lt=1)
    min_effect: float = Field(default=0.10, ge=0, le=1)
    canary_min_effect: float = Field(default=0.34, ge=0, le=1)
    # Intents with fewer answered examples (on either side) are not tested.
    min_n: int = Field(default=10, ge=1)
    # A run with a larger share of errors is stored as 'incomplete' and never compared.
    max_error_share: float = Field(default=0.2, ge=0, le=1)
    # Judge-against-reference: mean score (1-5) needed to pass, unless the example says.
    judge_min_score: float = Field(default=4.0, ge=1, le=5)
    alert_cooldown_hours: float = Field(default=6.0, ge=0)
    # Distributional canary (targets with canary_test = "distribution"; SPEC 4.5). The
    # defaults follow Gao et al. (ICLR 2025): about 10 samples per prompt, sampled at
    # temperature 1; short completions keep the calls cheap and the opening characters
    # carry most of what the Hamming kernel sees.
    distribution_k: int = Field(default=10, ge=2)
    distribution_temperature: float = Field(default=1.0, gt=0)
    distribution_max_tokens: int = Field(default=50, ge=1)
    distribution_max_chars: int = Field(default=1000, ge=1)
    distribution_permutations: int = Field(default=1000, ge=99)
    # A first p below alpha is re-tested on fresh samples; only both below alpha alert.
    distribution_alpha: float = Field(default=0.05, gt=0, lt=1)
    # Power is stated against this share of substituted responses, with the smallest
    # share reaching power_wanted, from power_simulations simulated runs.
    power_share: float = Field(default=0.2, gt=0, le=1)
    power_wanted: float = Field(default=0.8, gt=0, lt=1)
    power_simulations: int = Field(default=200, ge=20)
    # Logprob canary (targets with canary_test = "logprob"; issue 17): per probe, the
    # next-token log-probabilities at temperature 0 for logprob_max_tokens tokens, with
    # the logprob_top most likely alternatives (OpenAI's completions API allows 5). The
    # pin calls each probe logprob_replicates times (its replicate noise is the null);
    # a run calls each probe logprob_calls times. Power is stated against a shift of
    # logprob_power_shift nats per shown logprob.
    logprob_replicates: int = Field(default=5, ge=3)
    logprob_calls: int = Field(default=1, ge=1)
    logprob_max_tokens: int = Field(default=4, ge=1)
    logprob_top: int = Field(default=5, ge=1, le=20)
    logprob_permutations: int = Field(default=2000, ge=99)
    logprob_power_shift: float = Field(default=0.03, gt=0)


class CompareSettings(Section):
    """Live canary / shadow comparison of two versions on live records (SPEC 4.9).

    A check regresses when its one-sided test is significant (p below ``alpha`` divided by
    the five checks, Bonferroni) AND the effect reaches its minimum, so a
    large canary cannot be rolled back for a difference nobody would notice.
    """

    # Fewer requests than this in either arm: the verdict is hold (not enough data).
    min_requests: int = Field(default=200, ge=1)
    # Latency and TTFT are tested only with this many values on each side.
    min_latency_samples: int = Field(default=50, ge=2)
    # Quality is tested only with this many judged requests on each side; with
    # require_quality, fewer judged requests make the verdict hold.
    min_judged: int = Field(default=30, ge=2)
    require_quality: bool = False
    alpha: float = Field(default=0.05, gt=0, lt=1)
    # Minimum effects: p95 ratio for latency and TTFT, absolute error-rate rise, drop of
    # the mean judged score (1-5), ratio of mean cost per request.
    latency_p95_min_ratio: float = Field(default=1.10, ge=1)
    ttft_p95_min_ratio: float = Field(default=1.10, ge=1)
    error_rate_min_increase: float = Field(default=0.01, ge=0, le=1)
    quality_min_drop: float = Field(default=0.25, ge=0)
    cost_min_ratio: float = Field(default=1.10, ge=1)
    # Distribution tests use a seeded random sample of at most this many values per arm.
    max_samples: int = Field(default=20_000, ge=100)
    sample_seed: int = 0
    # Without --since, compare the records of this many last minutes.
    default_window_minutes: float = Field(default=60.0, gt=0)


class Webhook(Section):
    """One alert destination: a Slack-compatible ``{"text": ...}`` or a generic JSON hook."""

    name: str = Field(min_length=1, max_length=200)
    # Webhook URLs usually carry a secret token: kept as a secret, never logged whole.
    url: SecretStr
    kind: Literal["slack", "json"] = "json"
    # Only alerts at or above this severity (info < warning < critical) ...
    min_severity: Literal["info", "warning", "critical"] = "info"
    # ... and, when given, only these kinds.
    kinds: list[str] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        return value


class RoutingSettings(Section):
    """Alert delivery (SPEC 4.7): webhooks and Prefect events, pending until delivered."""

    webhooks: list[Webhook] = Field(default_factory=list)
    # One Prefect event per alert (llmwatch.alert.<kind>) for Prefect Automations.
    prefect_events: bool = True
    # Attempts per delivery within one run, with exponential back-off between them;
    # a delivery still failing stays pending for the next run.
    attempts_per_run: int = Field(default=3, ge=1)
    # A delivery that failed this many attempts over all runs is given up ('dead', see
    # `llmwatch alerts redeliver`), so one alert cannot hold its channel's queue forever.
    max_attempts: int = Field(default=100, ge=1)
    backoff_s: float = Field(default=1.0, ge=0)
    timeout_s: float = Field(default=10.0, gt=0)
    # Alerts older than this are not queued for a channel that never had them (a newly
    # added webhook is not flooded with history); queued ones stay pending regardless.
    backfill_hours: float = Field(default=72.0, ge=0)
    # A delivery claimed by a run that died is claimed again after this long.
    claim_timeout_s: float = Field(default=300.0, gt=0)
    # Incidents (llmwatch.incidents): a still-open incident is notified again after this
    # long; one whose condition has not been seen for resolve_after_hours (or the
    # kind's entry below) resolves by itself with one notification. Canary runs are
    # weekly and golden runs daily, so their incidents wait for the next run.
    repeat_interval_hours: float = Field(default=24.0, gt=0)
    resolve_after_hours: float = Field(default=2.0, gt=0)
    resolve_after_hours_by_kind: dict[str, float] = Field(
        default_factory=lambda: {
            "canary_regression": 192.0,
            "golden_regression": 48.0,
            "judge_drift": 48.0,
            "input_drift": 48.0,
        }
    )
    # A back-fill: an alert whose window ended longer ago than this (or than its kind's
    # resolve time, if longer) joins or opens its incident without notifying anyone.
    quiet_backfill_hours: float = Field(default=6.0, gt=0)

    @field_validator("resolve_after_hours_by_kind")
    @classmethod
    def _known_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        from llmwatch.alerts import ALERT_KINDS

        unknown = sorted(set(value) - ALERT_KINDS)
        if unknown:
            raise ValueError(f"unknown alert kind(s) {unknown}")
        if any(hours <= 0 for hours in value.values()):
            raise ValueError("resolve_after_hours_by_kind values must be > 0")
        return value

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, value: list[Webhook]) -> list[Webhook]:
        names = [w.name for w in value]
        if len(names) != len(set(names)):
            raise ValueError("webhook names must be unique")
        return value


class RetentionSettings(Section):
    """How long raw requests and their texts are kept (``llmwatch retention``, daily).

    Texts go first: they are the sensitive part and most of the bytes; the numbers of a
    request stay until ``keep_raw_days``. Aggregates (window metrics, judgement scores,
    charts, eval and drift results, alerts) are kept whatever their age. ``None`` keeps
    forever.
    """

    keep_raw_days: float | None = Field(default=90.0, gt=0)
    keep_text_days: float | None = Field(default=30.0, gt=0)
    batch_size: int = Field(default=5000, ge=1)

    @model_validator(mode="after")
    def _texts_not_longer_than_rows(self) -> RetentionSettings:
        raw, texts = self.keep_raw_days, self.keep_text_days
        if raw is not None and (texts is None or texts > raw):
            raise ValueError("keep_text_days cannot be longer than keep_raw_days")
        return self


class Target(Section):
    """A pinned model that canary and golden runs call (SPEC 3.6)."""

    base_url: str
    model: str
    # Name of the environment variable holding the API key, or of a Prefect Secret block.
    api_key_env: str | None = None
    api_key_secret_block: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    # "completions" for a base model without a chat template (llama.cpp serving a GGUF).
    protocol: Literal["chat", "completions"] = "chat"
    # How canary runs test this target (SPEC 4.5). "exact": temperature-0 repeats, and a
    # changed output of a deterministic probe is a change - right only for deterministic
    # endpoints such as the bundled simulator. "distribution": k samples per probe at a
    # temperature above 0, tested against the pinned run (`llmwatch canary pin`) with the
    # MMD test of Gao et al. (ICLR 2025) - what real, nondeterministic providers need.
    # "logprob": next-token log-probabilities at temperature 0, ranked against the pinned
    # run's replicates - for endpoints that return logprobs; sees near-lossless swaps.
    canary_test: Literal["exact", "distribution", "logprob"] = "exact"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLMWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path(".llmwatch")
    warehouse_url: str = ""
    reports_dir: Path = Path("reports")

    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key: SecretStr | None = None

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    judge_calibration: JudgeCalibrationSettings = Field(default_factory=JudgeCalibrationSettings)
    # Model id -> local price; wins over genai-prices.
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    targets: dict[str, Target] = Field(default_factory=dict)
    cost: CostSettings = Field(default_factory=CostSettings)
    evals: EvalSettings = Field(default_factory=EvalSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    compare: CompareSettings = Field(default_factory=CompareSettings)
    slo: SloSettings = Field(default_factory=SloSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @field_validator("warehouse_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def resolved_warehouse_url(self) -> str:
        """The warehouse URL, defaulting to a SQLite file under ``data_dir``."""
        if self.warehouse_url:
            return self.warehouse_url
        return f"sqlite:///{(self.data_dir / 'warehouse.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_file_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def config_file_path() -> Path | None:
    """The TOML file to read: ``$LLMWATCH_CONFIG`` (must exist) or ``./llmwatch.toml``."""
    explicit = os.environ.get(CONFIG_ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_ENV_VAR}={explicit} does not name a file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


class ConfigError(ValueError):
    """The configuration is unusable. The message is one line naming each bad key and
    where it came from (the file, or the environment variable), never its value: a
    value can be a webhook URL or a key with a secret in it."""


def load_settings() -> Settings:
    """``Settings()``, with every problem of the file or environment as a ConfigError."""
    try:
        path = config_file_path()
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message gives the line and column, not the text.
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from None


def describe_errors(exc: ValidationError, path: Path | None) -> str:
    """One line: each error as ``[section] key: problem``, grouped by where it came from."""
    file_data = _toml_data(path)
    by_source: dict[str, list[str]] = {}
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        problem = (
            "unknown key"
            if error["type"] == "extra_forbidden"
            else str(error["msg"]).removeprefix("Value error, ")
        )
        if path is not None and _in_file(file_data, loc):
            source = f"in {path}"
        else:
            source = "in the environment"
            problem = f"{_env_name(loc)}: {problem}"
        by_source.setdefault(source, []).append(f"{_key_name(loc)}: {problem}")
    parts = [f"{source}: {'; '.join(errors)}" for source, errors in by_source.items()]
    return "invalid configuration " + " / ".join(parts)


def _toml_data(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _in_file(data: Any, loc: tuple[Any, ...]) -> bool:
    """Whether the error's key, or the section that misses it, is written in the file."""
    for depth, part in enumerate(loc):
        in_table = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_table or in_list):
            # A missing key of a section the file has is the file's mistake.
            return depth == len(loc) - 1 and depth > 0
        data = data[part]
    return True


def _key_name(loc: tuple[Any, ...]) -> str:
    """``("targets", "x", "api_key")`` -> ``[targets.x] api_key``; lists by position."""
    section = ""
    for part in loc[:-1]:
        section += f" #{part + 1}" if isinstance(part, int) else f".{part}"
    last = loc[-1] if loc else ""
    if isinstance(last, int):
        return f"[{(section + f' #{last + 1}').lstrip('.')}]"
    return f"[{section.lstrip('.')}] {last}" if section else str(last)


def _env_name(loc: tuple[Any, ...]) -> str:
    return "LLMWATCH_" + "__".join(str(part).upper() for part in loc)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after edits.

    A bad configuration raises :class:`ConfigError`. Loading them registers every secret
    they know with the redaction step.
    """
    from llmwatch.redact import register_settings

    settings = load_settings()
    register_settings(settings)
    return settings
