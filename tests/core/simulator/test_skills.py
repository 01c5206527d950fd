"""Small tasks the simulated models solve, so golden sets and canary probes mean something."""

from __future__ import annotations

import json

import openai
import pytest

from llmwatch.simulator import SimulatorServer
from llmwatch.simulator.skills import solve
from tests.core.simulator.conftest import GPT4O, MINI

NUMBER_ONLY = "Answer with the number only, no words or units."


@pytest.mark.parametrize(
    ("prompt", "system", "expected"),
    [
        ("What is 431 + 254?", NUMBER_ONLY, "685"),
        ("What is 6968 - 343?", NUMBER_ONLY, "6625"),
        ("What is 17 * 23?", NUMBER_ONLY, "391"),
        ("What is 720 divided by 20?", NUMBER_ONLY, "36"),
        ("A box holds 12 eggs. How many eggs are in 7 boxes?", NUMBER_ONLY, "84"),
        ("Convert 7 kilometres to miles. Round to two decimal places.", NUMBER_ONLY, "4.35"),
        ("Convert -10 degrees Celsius to degrees Fahrenheit.", NUMBER_ONLY, "14.00"),
        ("Convert 10 litres to US gallons. Round to two decimal places.", NUMBER_ONLY, "2.64"),
        ("What is the capital of Australia?", "Answer with the city only.", "Canberra"),
        ("What is the capital of New Zealand?", "", "Wellington"),
        ("Text: Rude staff and a dirty room. Never again.", "Classify the sentiment.", "negative"),
        ("Text: The museum is closed on Mondays.", "Classify the sentiment.", "neutral"),
        ("Text: Setup took two minutes and it works perfectly.", "sentiment", "positive"),
        ("Write the word 'banana' backwards. Reply with the result only.", "", "ananab"),
        ("Spell the word 'cat' in upper case, letters separated by hyphens.", "", "C-A-T"),
        ("Count the vowels in the word 'education'. Reply with the number only.", "", "5"),
        ("Reply with the lowercase hexadecimal representation of 255.", "", "ff"),
        ("Write the Roman numeral for 14 and nothing else.", "", "XIV"),
        ("Give the ISO 8601 date for the fourth of July 2025.", "", "2025-07-04"),
        ("Return the list [3, 1, 2] sorted ascending as a JSON array.", "", "[1, 2, 3]"),
        ("Reply with the single word READY in capital letters.", "", "READY"),
        (
            'Return a JSON object with the keys "name", "age" and "city" for this text: '
            "Ada is 53 years old and lives in Dublin.",
            "Reply with JSON only.",
            '{"name": "Ada", "age": 53, "city": "Dublin"}',
        ),
    ],
)
def test_known_tasks_are_solved(prompt: str, system: str, expected: str):
    solution = solve(prompt, system)
    assert solution is not None
    assert solution.answer == expected
    assert solution.wrong != expected


@pytest.mark.parametrize(
    "prompt",
    [
        "hi, how do I sort out my billing?",
        "Extract document_number, issue_date as JSON.\n\nINVOICE IN-12345\nDate: 2025-03-05",
        "What does the handbook say about parental leave?",
    ],
)
def test_ordinary_traffic_is_not_mistaken_for_a_task(prompt: str):
    assert solve(prompt) is None


def _pass_rate(client: openai.OpenAI, model: str) -> float:
    prompts = [f"What is {a} + {b}?" for a in range(12, 52) for b in (7,)]
    answers = [
        client.chat.completions.create(
            model=model,
            temperature=0,
            messages=[
                {"role": "system", "content": NUMBER_ONLY},
                {"role": "user", "content": prompt},
            ],
        )
        .choices[0]
        .message.content
        for prompt in prompts
    ]
    expected = [str(a + 7) for a in range(12, 52)]
    return sum(a == e for a, e in zip(answers, expected, strict=True)) / len(prompts)


def test_silent_update_answers_tasks_worse_and_chattier(sim: SimulatorServer, oai: openai.OpenAI):
    before = _pass_rate(oai, MINI)
    sim.pin_version(MINI, "2024-07-18-r2")
    after = _pass_rate(oai, MINI)
    assert before >= 0.85
    assert after < before - 0.2


def test_json_values_stated_in_the_prompt_are_used(oai: openai.OpenAI):
    content = (
        oai.chat.completions.create(
            model=GPT4O,
            temperature=0,
            messages=[
                {
                    "role": "user",
                    "content": 'Return a JSON object with one key "status" whose value is "ok".',
                }
            ],
        )
        .choices[0]
        .message.content
    )
    # Whether or not this version wraps it in prose, the object holds the stated value.
    text = content or ""
    assert json.loads(text[text.index("{") : text.rindex("}") + 1]) == {"status": "ok"}
