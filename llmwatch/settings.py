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
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV_VAR = "LLMWATCH_CONFIG"
DEFAULT_CONFIG_FILE = "llmwatch.toml"


class PriceOverride(BaseModel):
    """A local price in USD per million tokens, for self-hosted or negotiated models.

    ``input_mtok`` applies to uncached input tokens; cached reads and cache writes fall
    back to the input price when not given.
    """

    input_mtok: float = Field(ge=0)
    output_mtok: float = Field(ge=0)
    cache_read_mtok: float | None = Field(default=None, ge=0)
    cache_write_mtok: float | None = Field(default=None, ge=0)


class IngestSettings(BaseModel):
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


SLO_METRICS = ("latency_p99_ms", "ttft_p95_ms", "error_rate")


class CostSettings(BaseModel):
    """Hourly cost and operational aggregation, and its alert rules (SPEC 4.2).

    A threshold left at ``None`` disables its rule.
    """

    # SLOs, breached when the window's value is above the threshold two windows running.
    slo_latency_p99_ms: float | None = Field(default=10_000.0, gt=0)
    slo_ttft_p95_ms: float | None = Field(default=3_000.0, gt=0)
    slo_error_rate: float | None = Field(default=0.05, ge=0, le=1)
    # feature_id -> {metric: threshold}; metrics are those of SLO_METRICS.
    slo_overrides: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Windows with fewer requests are not judged against SLOs (1 error in 3 is not 33 %).
    slo_min_requests: int = Field(default=20, ge=1)
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

    @field_validator("slo_overrides")
    @classmethod
    def _known_slo_metrics(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for feature, metrics in value.items():
            unknown = set(metrics) - set(SLO_METRICS)
            if unknown:
                raise ValueError(
                    f"slo_overrides[{feature!r}]: unknown metric(s) {sorted(unknown)}; "
                    f"expected some of {list(SLO_METRICS)}"
                )
        return value

    def slo_thresholds(self, feature_id: str) -> dict[str, float | None]:
        """The SLO thresholds that apply to ``feature_id`` (overrides win)."""
        thresholds: dict[str, float | None] = {
            "latency_p99_ms": self.slo_latency_p99_ms,
            "ttft_p95_ms": self.slo_ttft_p95_ms,
            "error_rate": self.slo_error_rate,
        }
        thresholds.update(self.slo_overrides.get(feature_id, {}))
        return thresholds


class EndpointLimits(BaseModel):
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
    # Ask for response_format=json_object (OpenAI, vLLM, llama.cpp and Ollama support it).
    json_mode: bool = True
    redact_pii: bool = True
    # Results are committed (with the watermark) every this many judgements.
    commit_every: int = Field(default=100, ge=1)
    # Requests ingested up to this long before the watermark are looked at again, so a
    # slow ingest transaction that commits late is not skipped (already judged ones are).
    watermark_lookback_minutes: float = Field(default=15.0, ge=0)
    # EWMA chart on window means of the judged score.
    chart_lambda: float = Field(default=0.1, gt=0, le=1)
    chart_l: float = Field(default=2.814, gt=0)
    chart_window_minutes: int = Field(default=60, ge=1)
    chart_warmup_windows: int = Field(default=20, ge=2)
    chart_min_window_n: int = Field(default=5, ge=1)
    # A window is charted once it ended this long ago (late records and judging settle).
    chart_settle_minutes: float = Field(default=15.0, ge=0)
    # Floor for the baseline sigma, so a perfectly constant warm-up does not make
    # every later wobble a signal (in score units, 1..5).
    chart_min_sigma: float = Field(default=0.05, gt=0)
    # Judge failures per chart window (parse failures / all judge answers).
    failure_rate_threshold: float = Field(default=0.2, ge=0, le=1)
    failure_min_n: int = Field(default=10, ge=1)
    alert_cooldown_hours: float = Field(default=6.0, ge=0)


class DriftSettings(BaseModel):
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


class CompareSettings(BaseModel):
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


class Webhook(BaseModel):
    """One alert destination: a Slack-compatible ``{"text": ...}`` or a generic JSON hook."""

    model_config = {"extra": "forbid"}

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


class RoutingSettings(BaseModel):
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

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, value: list[Webhook]) -> list[Webhook]:
        names = [w.name for w in value]
        if len(names) != len(set(names)):
            raise ValueError("webhook names must be unique")
        return value


class Target(BaseModel):
    """A pinned model that canary and golden runs call (SPEC 3.6)."""

    base_url: str
    model: str
    # Name of the environment variable holding the API key, or of a Prefect Secret block.
    api_key_env: str | None = None
    api_key_secret_block: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


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
    # Model id -> local price; wins over genai-prices.
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    targets: dict[str, Target] = Field(default_factory=dict)
    cost: CostSettings = Field(default_factory=CostSettings)
    evals: EvalSettings = Field(default_factory=EvalSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    compare: CompareSettings = Field(default_factory=CompareSettings)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after edits.

    Loading them registers every secret they know with the redaction step.
    """
    from llmwatch.redact import register_settings

    settings = Settings()
    register_settings(settings)
    return settings
