"""A tiny OpenAI-compatible server on 127.0.0.1 that fails on command, for client tests.

Each request consumes the next scripted action (then ``ok`` forever): a status with
headers, a delay before answering, a malformed body, or a normal completion.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Action:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay_s: float = 0.0
    content: str = "hello"


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": "fault-model-v1",
            "system_fingerprint": "fp_fault",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
    ).encode()


class FaultServer:
    def __init__(self, default: Action | None = None) -> None:
        self.script: deque[Action] = deque()
        self.default = default or Action()
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._lock:
                    action = server.script.popleft() if server.script else server.default
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if action.delay_s:
                        time.sleep(action.delay_s)
                    payload = (
                        action.body
                        if action.body is not None
                        else (
                            completion(action.content)
                            if action.status == 200
                            else b'{"error": {"message": "scripted failure"}}'
                        )
                    )
                    self.send_response(action.status)
                    for name, value in action.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server.in_flight -= 1

        class Server(ThreadingHTTPServer):
            # The default backlog of 5 drops simultaneous connects (then retried after 1 s).
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def then(self, *actions: Action) -> None:
        with self._lock:
            self.script.extend(actions)
