"""A circuit breaker: after N consecutive failed calls the endpoint is treated as down.

Once open it stays open for the rest of the run: a scheduled job that finds its
endpoint down should stop and say so, and the next scheduled run tries again.
"""

from __future__ import annotations

from llmwatch.llm.errors import CircuitOpenError


class CircuitBreaker:
    def __init__(self, threshold: int) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.consecutive_failures = 0
        self.last_error = ""
        self.open = False

    def check(self) -> None:
        if self.open:
            raise CircuitOpenError(
                f"judge endpoint looks down: {self.consecutive_failures} consecutive failed "
                f"calls (last: {self.last_error})"
            )

    def record_success(self) -> None:
        self.consecutive_failures = 0

    def record_failure(self, error: str) -> None:
        self.consecutive_failures += 1
        self.last_error = error
        if self.consecutive_failures >= self.threshold:
            self.open = True
