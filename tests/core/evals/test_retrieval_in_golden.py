"""Recall@k and MRR reported with golden results, against a real RAG endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from llmwatch.evals.dataset import DatasetError, load_dataset
from llmwatch.evals.job import golden_run
from llmwatch.settings import Settings, Target
from llmwatch.warehouse.models import GoldenRun

# What the fake RAG app retrieves for each question, in rank order.
RETRIEVED = {
    "Who approves overtime?": ["doc-hr-2", "doc-hr-9", "doc-fin-1"],
    "How many vacation days carry over?": ["doc-fin-3", "doc-hr-5"],
    "What is the travel per diem?": ["doc-it-1", "doc-it-2"],
}


class _RagHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"]
        payload = {
            "id": "x", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "The HR lead."}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
            "retrieved_ids": RETRIEVED[question],
        }  # fmt: skip
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def rag_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RagHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _dataset(tmp_path: Path) -> Path:
    rows = [
        {"id": "q1", "intent": "hr", "prompt": "Who approves overtime?",
         "check": {"type": "contains", "expected": "HR"}, "relevant_ids": ["doc-hr-9"]},
        {"id": "q2", "intent": "hr", "prompt": "How many vacation days carry over?",
         "check": {"type": "contains", "expected": "HR"}, "relevant_ids": ["doc-hr-5", "doc-hr-6"]},
        {"id": "q3", "intent": "travel", "prompt": "What is the travel per diem?",
         "check": {"type": "contains", "expected": "HR"}},
    ]  # fmt: skip
    path = tmp_path / "rag.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_golden_run_reports_recall_and_mrr(
    engine: Engine, tmp_path: Path, rag_endpoint: str
) -> None:
    settings = Settings(targets={"rag": Target(base_url=rag_endpoint, model="rag-app")})
    report = asyncio.run(golden_run(engine, settings, "rag", load_dataset(_dataset(tmp_path))))

    assert report.retrieval is not None
    # q3 has no relevant ids: left out, not scored as zero.
    assert report.retrieval.n == 2
    # q1 finds its one document (recall 1) at rank 2; q2 finds one of two (0.5) at rank 2.
    assert report.retrieval.recall_at_k == pytest.approx(0.75)
    assert report.retrieval.mrr == pytest.approx(0.5)
    with engine.connect() as conn:
        summary = conn.execute(select(GoldenRun.summary)).scalar_one()
    assert summary["retrieval"] == {"k": 5, "n": 2, "recall_at_k": 0.75, "mrr": 0.5}


def test_relevant_ids_must_be_a_list_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "a", "intent": "i", "prompt": "p",
                                "check": {"type": "exact", "expected": "x"},
                                "relevant_ids": "doc-1"}) + "\n")  # fmt: skip
    with pytest.raises(DatasetError, match="relevant_ids"):
        load_dataset(path)
