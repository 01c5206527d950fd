"""One redaction step for every text that is logged, stored, raised or printed.

The secrets are the ones the process knows: every API key, webhook URL (and the token
in its path or query) and database password in the settings, and each key a chat
client is built with. ``redact`` replaces them, plus anything shaped like a bearer
token or a URL password, with ``[redacted]``.

``install()`` puts the step in front of every log record (message, arguments and
traceback are rendered and redacted when the record is made, so every handler — the
console, Prefect's API log handler — sees the redacted text) and in front of the
interpreter's traceback printer. It runs when the settings are loaded.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

MASK = "[redacted]"
# Shorter values would mask ordinary words; real keys and tokens are longer.
_MIN_SECRET = 6
_PATTERNS = (
    # "Authorization: Bearer xyz", "Bearer xyz" echoed by gateways.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # OpenAI/Anthropic-style keys even when nobody registered them.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), MASK),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]+@"), r"\1:" + MASK + "@"),
)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_installed = False


def register(*values: str | SecretStr | None) -> None:
    """Add secrets to mask; URLs also mask their password, path and query parts."""
    global _secrets
    found: set[str] = set()
    for value in values:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            continue
        found.add(value)
        if "://" in value:
            found.update(_url_parts(value))
    found = {s for s in found if len(s) >= _MIN_SECRET}
    if not found - _secrets:
        return
    with _lock:
        _secrets = _secrets | found


def _url_parts(url: str) -> Iterable[str]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    out = [parts.path, parts.query, *(p for p in parts.path.split("/") if len(p) >= 12)]
    if password:
        out += [password, unquote(password)]
    return [p for p in out if p and p != "/"]


def register_password(url: str | None) -> None:
    """Only the password of a URL whose host and path are not secret (a database)."""
    if url and "://" in url:
        try:
            password = urlsplit(url).password
        except ValueError:
            return
        if password:
            register(password, unquote(password))


def register_settings(settings: Any) -> None:
    """Every secret the settings know, then ``install()``."""
    register(settings.judge_api_key, settings.ingest.inbox_key, settings.ingest.inbox_secret)
    register_password(settings.warehouse_url)
    for webhook in settings.routing.webhooks:
        register(webhook.url)
    env_names = [t.api_key_env for t in settings.targets.values()]
    env_names.append(settings.drift.embedding_api_key_env)
    register(*(os.environ.get(name) for name in env_names if name))
    install()


def redact(text: str) -> str:
    """``text`` with every known secret, bearer token and URL password masked."""
    if not text:
        return text
    # Longest first, so a URL is masked whole before its parts are.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_json(value: Any) -> Any:
    """A JSON-like value with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_json(k): redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    return value


def install() -> None:
    """Redact every log record when it is made, and uncaught tracebacks (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_record)
    print_exception = sys.excepthook

    def redacting_hook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if kind is KeyboardInterrupt:
            print_exception(kind, error, tb)
            return
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))

    sys.excepthook = redacting_hook


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: the handler reports it
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        # Formatters print exc_text when it is set instead of formatting exc_info.
        record.exc_text = redact(text).rstrip("\n")
