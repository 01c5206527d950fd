from __future__ import annotations

import json

import pytest

from llmwatch.judge.parser import ParseFailure, Verdict, parse_verdict

GOOD = {
    "faithfulness": 5,
    "relevance": 4,
    "completeness": 3,
    "context_relevance": None,
    "hallucination": False,
    "reasons": "fine",
}


def test_valid_answer_gives_a_verdict_and_mean_score() -> None:
    verdict = parse_verdict(json.dumps(GOOD), has_context=False)
    assert isinstance(verdict, Verdict)
    assert verdict.score == pytest.approx(4.0)
    assert verdict.hallucination is False
    assert verdict.context_relevance is None


def test_code_fence_is_accepted() -> None:
    text = "```json\n" + json.dumps(GOOD) + "\n```"
    assert isinstance(parse_verdict(text, has_context=False), Verdict)


def test_context_relevance_is_read_with_context_and_optional() -> None:
    verdict = parse_verdict(json.dumps({**GOOD, "context_relevance": 2}), has_context=True)
    assert isinstance(verdict, Verdict)
    assert verdict.context_relevance == 2
    # Left out (or null): an optional dimension not rated, not a failure.
    for answer in (GOOD, {k: v for k, v in GOOD.items() if k != "context_relevance"}):
        verdict = parse_verdict(json.dumps(answer), has_context=True)
        assert isinstance(verdict, Verdict)
        assert verdict.context_relevance is None
    failure = parse_verdict(json.dumps({**GOOD, "context_relevance": "high"}), has_context=True)
    assert isinstance(failure, ParseFailure)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"hallucination": "no"}, {"hallucination": False}),
        ({"hallucination": " Yes "}, {"hallucination": True}),
        ({"hallucination": "TRUE"}, {"hallucination": True}),
        ({"hallucination": "false"}, {"hallucination": False}),
        ({"completeness": "4", "relevance": " 2 "}, {"completeness": 4, "relevance": 2}),
        ({"reasons": None}, {"reasons": ""}),
    ],
)
def test_unambiguous_variants_are_read_as_they_mean(changes: dict, expected: dict) -> None:
    verdict = parse_verdict(json.dumps({**GOOD, **changes}), has_context=False)
    assert isinstance(verdict, Verdict)
    for name, value in expected.items():
        assert getattr(verdict, name) == value
    no_reasons = {k: v for k, v in GOOD.items() if k != "reasons"}
    assert parse_verdict(json.dumps(no_reasons), has_context=False) == Verdict(
        5, 4, 3, None, False, ""
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Faithfulness: 4/5, relevance 5/5.", "not JSON"),
        ('{"faithfulness": 4, "relevance"', "not JSON"),
        ("[1, 2, 3]", "not an object"),
        (json.dumps({**GOOD, "faithfulness": 6}), "outside"),
        (json.dumps({**GOOD, "relevance": 0}), "outside"),
        (json.dumps({**GOOD, "completeness": -1}), "outside"),
        (json.dumps({**GOOD, "completeness": 3.5}), "integer"),
        (json.dumps({**GOOD, "completeness": "4.0"}), "integer"),
        (json.dumps({**GOOD, "completeness": "4/5"}), "integer"),
        (json.dumps({**GOOD, "completeness": "four"}), "integer"),
        (json.dumps({**GOOD, "completeness": "7"}), "outside"),
        (json.dumps({**GOOD, "completeness": 4.0}), "integer"),
        (json.dumps({**GOOD, "completeness": True}), "integer"),
        (json.dumps({**GOOD, "hallucination": "maybe"}), "true or false"),
        (json.dumps({**GOOD, "hallucination": 0}), "true or false"),
        (json.dumps({**GOOD, "hallucination": "no hallucination"}), "true or false"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "relevance"}), "missing"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "hallucination"}), "missing"),
        (repr(GOOD), "not JSON"),
        ("Sure! " + json.dumps(GOOD), "not JSON"),
    ],
)
def test_bad_answers_are_failures_that_keep_the_raw_text(text: str, reason: str) -> None:
    failure = parse_verdict(text, has_context=False)
    assert isinstance(failure, ParseFailure)
    assert reason in failure.reason
    assert failure.raw == text


def test_truncated_answer_is_a_failure_even_if_it_parses() -> None:
    failure = parse_verdict(json.dumps(GOOD), has_context=False, finish_reason="length")
    assert isinstance(failure, ParseFailure)
    assert "truncated" in failure.reason
