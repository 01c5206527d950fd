"""Drive a simulator running in another process (``llmwatch simulate serve``) over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx


class SimulatorControl:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        # Accept the OpenAI-style base URL too; the control routes live at the root.
        root = url.rstrip("/")
        self.url = root[: -len("/v1")] if root.endswith("/v1") else root
        self._client = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SimulatorControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._client.post(path, json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def state(self) -> dict[str, Any]:
        response = self._client.get("/_sim/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_clock(self, when: datetime | None, *, frozen: bool = True, speed: float = 1.0) -> None:
        self._post(
            "/_sim/clock",
            {"time": None if when is None else when.isoformat(), "frozen": frozen, "speed": speed},
        )

    def advance_clock(self, delta: timedelta) -> None:
        self._post("/_sim/clock", {"advance_s": delta.total_seconds()})

    def inject(
        self,
        model: str,
        fault: str,
        count: int = 1,
        *,
        retry_after: float = 1.0,
        delay_s: float | None = None,
    ) -> None:
        self._post(
            "/_sim/inject",
            {
                "model": model,
                "fault": fault,
                "count": count,
                "retry_after": retry_after,
                "delay_s": delay_s,
            },
        )

    def pin_version(self, model: str, version: str | None) -> None:
        self._post("/_sim/version", {"model": model, "version": version})

    def reset(self) -> None:
        self._post("/_sim/reset", {})
