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
    """Artifacts with this key, newest first, through Prefect's own client (which sends
    null limit/offset: the fastapi 0.154 once locked answered that with a 422, so this also
    checks the locked set)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    return [artifact.model_dump(mode="json") for artifact in artifacts]
