"""Flow tests run real Prefect flows against one test-harness server per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def read_artifacts(key: str) -> list[dict[str, Any]]:
    """Artifacts with this key, newest first, read over the harness's REST API.

    (PrefectClient.read_artifacts sends nulls that this server version rejects.)
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 50},
        )
    return response.json()
