"""Strings shared between the judge prompt and the simulator that plays the judge.

The judge implementation imports these so that its rubric and delimiters are exactly the
ones the simulator recognises; a real judge model simply sees them as prompt text.
"""

from __future__ import annotations

# Present in the judge's system prompt: the simulator answers such calls as a judge.
JUDGE_RUBRIC_MARKER = "LLMWATCH-JUDGE-RUBRIC"

# Delimiters around the content under judgement, so instructions inside are not followed.
ANSWER_OPEN = "<<<ANSWER"
ANSWER_CLOSE = "ANSWER>>>"
QUESTION_OPEN = "<<<QUESTION"
QUESTION_CLOSE = "QUESTION>>>"
CONTEXT_OPEN = "<<<CONTEXT"
CONTEXT_CLOSE = "CONTEXT>>>"
REFERENCE_OPEN = "<<<REFERENCE"
REFERENCE_CLOSE = "REFERENCE>>>"

# Keys of the JSON verdict a judge returns.
JUDGE_SCORE_KEYS = ("faithfulness", "relevance", "completeness", "context_relevance")
JUDGE_VERDICT_KEYS = (*JUDGE_SCORE_KEYS, "hallucination", "reasons")


def extract_between(text: str, open_marker: str, close_marker: str) -> str | None:
    """Return the text between the first ``open_marker`` and the last ``close_marker``.

    The last closing marker is used so a judged answer that itself contains the closing
    marker (an injection attempt) cannot end the block early.
    """
    start = text.find(open_marker)
    if start < 0:
        return None
    start += len(open_marker)
    end = text.rfind(close_marker)
    if end < start:
        return None
    return text[start:end].strip()
