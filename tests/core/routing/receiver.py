"""A real webhook receiver on 127.0.0.1 that fails on cue (HTTP errors, slow answers)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    # One entry per incoming request, in order: an HTTP status, or "slow" (answer 504
    # after the client has timed out); once used up, every request gets 200.
    script: list[int | str] = field(default_factory=list)
    slow_s: float = 1.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    # Bodies the receiver accepted (answered 2xx in time).
    accepted: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    # Alert id -> the status answered to that alert every time (a payload it refuses).
    refuse: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(
    path: str = "/hook", script: list[int | str] | None = None, slow_s: float = 1.0
) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = state["r"]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with receiver.lock:
                receiver.attempts.append(body)
                step = receiver.script.pop(0) if receiver.script else 200
                step = receiver.refuse.get(self.headers["X-Llmwatch-Alert-Id"], step)
            if step == "slow":
                time.sleep(receiver.slow_s)
                step = 504
            assert isinstance(step, int)
            if 200 <= step < 300:
                with receiver.lock:
                    receiver.accepted.append(body)
                    receiver.headers.append(dict(self.headers))
            self.send_response(step)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state["r"] = Receiver(f"http://{host}:{port}{path}", list(script or []), slow_s)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
