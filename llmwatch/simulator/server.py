"""The simulator as a real HTTP server on 127.0.0.1, in a background thread.

with SimulatorServer(scenario="demo", port=0, latency_scale=0.01) as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sim")
    sim.set_clock(datetime(2025, 6, 5, 12, tzinfo=UTC))
    sim.inject("gpt-4o-mini-2024-07-18", "rate_limit", count=2, retry_after=1)
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from llmwatch.simulator.catalogue import DEFAULT_CATALOGUE, Catalogue, ModelVersion
from llmwatch.simulator.faults import Fault, FaultProfile
from llmwatch.simulator.handler import SimulatorHTTPServer
from llmwatch.simulator.scenario import Scenario
from llmwatch.simulator.state import CallRecord, SimulatorState


class SimulatorServer:
    """An OpenAI-compatible provider (and judge) with scenario-driven behaviour and faults.

    ``latency_scale`` multiplies every simulated latency (tests use ~0.01);
    ``latency_ms`` instead makes every call take exactly that long (benchmarks).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
        faults: dict[str, FaultProfile] | None = None,
        latency_scale: float = 1.0,
        latency_ms: float | None = None,
        judge_malformed_rate: float = 0.02,
        judge_out_of_range_rate: float = 0.01,
        hang_s: float = 30.0,
    ) -> None:
        if scenario is None:
            resolved = Scenario.empty()
        elif isinstance(scenario, Scenario):
            resolved = scenario
        else:
            resolved = Scenario.load(scenario)
        self.state = SimulatorState(
            resolved,
            catalogue=catalogue,
            seed=seed,
            faults=faults,
            judge_malformed_rate=judge_malformed_rate,
            judge_out_of_range_rate=judge_out_of_range_rate,
            latency_scale=latency_scale,
            latency_ms=latency_ms,
            hang_s=hang_s,
        )
        self.host = host
        self._requested_port = port
        self._httpd: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._httpd is not None:
            return self
        self._httpd = SimulatorHTTPServer((self.host, self._requested_port), self.state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"llmwatch-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's foreground mode)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8765``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``), as given to ``openai.OpenAI(base_url=)``."""
        return self.url + "/v1"

    # -- controls ---------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self.state.scenario

    def set_clock(self, when: datetime | None, *, frozen: bool = True, speed: float = 1.0) -> None:
        """Set scenario time (frozen, or running at ``speed``); ``None``: wall clock."""
        self.state.clock.set(when, frozen=frozen, speed=speed)

    def advance_clock(self, delta: timedelta) -> None:
        self.state.clock.advance(delta)

    def now(self) -> datetime:
        return self.state.clock.now()

    def inject(
        self,
        model: str,
        fault: Fault | str,
        count: int = 1,
        *,
        retry_after: float = 1.0,
        delay_s: float | None = None,
    ) -> None:
        """The next ``count`` calls to ``model`` (``"*"`` for any) get ``fault``."""
        self.state.faults.inject(model, fault, count, retry_after=retry_after, delay_s=delay_s)

    def set_fault_profile(self, model: str, profile: FaultProfile) -> None:
        self.state.faults.set_profile(model, profile)

    def pin_version(self, model: str, version: str | None) -> None:
        self.state.pin_version(model, version)

    def current_version(self, model: str) -> ModelVersion:
        return self.state.version_of(self.state.catalogue[model])

    def fingerprint(self, model: str) -> str:
        return self.current_version(model).fingerprint(model)

    def history(self, model: str | None = None) -> list[CallRecord]:
        return self.state.history(model)

    def reset(self) -> None:
        self.state.reset()
