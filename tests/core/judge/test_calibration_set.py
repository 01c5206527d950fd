"""The shipped calibration set: exactly what its builder makes, balanced, verdicts that
hold by construction."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from llmwatch.judge.calibration_set import (
    FACTS,
    SET_FILE,
    build_items,
    load_calibration_set,
    render,
)


def test_the_shipped_file_is_what_the_builder_makes() -> None:
    assert SET_FILE.read_text(encoding="utf-8") == render(build_items()), (
        "run `python -m llmwatch.judge.calibration_set` to rebuild the shipped set"
    )


def test_the_set_is_large_balanced_and_covers_every_construction() -> None:
    cal = load_calibration_set()
    assert len(cal.items) >= 100
    assert Counter(i.expected for i in cal.items) == {"good": 72, "bad": 72}
    kinds = Counter(i.construction for i in cal.items)
    assert set(kinds) == {
        "correct",
        "correct_explained",
        "wrong_fact",
        "off_topic",
        "refusal",
        "truncated",
    }
    assert len(cal.version) == 16


def test_every_bad_item_is_bad_for_its_stated_reason() -> None:
    by_question = {f.question: f for f in FACTS}
    for item in load_calibration_set().items:
        fact = by_question[item.question]
        says_right = fact.right in item.answer
        if item.construction in ("correct", "correct_explained"):
            assert says_right
            assert item.expected == "good"
        elif item.construction == "wrong_fact":
            assert fact.wrong in item.answer
            assert fact.right not in item.answer
        elif item.construction == "off_topic":
            assert item.answer not in {fact.template.format(fact.right)}
            assert not says_right
        elif item.construction == "truncated":
            assert not says_right
            assert not item.answer.endswith(".")
        else:
            assert "sorry" in item.answer.lower() or "not able" in item.answer.lower()


def test_a_broken_set_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text('# header\n{"id": "x", "question": "q"}\n')
    with pytest.raises(ValueError, match=r"set.jsonl:2: not a calibration item"):
        load_calibration_set(bad)
    bad.write_text(
        '{"id": "x", "question": "q", "answer": "a", "expected": "maybe", "construction": "c"}\n'
    )
    with pytest.raises(ValueError, match="expected must be good or bad"):
        load_calibration_set(bad)
