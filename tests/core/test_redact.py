"""The one redaction step (issue 16.5): what it masks, and the paths it guards."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from llmwatch.llm import ChatClient, Endpoint, Limits
from llmwatch.llm.errors import LLMError
from llmwatch.redact import MASK, install, redact, register, register_settings
from llmwatch.settings import Settings, Webhook
from tests.core.llm.fault_server import Action, FaultServer
from tests.core.llm.test_client import MESSAGES, RecordingSleep, run

KEY = "gateway-key-echoed-0123456789"  # not sk-shaped: only registration can catch it


def test_registered_secrets_bearer_tokens_and_url_passwords_are_masked() -> None:
    register_settings(
        Settings(
            judge_api_key=SecretStr("judge-secret-abcdef"),
            warehouse_url="postgresql+psycopg://llm:db%2Fpass-123@db/llm",
            routing={
                "webhooks": [Webhook(name="s", url="https://hooks.example/T1/B2/tok3abcdefghijk")]
            },
        )
    )
    text = redact(
        "judge-secret-abcdef | db/pass-123 | https://hooks.example/T1/B2/tok3abcdefghijk | "
        "tok3abcdefghijk | Authorization: Bearer abc.def-ghi | sk-abcdefghijklmnop | "
        "redis://user:hunter2@cache"
    )
    for secret in ("judge-secret", "db/pass-123", "tok3abcdefghijk", "abc.def-ghi",
                   "sk-abcdefghijklmnop", "hunter2"):  # fmt: skip
        assert secret not in text
    assert text.count(MASK) >= 7


@pytest.mark.parametrize("status", [401, 400, 500])
def test_an_endpoint_echoing_its_key_leaks_it_nowhere(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    install()
    caplog.set_level(logging.DEBUG)
    server = FaultServer(Action(status, body=f'{{"echo": "Authorization: {KEY}"}}'.encode()))
    server.start()
    client = ChatClient(
        Endpoint(server.base_url, "m", SecretStr(KEY)),
        Limits(max_retries=1, breaker_threshold=10),
        sleep=RecordingSleep(),
    )

    async def call() -> None:
        async with client:
            await client.chat(MESSAGES)

    try:
        with pytest.raises(LLMError) as caught:
            run(call())
    finally:
        server.stop()
    logging.getLogger("llmwatch.test").exception("judge call failed: %s", caught.value)
    assert str(status) in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value.__dict__)
    assert KEY not in caplog.text
    assert MASK in caplog.text


def test_log_records_and_their_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install()
    register("planted-log-secret-xyz")
    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError("boom planted-log-secret-xyz")
    except RuntimeError:
        logging.getLogger("llmwatch.test").exception("failed with %s", "planted-log-secret-xyz")
    assert "planted-log-secret-xyz" not in caplog.text
    assert caplog.text.count(MASK) >= 2
