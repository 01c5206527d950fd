"""Webhook channels: one HTTP POST per alert, the URL treated as a secret."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from llmwatch.redact import redact, register
from llmwatch.routing.deliver import DeliveryError
from llmwatch.routing.payloads import json_payload, slack_payload
from llmwatch.settings import RoutingSettings, Webhook

SEVERITY_ORDER = ("info", "warning", "critical")


def redact_url(url: str) -> str:
    """Scheme and host only: the path and query of a webhook URL usually hold its token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}/…"


@dataclass
class WebhookChannel:
    webhook: Webhook
    timeout_s: float = 10.0
    name: str = field(init=False)
    kinds: list[str] | None = field(init=False)
    severities: list[str] = field(init=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _URL_REDACTOR.urls.add(self.webhook.url.get_secret_value())
        register(self.webhook.url)
        self.name = f"webhook:{self.webhook.name}"
        self.kinds = self.webhook.kinds
        self.severities = list(SEVERITY_ORDER[SEVERITY_ORDER.index(self.webhook.min_severity) :])

    @property
    def display(self) -> str:
        return f"{self.name} ({redact_url(self.webhook.url.get_secret_value())})"

    def send(self, alert: dict[str, Any]) -> None:
        build: Callable[[dict[str, Any]], dict[str, Any]] = (
            slack_payload if self.webhook.kind == "slack" else json_payload
        )
        url = self.webhook.url.get_secret_value()
        headers = {
            "X-Llmwatch-Alert-Id": str(alert["id"]),
            "X-Llmwatch-Notification-Id": str(alert.get("notification_id", "")),
            "User-Agent": "llmwatch",
        }
        try:
            response = self._http().post(url, json=build(alert), headers=headers)
        except httpx.HTTPError as exc:
            # httpx messages can quote the URL: never let the token into logs or the table.
            raise DeliveryError(redact(_scrub(f"{type(exc).__name__}: {exc}", url))) from None
        if response.status_code >= 300:
            code = response.status_code
            # A 4xx is the receiver refusing this request as it is (sending it again
            # cannot help); 408 and 429 only say "not now".
            retryable = not 400 <= code < 500 or code in (408, 429)
            raise DeliveryError(f"HTTP {code}", retryable=retryable)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s, follow_redirects=False)
        return self._client


def webhook_channels(settings: RoutingSettings) -> list[WebhookChannel]:
    return [WebhookChannel(w, timeout_s=settings.timeout_s) for w in settings.webhooks]


def _scrub(text: str, url: str) -> str:
    parts = urlsplit(url)
    for part in (url, parts.path, parts.query):
        if part and part != "/":
            text = text.replace(part, "…")
    return text


class _RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO: rewrite webhook URLs to their host."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple(self._redact(a) for a in record.args)
        return True

    def _redact(self, arg: Any) -> Any:
        text = str(arg)
        for url in self.urls:
            if url in text:
                return text.replace(url, redact_url(url))
        return arg


_URL_REDACTOR = _RedactUrls()
logging.getLogger("httpx").addFilter(_URL_REDACTOR)
