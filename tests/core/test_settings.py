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


TOKEN = "T0KEN-4f9a-never-print-me"
# A valid file with one secret-bearing value in it; each case adds one mistake.
VALID = (
    f'[[routing.webhooks]]\nname = "ops"\nurl = "https://hooks.example/services/{TOKEN}"\n'
    '[targets.prod]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\napi_key_env = "K"\n'
)


@pytest.mark.parametrize(
    ("mistake", "named"),
    [
        ("[judge]\nsample_rate = 0.1\n", "[judge] sample_rate: unknown key"),
        ("[ingest]\nbatch_sise = 10\n", "[ingest] batch_sise: unknown key"),
        ("[cost]\nlookback_hour = 3\n", "[cost] lookback_hour: unknown key"),
        ("[evals]\ngolden_set = 'x'\n", "[evals] golden_set: unknown key"),
        ("[drift]\nreference_day = 3\n", "[drift] reference_day: unknown key"),
        ("[compare]\nmin_request = 3\n", "[compare] min_request: unknown key"),
        (
            '[prices."m"]\ninput_mtok = 1\noutput_mtok = 1\ncached_mtok = 1\n',
            "[prices.m] cached_mtok",
        ),
        (f'[targets.x]\nbase_url = "u"\nmodel = "m"\napi_key = "{TOKEN}"\n', "[targets.x] api_key"),
        ("[routing]\nwebhook = []\n", "[routing] webhook: unknown key"),
        ("judge_modle = 'm'\n", "judge_modle: unknown key"),
        ("[ingest]\nbatch_size = 0\n", "[ingest] batch_size: Input should be greater than 0"),
    ],
)
def test_a_mistake_in_any_section_names_key_and_file_but_no_value(
    tmp_path: Path, mistake: str, named: str
) -> None:
    from llmwatch.settings import ConfigError, load_settings

    (tmp_path / "llmwatch.toml").write_text(VALID + mistake)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid configuration in llmwatch.toml: ")
    assert named in message
    assert "\n" not in message
    assert TOKEN not in message
    assert "input_value" not in message


def test_a_bad_secret_value_is_named_but_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmwatch.settings import ConfigError, load_settings

    (tmp_path / "llmwatch.toml").write_text(
        f'[[routing.webhooks]]\nname = "ops"\nurl = "ftp://hooks.example/{TOKEN}"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "[routing.webhooks #1] url: webhook url must start with http" in str(caught.value)
    assert TOKEN not in str(caught.value)

    # A mistake from the environment names the variable, not the file.
    (tmp_path / "llmwatch.toml").write_text(VALID)
    monkeypatch.setenv("LLMWATCH_JUDGE__SAMPLE_RATE", TOKEN)
    with pytest.raises(ConfigError, match="LLMWATCH_JUDGE__SAMPLE_RATE: unknown key") as env:
        load_settings()
    assert TOKEN not in str(env.value)
    monkeypatch.delenv("LLMWATCH_JUDGE__SAMPLE_RATE")

    (tmp_path / "llmwatch.toml").write_text(f'[judge\nkey = "{TOKEN}"\n')
    with pytest.raises(ConfigError, match=r"llmwatch\.toml: not valid TOML") as syntax:
        load_settings()
    assert TOKEN not in str(syntax.value)
