"""HTTP plumbing of the simulator: the OpenAI-compatible routes and the control routes.

``/v1/chat/completions`` (plain and SSE streaming), ``/v1/embeddings`` and ``/v1/models``
speak the OpenAI wire format, including its error bodies and ``Retry-After``. The same
routes without the ``/v1`` prefix are accepted, for clients configured either way.
``/_sim/*`` lets another process drive the clock, faults and versions (see control.py).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmwatch.simulator.embeddings import embed, encode_base64
from llmwatch.simulator.faults import Fault, FaultAction
from llmwatch.simulator.responder import (
    ChatRequest,
    Reply,
    complete,
    estimate_tokens,
)
from llmwatch.simulator.scenario import as_utc
from llmwatch.simulator.state import CallRecord, SimulatorState

FEATURE_HEADER = "X-LLMWatch-Feature"
# Per-request scenario time, for replaying traffic from the past against the simulator.
SIM_TIME_HEADER = "X-LLMWatch-Sim-Time"
VERSION_HEADER = "X-LLMWatch-Model-Version"

_ERRORS: dict[Fault, tuple[int, str, str, str]] = {
    Fault.RATE_LIMIT: (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    Fault.SERVER_ERROR: (
        500,
        "server_error",
        "internal_error",
        "The server had an error while processing your request.",
    ),
    Fault.UNAVAILABLE: (
        503,
        "server_error",
        "service_unavailable",
        "The engine is currently overloaded, please try again later.",
    ),
    Fault.TIMEOUT: (504, "server_error", "timeout", "The request timed out."),
}
_STREAM_PIECES = 12


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Benchmarks open many connections at once; the default backlog of 5 drops them.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        self.state = state
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SimulatorHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmwatch-simulator/1"
    disable_nagle_algorithm = True
    # Idle keep-alive connections are dropped after this long.
    timeout = 300
    server: SimulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        # Per-request lines would drown test and demo output; the state keeps a history.
        return

    # -- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/health", "/v1/health"):
            self._send_json(200, {"status": "ok"})
        elif path in ("/v1/models", "/models"):
            self._send_json(200, self._models())
        elif path == "/_sim/state":
            self._send_json(200, self.server.state.snapshot())
        else:
            self._send_error(404, "invalid_request_error", "not_found", f"No route {path}")

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_json()
        if body is None:
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/chat/completions": self._chat,
            "/v1/embeddings": self._embeddings,
            "/embeddings": self._embeddings,
            "/_sim/clock": self._control_clock,
            "/_sim/inject": self._control_inject,
            "/_sim/version": self._control_version,
            "/_sim/reset": self._control_reset,
        }
        route = routes.get(path)
        if route is None:
            self._send_error(404, "invalid_request_error", "not_found", f"No route {path}")
            return
        try:
            route(body)
        except (ValueError, KeyError, TypeError) as exc:
            self._send_error(400, "invalid_request_error", "invalid_value", str(exc))

    # -- OpenAI routes ----------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        state = self.server.state
        request = ChatRequest.from_body(body)
        model = state.catalogue.get(request.model)
        if model is None or model.kind != "chat":
            self._model_not_found(request.model)
            return
        when = self._scenario_time()
        feature = self.headers.get(FEATURE_HEADER)
        behaviour = state.behaviour(model, feature, when)
        call_number = state.next_call(model.name)
        judge = request.is_judge_call
        action = state.fault_for(model.name, call_number, judge_call=judge, feature=feature)
        failing = action is not None and action.fault in _ERRORS
        # Recorded before the reply is sent: a client that has its answer must find the
        # call in the history (recording after the send raced the client's next look).
        state.record(
            CallRecord(
                at=when,
                model=model.name,
                version=behaviour.version.version,
                status=_ERRORS[action.fault][0] if action is not None and failing else 200,
                fault=None if action is None else action.fault.value,
                judge=judge,
                stream=request.stream,
            )
        )
        if action is not None and failing:
            self._fail(action)
        else:
            malformed, out_of_range = (False, False)
            if judge:
                malformed, out_of_range = state.judge_flaws("\n".join(request.texts()))
            if action is not None and action.fault is Fault.JUDGE_MALFORMED:
                malformed, out_of_range = True, False
            if action is not None and action.fault is Fault.JUDGE_OUT_OF_RANGE:
                malformed, out_of_range = False, True
            if action is not None and action.fault is Fault.SLOW:
                self._wait(action.delay_s)
            reply = complete(
                request,
                behaviour,
                call_number,
                judge_malformed=malformed,
                judge_out_of_range=out_of_range,
                latency_scale=state.latency_scale,
                fixed_latency_s=None if state.latency_ms is None else state.latency_ms / 1000,
            )
            truncated = action is not None and action.fault is Fault.TRUNCATED
            meta = _Meta(request.model, behaviour.fingerprint, behaviour.version.version, when)
            if request.stream:
                self._stream_chat(request, reply, meta, truncated=truncated)
            else:
                self._send_chat(reply, meta, truncated=truncated)

    def _send_chat(self, reply: Reply, meta: _Meta, *, truncated: bool) -> None:
        time.sleep(reply.total_s)
        payload = {
            "id": meta.completion_id,
            "object": "chat.completion",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": meta.fingerprint,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": _usage(reply),
        }
        data = json.dumps(payload).encode()
        if truncated:
            # A complete HTTP response whose JSON stops mid-object, as broken proxies send.
            data = data[: len(data) // 2]
        self._send_bytes(200, data, "application/json", {VERSION_HEADER: meta.version})

    def _stream_chat(
        self, request: ChatRequest, reply: Reply, meta: _Meta, *, truncated: bool
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header(VERSION_HEADER, meta.version)
        self.end_headers()
        pieces = _split_content(reply.content, _STREAM_PIECES)
        gap = max(0.0, reply.total_s - reply.ttft_s) / max(1, len(pieces))
        time.sleep(reply.ttft_s)
        usage_field = {"usage": None} if request.include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {
                "id": meta.completion_id,
                "object": "chat.completion.chunk",
                "created": meta.created,
                "model": meta.model,
                "system_fingerprint": meta.fingerprint,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
                **usage_field,
            }

        try:
            self._write_event(chunk({"role": "assistant", "content": "", "refusal": None}, None))
            for i, piece in enumerate(pieces):
                if i:
                    time.sleep(gap)
                self._write_event(chunk({"content": piece}, None))
                if truncated and i >= len(pieces) // 2:
                    # Connection dropped mid-stream: no final chunk, no [DONE].
                    self.close_connection = True
                    return
            time.sleep(gap)
            self._write_event(chunk({}, reply.finish_reason))
            if request.include_usage:
                final = chunk({}, None)
                final["choices"] = []
                final["usage"] = _usage(reply)
                self._write_event(final)
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _embeddings(self, body: dict[str, Any]) -> None:
        state = self.server.state
        name = str(body.get("model", ""))
        model = state.catalogue.get(name)
        if model is None:
            self._model_not_found(name)
            return
        if model.kind != "embedding":
            raise ValueError(f"model {name} does not support embeddings")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise ValueError("'input' must be a string or a non-empty array")
        if all(isinstance(x, int) for x in inputs):
            inputs = [" ".join(map(str, inputs))]
        texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in inputs]
        call_number = state.next_call(name)
        when = self._scenario_time()
        version = state.version_of(model, when)
        action = state.fault_for(name, call_number, judge_call=False)
        failing = action is not None and action.fault in _ERRORS
        state.record(  # before the reply, as in _chat
            CallRecord(
                at=when,
                model=name,
                version=version.version,
                status=_ERRORS[action.fault][0] if action is not None and failing else 200,
                fault=None if action is None else action.fault.value,
                judge=False,
                stream=False,
            )
        )
        if action is not None and failing:
            self._fail(action)
        else:
            if action is not None and action.fault is Fault.SLOW:
                self._wait(action.delay_s)
            dimensions = int(body.get("dimensions") or model.embedding_dimensions)
            base64_wanted = body.get("encoding_format") == "base64"
            data = []
            for i, text in enumerate(texts):
                vector = embed(text, dimensions)
                encoded: Any = encode_base64(vector) if base64_wanted else vector.tolist()
                data.append({"object": "embedding", "index": i, "embedding": encoded})
            tokens = sum(estimate_tokens(t) for t in texts)
            if state.latency_ms is not None:
                time.sleep(state.latency_ms / 1000)
            else:
                time.sleep(version.ttft_ms * state.latency_scale / 1000)
            payload = {
                "object": "list",
                "data": data,
                "model": name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
            raw = json.dumps(payload).encode()
            if action is not None and action.fault is Fault.TRUNCATED:
                raw = raw[: len(raw) // 2]
            self._send_bytes(200, raw, "application/json", {})

    def _models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": m.name, "object": "model", "created": 1_700_000_000, "owned_by": m.provider}
                for m in self.server.state.catalogue.models
            ],
        }

    # -- control routes ---------------------------------------------------------------

    def _control_clock(self, body: dict[str, Any]) -> None:
        clock = self.server.state.clock
        if "advance_s" in body:
            clock.advance(timedelta(seconds=float(body["advance_s"])))
        else:
            when = body.get("time")
            clock.set(
                None if when is None else as_utc(str(when)),
                frozen=bool(body.get("frozen", True)),
                speed=float(body.get("speed", 1.0)),
            )
        self._send_json(200, {"clock": clock.now().isoformat()})

    def _control_inject(self, body: dict[str, Any]) -> None:
        self.server.state.faults.inject(
            str(body["model"]),
            str(body["fault"]),
            int(body.get("count", 1)),
            retry_after=float(body.get("retry_after", 1.0)),
            delay_s=None if body.get("delay_s") is None else float(body["delay_s"]),
        )
        self._send_json(200, {"ok": True})

    def _control_version(self, body: dict[str, Any]) -> None:
        version = body.get("version")
        self.server.state.pin_version(str(body["model"]), None if version is None else str(version))
        self._send_json(200, {"ok": True})

    def _control_reset(self, body: dict[str, Any]) -> None:
        self.server.state.reset()
        self._send_json(200, {"ok": True})

    # -- helpers ----------------------------------------------------------------------

    def _scenario_time(self) -> datetime:
        header = self.headers.get(SIM_TIME_HEADER)
        return as_utc(header) if header else self.server.state.clock.now()

    def _fail(self, action: FaultAction) -> int:
        status, kind, code, message = _ERRORS[action.fault]
        headers: dict[str, str] = {}
        if action.fault is Fault.TIMEOUT:
            self._wait(action.delay_s)
            if self.server.stopping.is_set():
                self.close_connection = True
                return status
        if action.fault is Fault.RATE_LIMIT:
            seconds = action.retry_after_s
            headers["Retry-After"] = str(math.ceil(seconds)) if seconds >= 1 else f"{seconds:g}"
            headers["retry-after-ms"] = str(round(seconds * 1000))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        try:
            self._send_bytes(status, json.dumps(body).encode(), "application/json", headers)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting, which is the point of a timeout fault.
            self.close_connection = True
        return status

    def _wait(self, seconds: float) -> None:
        # An event wait, not a sleep, so that stopping the server releases hanging calls.
        self.server.stopping.wait(seconds)

    def _model_not_found(self, name: str) -> None:
        self._send_error(
            404,
            "invalid_request_error",
            "model_not_found",
            f"The model `{name}` does not exist or you do not have access to it.",
        )

    def _read_json(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_error(400, "invalid_request_error", "invalid_json", "Body is not JSON.")
            return None
        if not isinstance(body, dict):
            self._send_error(
                400, "invalid_request_error", "invalid_json", "Body must be an object."
            )
            return None
        return body

    def _send_error(self, status: int, kind: str, code: str, message: str) -> None:
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._send_bytes(status, json.dumps(body).encode(), "application/json", {})

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", {})

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", uuid.uuid4().hex)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _write_event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))


class _Meta:
    __slots__ = ("completion_id", "created", "fingerprint", "model", "version")

    def __init__(self, model: str, fingerprint: str, version: str, when: datetime) -> None:
        self.completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(when.timestamp())
        self.model = model
        self.fingerprint = fingerprint
        self.version = version


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _split_content(content: str, pieces: int) -> list[str]:
    """Split into at most ``pieces`` parts on word boundaries, losing no characters."""
    if not content:
        return [""]
    words = content.split(" ")
    size = max(1, math.ceil(len(words) / pieces))
    parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [part if i == len(parts) - 1 else part + " " for i, part in enumerate(parts)]
