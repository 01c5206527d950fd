from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from llmwatch.settings import Settings, get_settings


def test_defaults_need_no_file(tmp_path: Path) -> None:
    settings = Settings()
    assert (
        settings.resolved_warehouse_url() == f"sqlite:///{tmp_path / '.llmwatch' / 'warehouse.db'}"
    )
    assert settings.reports_dir == Path("reports")
    assert settings.judge_api_key is None


def test_env_overrides_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "llmwatch.toml").write_text(
        'warehouse_url = "sqlite:///from-file.db"\n'
        'reports_dir = "file-reports"\n'
        "[ingest]\nbatch_size = 7\nmax_text_chars = 99\n"
        '[prices."my-model"]\ninput_mtok = 1.5\noutput_mtok = 3\n'
        '[targets.prod]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\napi_key_env = "K"\n'
    )
    monkeypatch.setenv("LLMWATCH_REPORTS_DIR", "env-reports")
    monkeypatch.setenv("LLMWATCH_INGEST__BATCH_SIZE", "11")
    monkeypatch.setenv("LLMWATCH_JUDGE_API_KEY", "sk-secret")
    settings = get_settings()
    assert settings.warehouse_url == "sqlite:///from-file.db"
    assert settings.reports_dir == Path("env-reports")
    assert settings.ingest.batch_size == 11
    assert settings.ingest.max_text_chars == 99
    assert settings.prices["my-model"].input_mtok == 1.5
    assert settings.targets["prod"].api_key_env == "K"
    assert settings.judge_api_key is not None
    assert "sk-secret" not in repr(settings)


def test_config_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('reports_dir = "x"\n')
    monkeypatch.setenv("LLMWATCH_CONFIG", str(config))
    assert Settings().reports_dir == Path("x")
    monkeypatch.setenv("LLMWATCH_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        Settings()


def test_unknown_keys_and_bad_values_are_errors(tmp_path: Path) -> None:
    (tmp_path / "llmwatch.toml").write_text("warehouse_ulr = 'typo'\n")
    with pytest.raises(ValidationError, match="warehouse_ulr"):
        Settings()
    (tmp_path / "llmwatch.toml").write_text("[ingest]\nbatch_size = 0\n")
    with pytest.raises(ValidationError, match="batch_size"):
        Settings()
