"""Prompts, retrieved contexts and answers for generated traffic.

All random choices are drawn as numpy columns first; the per-record loop only indexes
pre-built sentence tables (``vocabulary.tables()``), which keeps a million records fast.
Answer sentences are drawn from the record's latent quality, so the simulated judge
scores exactly what the scenario says (lower in a quality regression, for instance).
"""

from __future__ import annotations

import json

import numpy as np

from llmwatch.simulator.scenario import Scenario
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


def compose_texts(traffic: Traffic, rng: np.random.Generator, scenario: Scenario) -> TextColumns:
    c = traffic.columns
    n = len(traffic)
    sentence_u = rng.random((n, MAX_SENTENCES), dtype=np.float32)
    hallucination = c["hallucination"][:, None]
    classes = np.where(
        sentence_u < hallucination,
        FABRICATED,
        np.where(sentence_u < hallucination + c["quality"][:, None], GROUNDED, VAGUE),
    ).astype(np.int8)
    picks = rng.integers(0, 1 << 30, size=(n, MAX_SENTENCES))
    n_sentences = np.clip(np.rint(c["output_tokens"] / TOKENS_PER_SENTENCE), 1, MAX_SENTENCES)
    answer_topic = _answer_topics(traffic, rng)

    feature_of = [traffic.feature_names[i] for i in range(len(traffic.feature_names))]
    segment_of = traffic.segment_names
    answers = tables().answers
    questions = tables().questions
    inputs: list[str | None] = []
    outputs: list[str | None] = []
    contexts: list[str | None] = []
    doc_ids: list[str | None] = []
    rows = zip(
        c["feature"].tolist(),
        c["segment"].tolist(),
        c["topic"].tolist(),
        answer_topic.tolist(),
        c["turn"].tolist(),
        c["finish"].tolist(),
        c["context_relevant"].tolist(),
        n_sentences.astype(np.int64).tolist(),
        classes.tolist(),
        picks.tolist(),
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
        if feature == "extraction":
            document, truth = extraction_document(topic, pick[0])
            prompt = EXTRACTION_INSTRUCTION + document
        elif feature == "rag_qa":
            style = SHIFT_SEGMENT if segment == SHIFT_SEGMENT else "rag"
            prompt = questions[style][topic][pick[0] % len(questions[style][topic])]
            context, ids = compose_context(topic, relevant, pick[1])
            docs = ",".join(ids)
        else:
            options = questions[segment][topic]
            prompt = options[pick[0] % len(options)]
            if turn:
                prompt = FOLLOW_UP_PREFIXES[pick[2] % len(FOLLOW_UP_PREFIXES)] + prompt
        if finish == ERROR:
            output = None
        elif finish == REFUSAL:
            output = REFUSAL_TEXTS[pick[3] % len(REFUSAL_TEXTS)]
        elif feature == "extraction":
            output = _extraction_answer(truth, cls, pick)
        else:
            table = answers
            output = " ".join(_choose(table[cls[k]][a_topic], pick[k]) for k in range(count))
        inputs.append(prompt)
        outputs.append(output)
        contexts.append(context)
        doc_ids.append(docs)
    return {"input": inputs, "output": outputs, "context": contexts, "doc_ids": doc_ids}


def _choose(options: tuple[str, ...], pick: int) -> str:
    return options[pick % len(options)]


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
    return json.dumps(answer)


def _fabricate(value: object, pick: int) -> object:
    if isinstance(value, float):
        return round(value * 1.1 + 1, 2)
    return f"{value}-{pick % 97}" if pick % 2 else "Acme Holdings (unverified)"
