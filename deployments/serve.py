"""The ``serve`` entry point: every deployment of the registry, served by this process.

Needs a Prefect server (``PREFECT_API_URL``): schedules do not fire against Prefect's
ephemeral API. ``llmwatch serve`` starts a local one when none is configured.
Run directly with ``python -m deployments.serve``.

Prefect's own ``serve()`` is not used: on SIGTERM it calls the runner's async ``stop``
from a signal handler without awaiting it (a "never awaited" warning, and the process
exits without a word), and it pauses every schedule on shutdown, so the next start (or
a worker elsewhere) finds them paused. Here SIGINT and SIGTERM set an event the serving
loop awaits, and the schedules stay active: stopping one server process is not a
decision to stop the schedule.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from deployments.registry import DEPLOYMENTS, to_runner_deployment


def build_deployments(paused: bool = False) -> list[Any]:
    return [to_runner_deployment(spec, paused=paused) for spec in DEPLOYMENTS]


def serve(
    paused: bool = False,
    limit: int | None = None,
    on_started: Callable[[], None] | None = None,
) -> str:
    """Register every deployment and run their flow runs until SIGINT or SIGTERM.

    Returns the name of the signal that stopped it. ``on_started`` is called once the
    deployments are registered and the runner polls for scheduled runs.
    """
    return asyncio.run(_serve(build_deployments(paused), limit, on_started))


async def _serve(
    deployments: list[Any], limit: int | None, on_started: Callable[[], None] | None
) -> str:
    runner = _quiet_runner_class()(pause_on_shutdown=False, limit=limit)
    for deployment in deployments:
        await runner.aadd_deployment(deployment)

    stopped = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()

    def request_stop(signum: int) -> None:
        received.append(signal.Signals(signum).name)
        stopped.set()

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        loop.add_signal_handler(signum, request_stop, signum)
    runner.on_sigterm = lambda: loop.call_soon_threadsafe(request_stop, signal.SIGTERM)

    serving = asyncio.create_task(runner.start())
    waiting = asyncio.create_task(stopped.wait())
    while not runner.started and not serving.done():
        await asyncio.sleep(0.05)
    if on_started is not None and not serving.done():
        on_started()
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        await runner.astop()
    waiting.cancel()
    await serving
    for signum, handler in previous.items():
        loop.remove_signal_handler(signum)
        signal.signal(signum, handler)
    return received[0] if received else "runner exit"


def _quiet_runner_class() -> type[Any]:
    from prefect.runner import Runner

    class QuietRunner(Runner):
        """A runner whose SIGTERM handler (installed by ``start``) only requests a stop."""

        on_sigterm: Callable[[], None] = staticmethod(lambda: None)

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            self.on_sigterm()

    return QuietRunner


if __name__ == "__main__":
    serve()
