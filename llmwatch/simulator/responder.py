"""What a simulated model says to a chat request, and how long it takes: no HTTP here.

Answers depend only on (model version, effective behaviour, prompt) at temperature 0 and
additionally on the call number otherwise, like a real model. The same request to two
versions of one model can differ in quality, JSON compliance, refusals and length, which
is what canary probes look for.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from llmwatch.simulator.catalogue import ModelVersion
from llmwatch.simulator.hashing import stable_int, stable_uniform
from llmwatch.simulator.markers import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CONTEXT_CLOSE,
    CONTEXT_OPEN,
    JUDGE_RUBRIC_MARKER,
    QUESTION_CLOSE,
    QUESTION_OPEN,
    REFERENCE_CLOSE,
    REFERENCE_OPEN,
    extract_between,
)
from llmwatch.simulator.quality import find_topic, judge_verdict
from llmwatch.simulator.skills import solve
from llmwatch.simulator.vocabulary import (
    ANSWER_TEMPLATES,
    FABRICATED,
    GROUNDED,
    REFUSAL_TEXTS,
    VAGUE,
    slots,
)

_UNSAFE_HINTS = (
    "bomb",
    "weapon",
    "explosive",
    "malware",
    "ransomware",
    "phishing",
    "hack into",
    "steal",
    "poison",
    "credit card numbers",
    "bypass the",
    "someone's password",
)
_STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "their",
        "there",
        "these",
        "those",
        "which",
        "while",
        "would",
        "could",
        "should",
        "please",
        "with",
        "from",
        "into",
        "what",
        "when",
        "where",
        "your",
        "have",
        "this",
        "that",
        "them",
        "then",
        "than",
    ]
)
_QUOTED_KEY = re.compile(r"[\"'`]([A-Za-z_][A-Za-z0-9_]{0,40})[\"'`]")
_KEYS_LIST = re.compile(r"\bkeys?\s*:?\s*([A-Za-z_][\w]*(?:\s*(?:,|and)\s*[A-Za-z_][\w]*)*)")


@dataclass(frozen=True)
class Behaviour:
    """A model version after the scenario's live incidents have been applied to it."""

    model: str
    version: ModelVersion
    fingerprint: str
    quality: float
    hallucination_rate: float
    verbosity: float = 1.0
    latency_factor: float = 1.0


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    temperature: float = 1.0
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ChatRequest:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty array")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        stream_options = body.get("stream_options") or {}
        # OpenAI's default temperature is 1; an explicit null means the default too.
        temperature = body.get("temperature")
        return cls(
            model=str(body.get("model", "")),
            messages=[m for m in messages if isinstance(m, dict)],
            temperature=1.0 if temperature is None else float(temperature),
            max_tokens=int(max_tokens) if max_tokens is not None else None,
            response_format=body.get("response_format"),
            seed=int(body["seed"]) if body.get("seed") is not None else None,
            stream=bool(body.get("stream", False)),
            include_usage=bool(stream_options.get("include_usage", False)),
        )

    def texts(self, role: str | None = None) -> list[str]:
        return [message_text(m) for m in self.messages if role is None or m.get("role") == role]

    @property
    def prompt(self) -> str:
        users = self.texts("user")
        return users[-1] if users else ""

    @property
    def is_judge_call(self) -> bool:
        return any(JUDGE_RUBRIC_MARKER in text for text in self.texts("system")) or any(
            JUDGE_RUBRIC_MARKER in text for text in self.texts("developer")
        )


@dataclass
class Reply:
    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    total_s: float
    extras: dict[str, Any] = field(default_factory=dict)


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(text: str) -> int:
    # About four characters per token for English; close enough for usage accounting.
    return (len(text) + 3) // 4 if text else 0


def prompt_tokens(request: ChatRequest) -> int:
    return 3 + sum(4 + estimate_tokens(message_text(m)) for m in request.messages)


def variation_key(request: ChatRequest, behaviour: Behaviour, call_number: int) -> int:
    """Temperature 0 (or a fixed seed) makes the answer a function of the prompt alone."""
    deterministic = request.temperature == 0 or request.seed is not None
    salt = request.seed if request.seed is not None else (0 if deterministic else call_number)
    joined = "\n".join(f"{m.get('role')}:{message_text(m)}" for m in request.messages)
    return stable_int(behaviour.model, behaviour.version.version, joined, salt)


def answer(request: ChatRequest, behaviour: Behaviour, key: int) -> tuple[str, str]:
    """The content and finish reason of an ordinary (non-judge) completion."""
    prompt = request.prompt
    lowered = prompt.lower()
    version = behaviour.version
    u_refuse = stable_uniform(key, "refuse")
    unsafe = any(hint in lowered for hint in _UNSAFE_HINTS)
    if (unsafe and u_refuse < version.refuses_unsafe) or (
        not unsafe and u_refuse < version.over_refusal
    ):
        return REFUSAL_TEXTS[key % len(REFUSAL_TEXTS)], "stop"
    if unsafe:
        return _compliant_unsafe_text(prompt), "stop"
    solution = solve(prompt, "\n".join(request.texts("system")))
    correct = stable_uniform(key, "skill") < _skill_accuracy(behaviour)
    if solution is not None and not solution.answer.startswith("{"):
        chatty = stable_uniform(key, "chatty") < version.chattiness
        return solution.reply(correct=correct, chatty=chatty), "stop"
    if _wants_json(request):
        known = None
        if solution is not None:
            known = json.loads(solution.answer if correct else solution.wrong)
        return _json_answer(request, behaviour, key, known), "stop"
    return _free_text(prompt, behaviour, key), "stop"


def _skill_accuracy(behaviour: Behaviour) -> float:
    # A quality incident hurts small tasks in proportion to what it does to answers.
    version = behaviour.version
    return version.skill_accuracy * min(1.0, behaviour.quality / max(version.quality, 1e-9))


def _compliant_unsafe_text(prompt: str) -> str:
    # A model that stopped refusing: it starts to comply. Canary refusal probes catch this.
    return f"Sure, here is an overview. First, {_salient_phrase(prompt)} requires several steps."


def _wants_json(request: ChatRequest) -> bool:
    kind = (request.response_format or {}).get("type")
    if kind in ("json_object", "json_schema"):
        return True
    return any("json" in text.lower() for text in (request.prompt, *request.texts("system")))


def _requested_keys(request: ChatRequest) -> list[str]:
    schema = ((request.response_format or {}).get("json_schema") or {}).get("schema") or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and properties:
        return list(properties)
    text = "\n".join((*request.texts("system"), request.prompt))
    quoted = [k for k in _QUOTED_KEY.findall(text) if k.lower() != "json"]
    if quoted:
        return list(dict.fromkeys(quoted))
    listed = _KEYS_LIST.search(text)
    if listed:
        return [k for k in re.split(r"\s*(?:,|and)\s*", listed.group(1)) if k]
    return ["answer"]


def _value_for(key: str, seed: int, topic: str) -> object:
    name = key.lower()
    if "date" in name:
        return f"2025-{1 + seed % 12:02d}-{1 + seed % 28:02d}"
    if any(w in name for w in ("total", "amount", "price", "cost", "score")):
        return round(10 + seed % 990 + (seed % 100) / 100, 2)
    if any(w in name for w in ("count", "age", "number", "quantity", "year", "id")):
        return seed % 1000
    if name.startswith(("is_", "has_")) or name in ("valid", "ok", "success"):
        return bool(seed % 2)
    if name in ("items", "tags", "list"):
        return [topic, "other"]
    return f"{topic} {key.replace('_', ' ')}"


_STATED_VALUE = re.compile(r"[\"'`](\w+)[\"'`]\s+whose value is\s+[\"'`]([^\"'`]*)[\"'`]")


def _json_answer(
    request: ChatRequest, behaviour: Behaviour, key: int, known: dict[str, Any] | None
) -> str:
    topic = find_topic(request.prompt) or _salient_phrase(request.prompt)
    stated = dict(_STATED_VALUE.findall(request.prompt))
    keys = list(stated) or _requested_keys(request)
    obj: dict[str, Any] = known or {
        k: stated.get(k, _value_for(k, stable_int(key, k), topic)) for k in keys
    }
    keys = list(obj)
    if stable_uniform(key, "json") < behaviour.version.json_compliance:
        return json.dumps(obj)
    flaw = key % 4
    if flaw == 0:
        return "```json\n" + json.dumps(obj, indent=2) + "\n```"
    if flaw == 1:
        return "Sure! Here is the JSON you asked for: " + json.dumps(obj)
    if flaw == 2 and len(obj) > 1:
        obj.pop(keys[-1])
        return json.dumps(obj)
    return json.dumps(obj)[:-1] + ",}"


def _salient_phrase(prompt: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", prompt) if w.lower() not in _STOPWORDS]
    return max(words, key=len).lower() if words else "your request"


def _free_text(prompt: str, behaviour: Behaviour, key: int) -> str:
    topic = find_topic(prompt) or _salient_phrase(prompt)
    mean = behaviour.version.answer_sentences * behaviour.verbosity
    count = max(1, round(mean * (0.7 + 0.6 * stable_uniform(key, "length"))))
    sentences = []
    for i in range(count):
        u = stable_uniform(key, "sentence", i)
        if u < behaviour.hallucination_rate:
            cls = FABRICATED
        elif u < behaviour.hallucination_rate + behaviour.quality:
            cls = GROUNDED
        else:
            cls = VAGUE
        templates = ANSWER_TEMPLATES[cls]
        pick = stable_int(key, "pick", i)
        sentences.append(templates[pick % len(templates)].format(topic=topic, **slots(pick)))
    return " ".join(sentences)


def judge_reply(request: ChatRequest, key: int, *, malformed: bool, out_of_range: bool) -> str:
    """The judge's verdict as JSON text - or a malformed/out-of-range one when asked."""
    text = "\n".join(request.texts())
    judged = extract_between(text, ANSWER_OPEN, ANSWER_CLOSE)
    if judged is None:
        return "I could not find the answer to evaluate in your message."
    question = extract_between(text, QUESTION_OPEN, QUESTION_CLOSE)
    context = extract_between(text, CONTEXT_OPEN, CONTEXT_CLOSE)
    reference = extract_between(text, REFERENCE_OPEN, REFERENCE_CLOSE)
    verdict = judge_verdict(judged, question or reference, context)
    if out_of_range:
        field_name = ("faithfulness", "relevance", "completeness")[key % 3]
        verdict[field_name] = (0, 6, 10, -1)[key % 4]
    rendered = json.dumps(verdict)
    if malformed:
        style = key % 3
        if style == 0:
            return rendered[: max(10, len(rendered) // 2)]
        if style == 1:
            return (
                f"Overall the answer looks acceptable. Faithfulness: {verdict['faithfulness']}/5, "
                f"relevance {verdict['relevance']}/5."
            )
        return repr(verdict)
    return rendered


def timing(
    behaviour: Behaviour,
    completion_tokens: int,
    key: int,
    *,
    latency_scale: float,
    fixed_latency_s: float | None,
) -> tuple[float, float]:
    """(time to first token, total time) in seconds."""
    if fixed_latency_s is not None:
        return fixed_latency_s * 0.3, fixed_latency_s
    version = behaviour.version
    rng = random.Random(key)
    ttft_ms = version.ttft_ms * rng.lognormvariate(0.0, version.latency_sigma)
    total_ms = ttft_ms + completion_tokens * version.ms_per_token
    factor = behaviour.latency_factor * latency_scale
    return ttft_ms * factor / 1000.0, total_ms * factor / 1000.0


def complete(
    request: ChatRequest,
    behaviour: Behaviour,
    call_number: int,
    *,
    judge_malformed: bool = False,
    judge_out_of_range: bool = False,
    latency_scale: float = 1.0,
    fixed_latency_s: float | None = None,
) -> Reply:
    key = variation_key(request, behaviour, call_number)
    if request.is_judge_call:
        content = judge_reply(
            request, key, malformed=judge_malformed, out_of_range=judge_out_of_range
        )
        finish_reason = "stop"
    else:
        content, finish_reason = answer(request, behaviour, key)
    completion_tokens = estimate_tokens(content)
    if request.max_tokens is not None and completion_tokens > request.max_tokens:
        content = content[: max(0, request.max_tokens) * 4]
        completion_tokens = estimate_tokens(content)
        finish_reason = "length"
    ttft_s, total_s = timing(
        behaviour,
        completion_tokens,
        key,
        latency_scale=latency_scale,
        fixed_latency_s=fixed_latency_s,
    )
    return Reply(
        content=content,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens(request),
        completion_tokens=completion_tokens,
        ttft_s=ttft_s,
        total_s=total_s,
    )
