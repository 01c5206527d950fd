"""One simulator per module, reset between tests; short latencies keep the suite fast."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import openai
import pytest

from llmwatch.simulator import Scenario, SimulatorServer

# Inside the demo scenario's clean first day, and inside its incidents.
CLEAN_TIME = datetime(2025, 6, 2, 14, tzinfo=UTC)
MINI = "gpt-4o-mini-2024-07-18"
GPT4O = "gpt-4o-2024-08-06"
HAIKU = "claude-3-5-haiku-20241022"
EMBEDDING = "text-embedding-3-small"


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return Scenario.load("demo")


@pytest.fixture(scope="module")
def server(demo: Scenario) -> Iterator[SimulatorServer]:
    with SimulatorServer(
        demo, latency_scale=0.002, judge_malformed_rate=0.0, judge_out_of_range_rate=0.0
    ) as sim:
        yield sim


@pytest.fixture
def sim(server: SimulatorServer) -> Iterator[SimulatorServer]:
    server.reset()
    server.set_clock(CLEAN_TIME)
    yield server
    server.reset()


@pytest.fixture
def http(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def oai(sim: SimulatorServer) -> Iterator[openai.OpenAI]:
    # No retries: the tests want to see each fault, not the client's recovery from it.
    with openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0, timeout=10) as c:
        yield c


def chat_body(model: str = MINI, content: str = "How do I get a refund?", **extra: object) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}
