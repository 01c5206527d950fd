"""Prompts, retrieved contexts and answers for generated traffic.

All random choices are drawn as numpy columns first; the per-record loop only indexes
pre-built sentence tables (``vocabulary.tables()``), which keeps a million records fast.
Answer sentences are drawn from the record's latent quality, so the simulated judge
scores exactly what the scenario says (lower in a quality regression, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import orjson

from llmwatch.simulator.traffic import ERROR, REFUSAL, Traffic
from llmwatch.simulator.vocabulary import (
    ALL_TOPICS,
    EXTRACTION_FIELDS,
    FABRICATED,
    FEATURE_TOPICS,
    GROUNDED,
    REFUSAL_TEXTS,
    SHIFT_SEGMENT,
    TOPIC_INDEX,
    VAGUE,
    compose_context,
    extraction_document,
    tables,
)

MAX_SENTENCES = 8
# Roughly one answer sentence per this many output tokens (sentences are ~20 words).
TOKENS_PER_SENTENCE = 35
FOLLOW_UP_PREFIXES = (
    "Thanks. Also, ",
    "One more thing: ",
    "That didn't work. ",
    "ok and ",
    "Follow-up: ",
    "Sorry, again - ",
)
EXTRACTION_INSTRUCTION = (
    "Extract document_number, issue_date, vendor, total_amount and currency as JSON from "
    "the document below.\n\n"
)

TextColumns = dict[str, list[str | None]]


@dataclass(frozen=True)
class TextPlan:
    """Every random choice behind the texts, drawn up front as columns.

    Texts are then composed per slice while writing (``compose_rows``), so a million
    records never hold a million prompts and answers in memory at once, and the texts do
    not depend on how the records are batched.
    """

    classes: np.ndarray  # (n, MAX_SENTENCES) sentence classes
    picks: np.ndarray  # (n, MAX_SENTENCES) which variant of each sentence
    sentences: np.ndarray  # (n,) answer length in sentences
    answer_topic: np.ndarray  # (n,) the topic the answer talks about


def plan_texts(traffic: Traffic, rng: np.random.Generator) -> TextPlan:
    c = traffic.columns
    n = len(traffic)
    sentence_u = rng.random((n, MAX_SENTENCES), dtype=np.float32)
    hallucination = c["hallucination"][:, None]
    classes = np.where(
        sentence_u < hallucination,
        FABRICATED,
        np.where(sentence_u < hallucination + c["quality"][:, None], GROUNDED, VAGUE),
    ).astype(np.int8)
    return TextPlan(
        classes=classes,
        picks=rng.integers(0, 1 << 30, size=(n, MAX_SENTENCES), dtype=np.int32),
        sentences=np.clip(
            np.rint(c["output_tokens"] / TOKENS_PER_SENTENCE), 1, MAX_SENTENCES
        ).astype(np.int8),
        answer_topic=_answer_topics(traffic, rng),
    )


def compose_rows(traffic: Traffic, plan: TextPlan, lo: int, hi: int) -> TextColumns:
    """Input, output, context and retrieved doc ids of records ``lo:hi``."""
    c = traffic.columns
    feature_of = traffic.feature_names
    segment_of = traffic.segment_names
    answers = tables().answers
    questions = tables().questions
    inputs: list[str | None] = []
    outputs: list[str | None] = []
    contexts: list[str | None] = []
    doc_ids: list[str | None] = []
    rows = zip(
        c["feature"][lo:hi].tolist(),
        c["segment"][lo:hi].tolist(),
        c["topic"][lo:hi].tolist(),
        plan.answer_topic[lo:hi].tolist(),
        c["turn"][lo:hi].tolist(),
        c["finish"][lo:hi].tolist(),
        c["context_relevant"][lo:hi].tolist(),
        plan.sentences[lo:hi].tolist(),
        plan.classes[lo:hi].tolist(),
        plan.picks[lo:hi].tolist(),
        strict=True,
    )
    for (
        feature_code,
        segment_code,
        topic,
        a_topic,
        turn,
        finish,
        relevant,
        count,
        cls,
        pick,
    ) in rows:
        feature = feature_of[feature_code]
        segment = segment_of[segment_code]
        context: str | None = None
        docs: str | None = None
        truth: dict[str, object] = {}
        if feature == "extraction":
            document, truth = _document(topic, pick[0] % DOCUMENT_VARIANTS)
            prompt = EXTRACTION_INSTRUCTION + document
        elif feature == "rag_qa":
            options = questions[SHIFT_SEGMENT if segment == SHIFT_SEGMENT else "rag"][topic]
            prompt = options[pick[0] % len(options)]
            context, docs = _context(topic, relevant, pick[1] % CONTEXT_VARIANTS)
        else:
            options = questions[segment][topic]
            prompt = options[pick[0] % len(options)]
            if turn:
                prompt = FOLLOW_UP_PREFIXES[pick[2] % len(FOLLOW_UP_PREFIXES)] + prompt
        output: str | None
        if finish == ERROR:
            output = None
        elif finish == REFUSAL:
            output = REFUSAL_TEXTS[pick[3] % len(REFUSAL_TEXTS)]
        elif feature == "extraction":
            output = _extraction_answer(truth, cls, pick)
        else:
            pools = (answers[0][a_topic], answers[1][a_topic], answers[2][a_topic])
            output = " ".join(
                [
                    pools[k][p % len(pools[k])]
                    for k, p in zip(cls[:count], pick[:count], strict=True)
                ]
            )
        inputs.append(prompt)
        outputs.append(output)
        contexts.append(context)
        doc_ids.append(docs)
    return {"input": inputs, "output": outputs, "context": contexts, "doc_ids": doc_ids}


# Variants per topic of retrieved contexts and extraction documents, built once and cached.
CONTEXT_VARIANTS = 64
DOCUMENT_VARIANTS = 4096


@lru_cache(maxsize=8192)
def _context(topic: int, relevant: bool, variant: int) -> tuple[str, str]:
    text, ids = compose_context(topic, relevant, variant)
    return text, ",".join(ids)


@lru_cache(maxsize=32768)
def _document(topic: int, variant: int) -> tuple[str, dict[str, object]]:
    return extraction_document(topic, variant)


def _answer_topics(traffic: Traffic, rng: np.random.Generator) -> np.ndarray:
    """The topic each answer talks about: the asked one, unless the answer drifts off.

    Poor answers sometimes address a neighbouring topic of the same pool, which the
    judge sees as irrelevant.
    """
    c = traffic.columns
    topic = c["topic"].copy()
    off_topic = rng.random(topic.size) < (1.0 - c["quality"]) * 0.25
    for pool in FEATURE_TOPICS.values():
        first = TOPIC_INDEX[pool[0]]
        inside = off_topic & (topic >= first) & (topic < first + len(pool))
        topic[inside] = first + (topic[inside] - first + 1) % len(pool)
    assert topic.max(initial=0) < len(ALL_TOPICS)
    return topic


def _extraction_answer(truth: dict[str, object], classes: list[int], pick: list[int]) -> str:
    answer: dict[str, object] = {}
    for k, name in enumerate(EXTRACTION_FIELDS):
        cls = classes[k]
        value = truth[name]
        if cls == VAGUE:
            answer[name] = None
        elif cls == FABRICATED:
            answer[name] = _fabricate(value, pick[k])
        else:
            answer[name] = value
    return orjson.dumps(answer).decode()


def _fabricate(value: object, pick: int) -> object:
    if isinstance(value, float):
        return round(value * 1.1 + 1, 2)
    return f"{value}-{pick % 97}" if pick % 2 else "Acme Holdings (unverified)"
