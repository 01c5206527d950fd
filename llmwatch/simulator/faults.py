"""Fault injection per model: random at configured rates, or queued from a test.

Random faults are drawn from a hash of (seed, model, call number), so the n-th call to a
model fails the same way on every run with the same seed. Queued faults ("the next N
calls to model X return 429") take precedence over random ones.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum

from llmwatch.simulator.hashing import stable_uniform

ANY_MODEL = "*"


class Fault(StrEnum):
    RATE_LIMIT = "rate_limit"  # HTTP 429 with Retry-After
    SERVER_ERROR = "server_error"  # HTTP 500
    UNAVAILABLE = "unavailable"  # HTTP 503
    TIMEOUT = "timeout"  # hangs longer than any sensible client timeout
    SLOW = "slow"  # answers correctly, but late
    TRUNCATED = "truncated"  # HTTP 200 whose JSON body is cut short
    JUDGE_MALFORMED = "judge_malformed"  # a judge verdict that is not JSON
    JUDGE_OUT_OF_RANGE = "judge_out_of_range"  # a judge verdict with impossible scores

    @property
    def judge_only(self) -> bool:
        return self in (Fault.JUDGE_MALFORMED, Fault.JUDGE_OUT_OF_RANGE)


@dataclass(frozen=True)
class FaultProfile:
    """Rates (0-1) of random faults for one model, and their timings."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    timeout: float = 0.0
    slow: float = 0.0
    truncated: float = 0.0
    retry_after_s: float = 1.0
    slow_s: float = 2.0
    hang_s: float = 30.0

    def rates(self) -> list[tuple[Fault, float]]:
        return [
            (Fault.RATE_LIMIT, self.rate_limit),
            (Fault.SERVER_ERROR, self.server_error),
            (Fault.UNAVAILABLE, self.unavailable),
            (Fault.TIMEOUT, self.timeout),
            (Fault.SLOW, self.slow),
            (Fault.TRUNCATED, self.truncated),
        ]


@dataclass(frozen=True)
class FaultAction:
    fault: Fault
    retry_after_s: float = 1.0
    delay_s: float = 0.0


class FaultInjector:
    def __init__(
        self,
        seed: int = 0,
        profiles: dict[str, FaultProfile] | None = None,
        default_hang_s: float = 30.0,
    ) -> None:
        self.seed = seed
        self._initial_profiles = dict(profiles or {})
        self.profiles: dict[str, FaultProfile] = dict(self._initial_profiles)
        self.default_hang_s = default_hang_s
        self._queues: dict[str, deque[FaultAction]] = defaultdict(deque)
        self._calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def inject(
        self,
        model: str,
        fault: Fault | str,
        count: int = 1,
        *,
        retry_after: float = 1.0,
        delay_s: float | None = None,
    ) -> None:
        """Make the next ``count`` calls to ``model`` (``"*"``: any model) fail with ``fault``.

        ``delay_s`` is how long a timeout hangs or a slow answer is late.
        """
        fault = Fault(fault)
        if delay_s is None:
            delay_s = self.default_hang_s if fault is Fault.TIMEOUT else 2.0
        action = FaultAction(fault, retry_after_s=retry_after, delay_s=delay_s)
        with self._lock:
            self._queues[model].extend([action] * count)

    def set_profile(self, model: str, profile: FaultProfile) -> None:
        with self._lock:
            self.profiles[model] = profile

    def pending(self, model: str) -> int:
        with self._lock:
            return len(self._queues.get(model, ()))

    def clear(self) -> None:
        """Drop queued faults and call counts; profiles go back to the initial ones."""
        with self._lock:
            self._queues.clear()
            self._calls.clear()
            self.profiles = dict(self._initial_profiles)

    def next_fault(self, model: str, *, judge_call: bool) -> FaultAction | None:
        with self._lock:
            queued = self._pop_queued(model, judge_call)
            if queued is not None:
                return queued
            call = self._calls[model]
            self._calls[model] = call + 1
            profile = self.profiles.get(model) or self.profiles.get(ANY_MODEL)
        if profile is None:
            return None
        u = stable_uniform(self.seed, model, call, "fault")
        threshold = 0.0
        for fault, rate in profile.rates():
            threshold += rate
            if u < threshold:
                delay = {Fault.TIMEOUT: profile.hang_s, Fault.SLOW: profile.slow_s}.get(fault, 0.0)
                return FaultAction(fault, retry_after_s=profile.retry_after_s, delay_s=delay)
        return None

    def _pop_queued(self, model: str, judge_call: bool) -> FaultAction | None:
        for key in (model, ANY_MODEL):
            queue = self._queues.get(key)
            if not queue:
                continue
            # A queued judge fault waits for a judge call; transport faults hit any call.
            if queue[0].fault.judge_only and not judge_call:
                continue
            return queue.popleft()
        return None
