"""The ``serve`` entry point: every deployment of the registry, served by this process.

Needs a Prefect server (``PREFECT_API_URL``): schedules do not fire against Prefect's
ephemeral API. ``llmwatch serve`` starts a local one when none is configured.
Run directly with ``python -m deployments.serve``.
"""

from __future__ import annotations

from typing import Any

from deployments.registry import DEPLOYMENTS, to_runner_deployment


def build_deployments(paused: bool = False) -> list[Any]:
    return [to_runner_deployment(spec, paused=paused) for spec in DEPLOYMENTS]


def serve(paused: bool = False, limit: int | None = None) -> None:
    """Register every deployment and run their flow runs until interrupted."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(paused), limit=limit)


if __name__ == "__main__":
    serve()
