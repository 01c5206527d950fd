from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.drift.traffic import write_traffic


@pytest.fixture(scope="session")
def drift_traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_traffic(tmp_path_factory.mktemp("drift-traffic"))
