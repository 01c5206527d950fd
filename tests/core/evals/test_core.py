"""Checks, shipped data, proportion tests and verdict rules (no Prefect, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmwatch.evals import DatasetError, load_dataset, load_probes, proportion_test
from llmwatch.evals.checks import GOLDEN_CHECKS, PROBE_CHECKS, CheckError, CheckSpec, evaluate
from llmwatch.evals.compare import OVERALL, Counts, ProbeStats, compare_canary, compare_golden


def test_shipped_golden_set_is_large_varied_and_its_checks_accept_known_answers():
    dataset = load_dataset()
    assert len(dataset.examples) >= 200
    assert len(dataset.intents) >= 5
    for example in dataset.examples:
        assert example.answer, example.id
        if example.check.type != "judge":
            assert evaluate(example.check, example.answer).passed, example.id
            assert not evaluate(example.check, "I don't know.").passed, example.id


def test_shipped_probes_cover_the_categories_and_accept_known_answers():
    probes = load_probes()
    assert len(probes.probes) >= 12
    assert {p.category for p in probes.probes} >= {
        "format_following",
        "refusal",
        "arithmetic",
        "factual_recall",
        "instruction_following",
    }
    for probe in probes.probes:
        assert evaluate(probe.check, probe.answer or "").passed, probe.id
    assert load_probes(repeats=5).probes[0].repeats == 5


def test_dataset_version_is_a_content_hash_and_bad_lines_are_named(tmp_path: Path):
    line = {"id": "a", "intent": "x", "prompt": "p", "check": {"type": "exact", "expected": "1"}}
    good = tmp_path / "g.jsonl"
    good.write_text(json.dumps(line) + "\n")
    first = load_dataset(good).version
    good.write_text(json.dumps({**line, "prompt": "q"}) + "\n")
    assert load_dataset(good).version != first
    bad = tmp_path / "b.jsonl"
    bad.write_text(json.dumps(line) + "\n" + json.dumps({**line, "check": {"type": "nope"}}))
    with pytest.raises(DatasetError, match=r"b.jsonl:2: unknown check type"):
        load_dataset(bad)
    bad.write_text(json.dumps(line) + "\n" + json.dumps(line))
    with pytest.raises(DatasetError, match="duplicate"):
        load_dataset(bad)
    bad.write_text("{not json\n")
    with pytest.raises(DatasetError, match=":1:"):
        load_dataset(bad)


@pytest.mark.parametrize(
    ("check", "output", "passed"),
    [
        ({"type": "exact", "expected": "Paris"}, " paris. ", True),
        ({"type": "exact", "expected": "OK", "case_sensitive": True}, "ok", False),
        ({"type": "contains", "expected": ["blue", "sky"]}, "The sky is blue", True),
        ({"type": "contains", "expected": ["blue", "red"]}, "blue", False),
        ({"type": "regex", "pattern": r"^\d+$"}, "391", True),
        ({"type": "numeric", "expected": 391}, "17 x 23 = 391", True),
        ({"type": "numeric", "expected": 1250}, "1,250", True),
        ({"type": "numeric", "expected": 3.11, "rel_tolerance": 0.01}, "3.107 miles", True),
        ({"type": "numeric", "expected": 3.11, "rel_tolerance": 0.01}, "3.2", False),
        (
            {"type": "json_schema", "schema": {"type": "object", "required": ["a"]}},
            '{"a": 1}',
            True,
        ),
        (
            {"type": "json_schema", "schema": {"type": "object", "required": ["a"]}},
            '```json\n{"a": 1}\n```',
            False,
        ),
        ({"type": "json_keys", "keys": ["a", "b"]}, '{"a": 1}', False),
        ({"type": "refusal"}, "I'm sorry, but I can't help with that.", True),
        ({"type": "refusal"}, "Sure, here is how.", False),
        ({"type": "max_length", "max_chars": 5}, "123456", False),
    ],
)
def test_checks(check: dict, output: str, passed: bool):
    allowed = GOLDEN_CHECKS | PROBE_CHECKS
    assert evaluate(CheckSpec.parse(check, allowed), output).passed is passed


def test_bad_check_definitions_are_refused_at_load():
    with pytest.raises(CheckError, match="bad regex"):
        CheckSpec.parse({"type": "regex", "pattern": "("}, GOLDEN_CHECKS)
    with pytest.raises(CheckError, match="needs expected"):
        CheckSpec.parse({"type": "numeric"}, GOLDEN_CHECKS)
    with pytest.raises(CheckError, match="JSON schema"):
        CheckSpec.parse({"type": "json_schema", "schema": {"type": 5}}, GOLDEN_CHECKS)


def test_proportion_test_needs_significance_and_effect():
    big_drop = proportion_test(60, 100, 90, 100, alpha=0.05, min_effect=0.1)
    assert big_drop.test == "two_proportion_z"
    assert big_drop.regressed
    tiny = proportion_test(9700, 10000, 9800, 10000, alpha=0.05, min_effect=0.05)
    assert tiny.p_value is not None
    assert tiny.p_value < 0.05
    assert not tiny.regressed
    small = proportion_test(2, 10, 9, 10, alpha=0.05, min_effect=0.1)
    assert small.test == "fisher_exact"
    assert small.regressed
    better = proportion_test(90, 100, 60, 100, alpha=0.05, min_effect=0.1)
    assert not better.regressed
    none = proportion_test(0, 0, 5, 10, min_n=1)
    assert none.test == "insufficient_data"
    assert not none.regressed


def test_golden_verdict_names_the_regressed_intent_and_ignores_errors():
    candidate = {"a": Counts(38, 40), "b": Counts(10, 40, errors=30), OVERALL: Counts(48, 80)}
    reference = {"a": Counts(39, 40), "b": Counts(38, 40), OVERALL: Counts(77, 80)}
    verdict = compare_golden(
        candidate,
        reference,
        candidate_name="c",
        reference_name="r",
        against="baseline",
        alpha=0.05,
        min_effect=0.1,
        min_n=10,
    )
    assert [r.name for r in verdict.regressions] == ["b", OVERALL]
    flaky = {"a": Counts(38, 40), "b": Counts(5, 5, errors=35), OVERALL: Counts(43, 45)}
    verdict = compare_golden(
        flaky,
        reference,
        candidate_name="c",
        reference_name="r",
        against="baseline",
        alpha=0.05,
        min_effect=0.1,
        min_n=10,
    )
    assert not verdict.regressed
    assert next(r for r in verdict.rows if r.name == "b").test.test == "insufficient_data"


def test_canary_rules_for_deterministic_probes():
    ref = {"p": ProbeStats("p", 3, 3, 0, "aaa", 1), "q": ProbeStats("q", 3, 3, 0, "bbb", 1)}
    same = {"p": ProbeStats("p", 3, 3, 0, "aaa", 1), "q": ProbeStats("q", 3, 3, 0, "bbb", 1)}
    changed = {"p": ProbeStats("p", 3, 3, 0, "zzz", 1), "q": ProbeStats("q", 0, 3, 0, "ccc", 1)}
    errors = {"p": ProbeStats("p", 0, 0, 3, None, 0), "q": ProbeStats("q", 1, 1, 2, "bbb", 1)}
    kw = {"candidate_name": "t", "reference_name": "prev", "alpha": 0.05, "min_effect": 0.34}
    assert not compare_canary(same, ref, against="previous", **kw).regressed
    verdict = compare_canary(changed, ref, against="previous", **kw)
    reasons = {r.name: r.reason for r in verdict.regressions}
    assert "deterministic output changed" in reasons["p"]
    assert "flipped from pass to fail" in reasons["q"]
    # Against another model, a different output is expected: only pass rates count.
    verdict = compare_canary(changed, ref, against="baseline", **kw)
    assert "p" not in {r.name for r in verdict.regressions}
    assert not compare_canary(errors, ref, against="previous", **kw).regressed
