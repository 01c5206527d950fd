"""An OpenAI-compatible judge on 127.0.0.1 that knows the calibration set's verdicts.

It reads the QUESTION and ANSWER blocks of each judge call the way a model would see
them, looks the pair up in the shipped set, and answers a rubric JSON: high scores for a
``good`` item, low ones with a hallucination for a ``bad`` one. Knobs make it degrade:
``error_rate`` turns that share of items (chosen by a stable hash, so the same items
every run) into the opposite verdict, ``garbage_rate`` into an unparseable answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llmwatch.judge.calibration_set import load_calibration_set
from llmwatch.simulator.markers import ANSWER_CLOSE, ANSWER_OPEN, QUESTION_CLOSE, QUESTION_OPEN

_BLOCK = r"{open}\n(?P<body>.*?)\n{close}"


def _block(text: str, open_: str, close: str) -> str:
    match = re.search(_BLOCK.format(open=re.escape(open_), close=re.escape(close)), text, re.S)
    return match.group("body") if match else ""


def _share(item_id: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}|{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


GOOD = {"faithfulness": 5, "relevance": 5, "completeness": 5, "hallucination": False}
BAD = {"faithfulness": 1, "relevance": 2, "completeness": 1, "hallucination": True}


class CalibrationJudge:
    def __init__(self) -> None:
        self.error_rate = 0.0
        self.garbage_rate = 0.0
        self.status = 200
        self.calls = 0
        self._lock = threading.Lock()
        verdicts = {
            (i.question, i.answer): (i.id, i.expected) for i in load_calibration_set().items
        }
        judge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with judge._lock:
                    judge.calls += 1
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                key = (
                    _block(user, QUESTION_OPEN, QUESTION_CLOSE),
                    _block(user, ANSWER_OPEN, ANSWER_CLOSE),
                )
                if judge.status != 200:
                    self._send(judge.status, b'{"error": {"message": "invalid api key"}}')
                    return
                item_id, expected = verdicts.get(key, ("unknown", "bad"))
                if _share(item_id, "garbage") < judge.garbage_rate:
                    content = "I think this answer is pretty good overall."
                else:
                    if _share(item_id, "error") < judge.error_rate:
                        expected = "bad" if expected == "good" else "good"
                    verdict = GOOD if expected == "good" else BAD
                    content = json.dumps(
                        {**verdict, "context_relevance": None, "reasons": "calibration judge"}
                    )
                self._send(200, _completion(content, body.get("model", "judge")))

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> CalibrationJudge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _completion(content: str, model: str) -> bytes:
    return json.dumps(
        {
            "id": "cmpl-cal",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 300, "completion_tokens": 40, "total_tokens": 340},
        }
    ).encode()
