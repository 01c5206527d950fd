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
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator
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
    # Model id -> local price; wins over genai-prices.
    prices: dict[str, PriceOverride] = Field(default_factory=dict)
    targets: dict[str, Target] = Field(default_factory=dict)

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
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after edits."""
    return Settings()
