"""Recovering the quality of an answer the simulator wrote, the way the judge will see it.

Every sentence the simulator writes opens with a phrase from one class (grounded, vague,
fabricated); extraction answers are JSON whose values either occur in the source
document, are null, or were made up. ``assess_answer`` counts these, and
``judge_verdict`` turns the counts into rubric scores with a little deterministic noise,
so a worse model version or a quality incident gets worse scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from llmwatch.simulator.hashing import stable_uniform
from llmwatch.simulator.vocabulary import (
    ALL_TOPICS,
    FABRICATED,
    GROUNDED,
    REFUSAL_TEXTS,
    VAGUE,
    sentence_openers,
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_REFUSAL_HINTS = ("i can't help", "i can't assist", "i cannot help", "i'm sorry, but i can")


@cache
def _opener_pattern() -> tuple[re.Pattern[str], dict[str, int]]:
    openers = sentence_openers()
    # Longest first so that one opener being a prefix of another cannot misclassify.
    alternation = "|".join(re.escape(o) for o in sorted(openers, key=len, reverse=True))
    return re.compile(f"(?:{alternation})"), openers


@dataclass(frozen=True)
class Assessment:
    grounded: int = 0
    vague: int = 0
    fabricated: int = 0
    unrecognised: int = 0
    refusal: bool = False
    structured: bool = False

    @property
    def recognised(self) -> int:
        return self.grounded + self.vague + self.fabricated

    @property
    def grounded_share(self) -> float:
        return self.grounded / self.recognised if self.recognised else 0.0


def is_refusal(text: str) -> bool:
    lowered = text.strip().lower()
    return text.strip() in REFUSAL_TEXTS or any(hint in lowered for hint in _REFUSAL_HINTS)


def find_topic(text: str) -> str | None:
    """The first known topic mentioned in ``text``, preferring the longest name."""
    lowered = text.lower()
    found = [topic for topic in ALL_TOPICS if topic.lower() in lowered]
    return max(found, key=len) if found else None


def assess_answer(answer: str, source: str | None = None) -> Assessment:
    """Count grounded, vague and fabricated parts of ``answer``.

    ``source`` is the text a structured answer should have been extracted from.
    """
    if is_refusal(answer):
        return Assessment(refusal=True)
    structured = _assess_structured(answer, source)
    if structured is not None:
        return structured
    pattern, openers = _opener_pattern()
    counts = {GROUNDED: 0, VAGUE: 0, FABRICATED: 0}
    unrecognised = 0
    for sentence in _SENTENCE_END.split(answer.strip()):
        match = pattern.match(sentence)
        if match:
            counts[openers[match.group(0)]] += 1
        elif sentence:
            unrecognised += 1
    return Assessment(
        grounded=counts[GROUNDED],
        vague=counts[VAGUE],
        fabricated=counts[FABRICATED],
        unrecognised=unrecognised,
    )


def _assess_structured(answer: str, source: str | None) -> Assessment | None:
    text = answer.strip()
    if not text.startswith("{"):
        return None
    try:
        fields = json.loads(text)
    except ValueError:
        return None
    if not isinstance(fields, dict) or source is None:
        return None
    grounded = vague = fabricated = 0
    for value in fields.values():
        if value is None:
            vague += 1
        elif str(value) in source:
            grounded += 1
        else:
            fabricated += 1
    return Assessment(grounded=grounded, vague=vague, fabricated=fabricated, structured=True)


def _clamp(score: int) -> int:
    return max(1, min(5, score))


def judge_verdict(answer: str, question: str | None, context: str | None) -> dict[str, object]:
    """Rubric scores for ``answer``, as a careful but slightly noisy judge would give them."""
    assessment = assess_answer(answer, source=question)
    question_topic = find_topic(question) if question else None
    has_context = bool(context and context.strip())
    context_relevance: int | None = None
    if has_context and context:
        context_relevance = _context_relevance(context, question_topic)

    if assessment.refusal:
        scores = {"faithfulness": 5, "relevance": 1, "completeness": 1}
        reasons = "The assistant refused instead of answering the question."
        hallucination = False
    elif assessment.recognised == 0:
        # Text the simulator did not write: an honest judge with no signal sits in the middle.
        base = 3 + (1 if stable_uniform("neutral", answer) > 0.5 else 0)
        scores = {"faithfulness": base, "relevance": base, "completeness": 3}
        reasons = "The answer is plausible but cannot be verified in detail."
        hallucination = False
    else:
        scores, reasons = _scores_from(assessment, answer, question_topic)
        hallucination = assessment.fabricated > 0

    _add_noise(scores, answer)
    return {
        **scores,
        "context_relevance": context_relevance,
        "hallucination": hallucination,
        "reasons": reasons,
    }


def _scores_from(
    assessment: Assessment, answer: str, question_topic: str | None
) -> tuple[dict[str, int], str]:
    share = assessment.grounded_share
    fabricated = assessment.fabricated
    faithfulness = 5 if fabricated == 0 else max(1, 4 - fabricated)
    completeness = _clamp(1 + round(4 * share) - (1 if assessment.grounded < 2 else 0))
    on_topic = question_topic is None or question_topic.lower() in answer.lower()
    if assessment.structured:
        on_topic = assessment.grounded > 0
    relevance = (3 + (share >= 0.5) + (share >= 0.8)) if on_topic else (2 if share else 1)
    parts = [f"{assessment.grounded} specific, supported statements"]
    if assessment.vague:
        parts.append(f"{assessment.vague} vague or missing parts")
    if fabricated:
        parts.append(f"{fabricated} claims not supported by any source")
    if not on_topic:
        parts.append("it does not address the question asked")
    scores = {"faithfulness": faithfulness, "relevance": relevance, "completeness": completeness}
    return scores, "The answer has " + "; ".join(parts) + "."


def _context_relevance(context: str, question_topic: str | None) -> int:
    chunks = [line for line in context.splitlines() if line.strip()]
    if question_topic is None or not chunks:
        return 3
    on_topic = sum(question_topic.lower() in chunk.lower() for chunk in chunks)
    return _clamp(1 + round(4 * on_topic / len(chunks)))


def _add_noise(scores: dict[str, int], answer: str) -> None:
    # Real judges disagree with themselves now and then; one score moves by one point.
    u = stable_uniform("judge-noise", answer)
    if u >= 0.2:
        return
    key = ("faithfulness", "relevance", "completeness")[int(u * 15) % 3]
    scores[key] = _clamp(scores[key] + (1 if u < 0.1 else -1))
