"""The simulator speaks the OpenAI protocol: checked with httpx and the official client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import numpy as np
import openai
import pytest

from llmwatch.simulator import SimulatorServer
from tests.core.simulator.conftest import EMBEDDING, GPT4O, MINI, chat_body


def test_chat_completion_over_httpx_has_usage_fingerprint_and_finish_reason(http: httpx.Client):
    response = http.post("/chat/completions", json=chat_body(temperature=0))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == MINI
    assert body["system_fingerprint"].startswith("fp_")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert "refund" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_official_client_parses_a_completion(oai: openai.OpenAI):
    completion = oai.chat.completions.create(
        model=GPT4O,
        messages=[
            {"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": "My password reset email never arrives."},
        ],
        temperature=0,
    )
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0
    assert completion.system_fingerprint


def test_temperature_zero_is_deterministic_and_default_temperature_varies(oai: openai.OpenAI):
    def ask(**kwargs: object) -> str:
        completion = oai.chat.completions.create(
            model=MINI, messages=[{"role": "user", "content": "Tell me about billing"}], **kwargs
        )
        return completion.choices[0].message.content or ""

    assert ask(temperature=0) == ask(temperature=0)
    assert len({ask() for _ in range(5)}) > 1


def test_routes_without_v1_prefix_are_served_too(sim: SimulatorServer):
    response = httpx.post(sim.url + "/chat/completions", json=chat_body(), timeout=10)
    assert response.status_code == 200


def test_max_tokens_truncates_with_finish_reason_length(oai: openai.OpenAI):
    completion = oai.chat.completions.create(
        model=MINI,
        messages=[{"role": "user", "content": "Explain the subscription upgrade in detail"}],
        max_tokens=5,
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens <= 5


def test_streaming_with_official_client_reports_usage_and_real_ttft(sim: SimulatorServer):
    sim.state.latency_scale = 0.4  # ~130 ms to the first token for gpt-4o-mini
    try:
        with openai.OpenAI(base_url=sim.base_url, api_key="sim", max_retries=0) as client:
            started = time.perf_counter()
            stream = client.chat.completions.create(
                model=MINI,
                messages=[{"role": "user", "content": "How do I export my data?"}],
                stream=True,
                stream_options={"include_usage": True},
                temperature=0,
            )
            arrivals, pieces, usage, finish = [], [], None, None
            for chunk in stream:
                arrivals.append(time.perf_counter() - started)
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    pieces.append(choice.delta.content or "")
                    finish = choice.finish_reason or finish
            full = client.chat.completions.create(
                model=MINI,
                messages=[{"role": "user", "content": "How do I export my data?"}],
                temperature=0,
            )
    finally:
        sim.state.latency_scale = 0.002
    assert "".join(pieces) == full.choices[0].message.content
    assert finish == "stop"
    assert usage is not None
    assert usage.completion_tokens == full.usage.completion_tokens
    # First token after the simulated TTFT, and the stream keeps going well after it.
    assert arrivals[0] > 0.03
    assert arrivals[-1] - arrivals[0] > 0.05


def test_streaming_over_httpx_is_server_sent_events_ending_in_done(http: httpx.Client):
    with http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in events[-1]  # only with stream_options.include_usage


def test_embeddings_as_floats_and_through_the_official_client_as_base64(
    http: httpx.Client, oai: openai.OpenAI
):
    texts = ["refund for my order", "refund for my last order", "OAuth scopes in the SDK"]
    raw = http.post("/embeddings", json={"model": EMBEDDING, "input": texts}).json()
    vectors = np.array([d["embedding"] for d in raw["data"]])
    assert vectors.shape == (3, 1536)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # shared words, closer vectors
    assert raw["usage"]["prompt_tokens"] > 0

    # The official client asks for base64 and decodes it: the same vectors must come back.
    parsed = oai.embeddings.create(model=EMBEDDING, input=texts)
    assert np.allclose(np.array([d.embedding for d in parsed.data]), vectors, atol=1e-6)
    small = oai.embeddings.create(model=EMBEDDING, input="hello", dimensions=64)
    assert len(small.data[0].embedding) == 64


def test_models_list_and_errors_in_openai_format(http: httpx.Client, oai: openai.OpenAI):
    assert MINI in {m.id for m in oai.models.list()}
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "x"}]
        )
    bad = http.post(
        "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    empty = http.post("/chat/completions", json={"model": MINI, "messages": []})
    assert empty.status_code == 400
    wrong_kind = http.post("/embeddings", json={"model": MINI, "input": "x"})
    assert wrong_kind.status_code == 400


async def _raw_load(port: int, connections: int, per_connection: int) -> list[bytes]:
    """A minimal keep-alive HTTP client: it costs almost no CPU, so it measures the server."""
    body = json.dumps(chat_body(GPT4O)).encode()
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    statuses: list[bytes] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(per_connection):
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            statuses.append(head[9:12])
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def test_sixty_four_concurrent_calls_with_50ms_latency_overlap():
    with SimulatorServer(latency_ms=50) as sim:
        started = time.perf_counter()
        statuses = asyncio.run(_raw_load(sim.port, connections=64, per_connection=4))
        elapsed = time.perf_counter() - started
    assert statuses == [b"200"] * 256
    # Serially this is 12.8 s; with the calls overlapping it is ~0.2 s plus overhead.
    assert elapsed < 3.0
