"""Everything the server decides per request, separate from HTTP plumbing.

Which version serves a model now (a pin from a test, else the scenario's silent change,
else the first version), how the live incidents bend its behaviour, and which fault, if
any, the call suffers.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmwatch.simulator.catalogue import DEFAULT_CATALOGUE, Catalogue, ModelVersion, SimModel
from llmwatch.simulator.clock import ScenarioClock
from llmwatch.simulator.faults import Fault, FaultAction, FaultInjector, FaultProfile
from llmwatch.simulator.hashing import stable_uniform
from llmwatch.simulator.responder import Behaviour
from llmwatch.simulator.scenario import Scenario

MIN_QUALITY = 0.05


@dataclass(frozen=True)
class CallRecord:
    """One served call, kept so tests can see what happened when."""

    at: datetime
    model: str
    version: str
    status: int
    fault: str | None
    judge: bool
    stream: bool


class SimulatorState:
    def __init__(
        self,
        scenario: Scenario,
        *,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
        seed: int = 0,
        faults: dict[str, FaultProfile] | None = None,
        judge_malformed_rate: float = 0.02,
        judge_out_of_range_rate: float = 0.01,
        latency_scale: float = 1.0,
        latency_ms: float | None = None,
        hang_s: float = 30.0,
        history_size: int = 10_000,
    ) -> None:
        self.scenario = scenario
        self.catalogue = catalogue
        self.seed = seed
        self.clock = ScenarioClock()
        self.faults = FaultInjector(seed=seed, profiles=faults, default_hang_s=hang_s)
        self.judge_malformed_rate = judge_malformed_rate
        self.judge_out_of_range_rate = judge_out_of_range_rate
        self.latency_scale = latency_scale
        self.latency_ms = latency_ms
        self._pins: dict[str, str] = {}
        self._calls: Counter[str] = Counter()
        self._history: deque[CallRecord] = deque(maxlen=history_size)
        self._lock = threading.Lock()

    # -- versions and behaviour -------------------------------------------------------

    def pin_version(self, model: str, version: str | None) -> None:
        """Force a version regardless of the scenario; ``None`` removes the pin."""
        with self._lock:
            if version is None:
                self._pins.pop(model, None)
            else:
                self.catalogue[model].version(version)
                self._pins[model] = version

    def version_of(self, model: SimModel, when: datetime | None = None) -> ModelVersion:
        when = when or self.clock.now()
        with self._lock:
            pinned = self._pins.get(model.name)
        name = pinned or self.scenario.version_at(model.name, when)
        return model.version(name) if name else model.default_version

    def behaviour(
        self, model: SimModel, feature: str | None = None, when: datetime | None = None
    ) -> Behaviour:
        when = when or self.clock.now()
        version = self.version_of(model, when)
        quality, hallucination = version.quality, version.hallucination_rate
        verbosity = latency = 1.0
        for incident in self.scenario.active(when, model=model.name, feature=feature):
            params = incident.params
            if incident.kind == "quality_regression":
                quality = max(MIN_QUALITY, quality - float(params["quality_drop"]))
                hallucination = min(0.9, hallucination + float(params["hallucination_rise"]))
            elif incident.kind in ("cost_spike", "token_spike"):
                verbosity *= float(params["factor"])
            elif incident.kind == "latency_slo_breach":
                latency *= float(params["factor"])
        return Behaviour(
            model=model.name,
            version=version,
            fingerprint=version.fingerprint(model.name),
            quality=quality,
            hallucination_rate=hallucination,
            verbosity=verbosity,
            latency_factor=latency,
        )

    # -- faults -----------------------------------------------------------------------

    def next_call(self, model: str) -> int:
        with self._lock:
            number = self._calls[model]
            self._calls[model] += 1
            return number

    def fault_for(
        self, model: str, call_number: int, *, judge_call: bool, feature: str | None = None
    ) -> FaultAction | None:
        action = self.faults.next_fault(model, judge_call=judge_call)
        if action is not None:
            return action
        for incident in self.scenario.active(
            self.clock.now(), kind="error_burst", model=model, feature=feature
        ):
            if stable_uniform(self.seed, model, call_number, "burst") < float(
                incident.params["rate"]
            ):
                fault = Fault.SERVER_ERROR if call_number % 2 else Fault.UNAVAILABLE
                return FaultAction(fault)
        return None

    def judge_flaws(self, prompt_text: str) -> tuple[bool, bool]:
        """(malformed, out of range) for a judge call, fixed per judged content."""
        u = stable_uniform(self.seed, "judge-flaw", prompt_text)
        malformed = u < self.judge_malformed_rate
        out_of_range = (
            not malformed and u < self.judge_malformed_rate + self.judge_out_of_range_rate
        )
        return malformed, out_of_range

    # -- bookkeeping ------------------------------------------------------------------

    def record(self, call: CallRecord) -> None:
        with self._lock:
            self._history.append(call)

    def history(self, model: str | None = None) -> list[CallRecord]:
        with self._lock:
            return [c for c in self._history if model is None or c.model == model]

    def reset(self) -> None:
        """Back to the wall clock, no pins, no queued faults, empty history."""
        self.clock.set(None)
        self.faults.clear()
        with self._lock:
            self._pins.clear()
            self._calls.clear()
            self._history.clear()

    def snapshot(self) -> dict[str, Any]:
        now = self.clock.now()
        versions = {}
        for model in self.catalogue.models:
            version = self.version_of(model, now)
            versions[model.name] = {
                "version": version.version,
                "system_fingerprint": version.fingerprint(model.name),
            }
        with self._lock:
            statuses = Counter(f"{c.model} {c.status}" for c in self._history)
        return {
            "scenario": self.scenario.name,
            "clock": now.isoformat(),
            "wall_clock": self.clock.is_wall_clock,
            "versions": versions,
            "active_incidents": [
                {"kind": i.kind, "feature": i.feature, "model": i.model}
                for i in self.scenario.active(now)
            ],
            "calls": dict(statuses),
        }
