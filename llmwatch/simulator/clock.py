"""The time the server believes it is, which decides which scenario incidents are live.

By default it is the wall clock. Tests and the demo set it: frozen at an instant (so an
assertion cannot race a boundary), or running from an instant, optionally faster.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class ScenarioClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._anchor: datetime | None = None
        self._anchor_monotonic = 0.0
        self._frozen = True
        self._speed = 1.0

    def set(self, when: datetime | None, *, frozen: bool = True, speed: float = 1.0) -> None:
        """Set the scenario time; ``None`` goes back to the wall clock."""
        with self._lock:
            self._anchor = None if when is None else _aware(when)
            self._anchor_monotonic = time.monotonic()
            self._frozen = frozen
            self._speed = speed

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            if self._anchor is None:
                raise RuntimeError("set the clock before advancing it")
            self._anchor += delta

    def now(self) -> datetime:
        with self._lock:
            if self._anchor is None:
                return datetime.now(UTC)
            if self._frozen:
                return self._anchor
            elapsed = (time.monotonic() - self._anchor_monotonic) * self._speed
            return self._anchor + timedelta(seconds=elapsed)

    @property
    def is_wall_clock(self) -> bool:
        return self._anchor is None


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
