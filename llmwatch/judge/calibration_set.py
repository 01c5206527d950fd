"""The judge's calibration set: question/answer pairs whose verdict is known by construction.

The judge is a pinned model too (SPEC 4.3, issue 17): a provider can change it under the
same name, and a judge that grows lenient or harsh looks exactly like an application
whose quality moved. So the configured judge regularly judges this fixed set, and its
agreement with the known verdicts is tracked run over run (llmwatch.judge.calibration).

How the set is built (``python -m llmwatch.judge.calibration_set`` rewrites the shipped
file; a test checks the file is exactly what this module builds). Each of the FACTS
below is a question, an answer sentence with a slot for the fact, the right value, a
plausible wrong value, and a short explanation. Every fact gives four items:

* ``correct``: the answer sentence with the right value -> ``good``;
* ``correct_explained``: the same, followed by the explanation -> ``good``;
* ``wrong_fact``: the answer sentence with the wrong value -> ``bad`` (a hallucination);
* one of, in rotation, -> ``bad``:
  ``off_topic`` (the correct answer to another fact, unrelated to the question),
  ``refusal`` (a polite refusal), ``truncated`` (the sentence cut before the fact).

So the set is balanced (half good, half bad) and deterministic: no randomness, no model.
A judge verdict counts as ``good`` when its score (the mean of the scored dimensions)
reaches ``judge_calibration.pass_score`` and it flags no hallucination.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

SET_FILE = Path(__file__).parent / "data" / "calibration_v1.jsonl"
HEADER = "# llmwatch judge calibration set v1: built by llmwatch/judge/calibration_set.py\n"
VERDICTS = ("good", "bad")


@dataclass(frozen=True)
class Fact:
    question: str
    # The answer sentence; "{}" is where the value goes (never at the start).
    template: str
    right: str
    wrong: str
    explanation: str


FACTS: tuple[Fact, ...] = (
    Fact("What is the capital of Australia?", "The capital of Australia is {}.", "Canberra",
         "Sydney", "It was chosen as a compromise between Sydney and Melbourne."),
    Fact("At what temperature does water boil at sea level, in degrees Celsius?",
         "At sea level water boils at {} degrees Celsius.", "100", "90",
         "At higher altitudes the lower air pressure makes it boil at a lower temperature."),
    Fact("Which planet is closest to the Sun?", "The planet closest to the Sun is {}.",
         "Mercury", "Venus", "It completes an orbit in about 88 Earth days."),
    Fact("How many continents are there by the usual count?",
         "By the usual count there are {} continents.", "seven", "five",
         "They are Africa, Antarctica, Asia, Australia, Europe, North America and South America."),
    Fact("Who wrote the play Romeo and Juliet?", "Romeo and Juliet was written by {}.",
         "William Shakespeare", "Charles Dickens",
         "It was first published in 1597 and is one of his early tragedies."),
    Fact("What is the chemical symbol for gold?", "The chemical symbol for gold is {}.", "Au",
         "Ag", "It comes from the Latin word aurum."),
    Fact("How many sides does a hexagon have?", "A hexagon has {} sides.", "six", "eight",
         "A regular hexagon also has six equal interior angles of 120 degrees."),
    Fact("What is the largest ocean on Earth?", "The largest ocean on Earth is the {} Ocean.",
         "Pacific", "Atlantic", "It covers roughly a third of the planet's surface."),
    Fact("In which year did the Second World War end?", "The Second World War ended in {}.",
         "1945", "1939", "Germany surrendered in May and Japan in September of that year."),
    Fact("What gas do plants absorb from the air for photosynthesis?",
         "For photosynthesis plants absorb {} from the air.", "carbon dioxide", "nitrogen",
         "They use light energy to turn it and water into sugars, releasing oxygen."),
    Fact("What is the square root of 144?", "The square root of 144 is {}.", "12", "14",
         "Twelve multiplied by twelve gives 144."),
    Fact("Which language has the most native speakers?",
         "The language with the most native speakers is {}.", "Mandarin Chinese", "English",
         "English has more speakers in total once second-language speakers are counted."),
    Fact("What is the freezing point of water in degrees Fahrenheit?",
         "Water freezes at {} degrees Fahrenheit.", "32", "0",
         "That is the same temperature as 0 degrees Celsius."),
    Fact("Who painted the Mona Lisa?", "The Mona Lisa was painted by {}.", "Leonardo da Vinci",
         "Michelangelo", "It hangs in the Louvre in Paris."),
    Fact("What is the hardest natural mineral?", "The hardest natural mineral is {}.",
         "diamond", "quartz", "It scores 10 on the Mohs scale of hardness."),
    Fact("How many minutes are there in a day?", "A day has {} minutes.", "1440", "1240",
         "That is 24 hours of 60 minutes each."),
    Fact("What is the capital of Canada?", "The capital of Canada is {}.", "Ottawa", "Toronto",
         "Ottawa lies in the province of Ontario."),
    Fact("Which organ pumps blood through the human body?",
         "Blood is pumped through the body by the {}.", "heart", "liver",
         "It beats roughly 60 to 100 times a minute at rest."),
    Fact("What is the longest river in South America?",
         "The longest river in South America is the {}.", "Amazon", "Orinoco",
         "It also carries more water than any other river in the world."),
    Fact("How many bits are in a byte?", "A byte has {} bits.", "eight", "four",
         "Eight bits can represent 256 different values."),
    Fact("Which element has the atomic number 1?", "The element with atomic number 1 is {}.",
         "hydrogen", "helium", "It is the lightest and most abundant element in the universe."),
    Fact("What is the capital of Japan?", "The capital of Japan is {}.", "Tokyo", "Kyoto",
         "Kyoto was the imperial capital until 1869."),
    Fact("Who developed the theory of general relativity?",
         "The theory of general relativity was developed by {}.", "Albert Einstein",
         "Isaac Newton", "He published it in 1915."),
    Fact("What is 15 multiplied by 4?", "15 multiplied by 4 is {}.", "60", "54",
         "Four fifteens make sixty."),
    Fact("Which planet is known as the Red Planet?", "The Red Planet is {}.", "Mars", "Jupiter",
         "Iron oxide on its surface gives it its reddish colour."),
    Fact("What is the main language spoken in Brazil?",
         "The main language spoken in Brazil is {}.", "Portuguese", "Spanish",
         "Brazil was a Portuguese colony until 1822."),
    Fact("How many players does a football (soccer) team have on the pitch?",
         "A football team has {} players on the pitch.", "eleven", "nine",
         "One of them is the goalkeeper."),
    Fact("What is the tallest mountain above sea level?",
         "The tallest mountain above sea level is Mount {}.", "Everest", "Kilimanjaro",
         "Its summit is about 8,849 metres above sea level."),
    Fact("What currency is used in the United Kingdom?",
         "The currency of the United Kingdom is the {}.", "pound sterling", "euro",
         "The United Kingdom never adopted the euro."),
    Fact("How many days are there in a leap year?", "A leap year has {} days.", "366", "365",
         "The extra day is 29 February."),
    Fact("Which scientist proposed the three laws of motion?",
         "The three laws of motion were proposed by {}.", "Isaac Newton", "Galileo Galilei",
         "He published them in the Principia in 1687."),
    Fact("What is the smallest prime number?", "The smallest prime number is {}.", "2", "1",
         "One is not a prime number because it has only one divisor."),
    Fact("What is the capital of Italy?", "The capital of Italy is {}.", "Rome", "Milan",
         "Rome has been the capital since 1871."),
    Fact("What is the speed of light in a vacuum, approximately, in kilometres per second?",
         "Light travels at about {} kilometres per second in a vacuum.", "300,000", "30,000",
         "The exact value is 299,792.458 kilometres per second."),
    Fact("Which blood cells carry oxygen?", "Oxygen is carried by {} blood cells.", "red",
         "white", "They contain haemoglobin, which binds oxygen in the lungs."),
    Fact("How many strings does a standard violin have?", "A standard violin has {} strings.",
         "four", "six", "They are tuned to G, D, A and E."),
)  # fmt: skip

REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I am not able to answer that question.",
    "Sorry, I cannot provide that information.",
)
# A different fact's answer: far enough along the list to be on another subject.
OFF_TOPIC_SHIFT = 7


@dataclass(frozen=True)
class CalibrationItem:
    id: str
    question: str
    answer: str
    # The known verdict: 'good' or 'bad'.
    expected: str
    # How the item was built: correct, correct_explained, wrong_fact, off_topic, refusal,
    # truncated.
    construction: str


def build_items() -> list[CalibrationItem]:
    items: list[CalibrationItem] = []
    for index, fact in enumerate(FACTS):
        correct = fact.template.format(fact.right)
        prefix = f"cal-{index + 1:03d}"
        items.append(CalibrationItem(f"{prefix}-a", fact.question, correct, "good", "correct"))
        items.append(
            CalibrationItem(
                f"{prefix}-b",
                fact.question,
                f"{correct} {fact.explanation}",
                "good",
                "correct_explained",
            )
        )
        items.append(
            CalibrationItem(
                f"{prefix}-c",
                fact.question,
                fact.template.format(fact.wrong),
                "bad",
                "wrong_fact",
            )
        )
        items.append(_fourth(index, fact, prefix))
    return items


def _fourth(index: int, fact: Fact, prefix: str) -> CalibrationItem:
    kind = ("off_topic", "refusal", "truncated")[index % 3]
    if kind == "off_topic":
        other = FACTS[(index + OFF_TOPIC_SHIFT) % len(FACTS)]
        answer = other.template.format(other.right)
    elif kind == "refusal":
        answer = REFUSALS[(index // 3) % len(REFUSALS)]
    else:
        # Cut before the value: the sentence never says what was asked.
        answer = fact.template.split("{}")[0].rstrip()
    return CalibrationItem(f"{prefix}-d", fact.question, answer, "bad", kind)


def render(items: list[CalibrationItem]) -> str:
    lines = [HEADER.rstrip("\n")]
    for item in items:
        lines.append(
            json.dumps(
                {
                    "id": item.id,
                    "question": item.question,
                    "answer": item.answer,
                    "expected": item.expected,
                    "construction": item.construction,
                },
                ensure_ascii=False,
            )
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CalibrationSet:
    items: tuple[CalibrationItem, ...]
    # A hash of the file's content: agreement of different versions is never compared.
    version: str


def load_calibration_set(path: Path = SET_FILE) -> CalibrationSet:
    data = path.read_bytes()
    items = []
    for line_no, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            raw = json.loads(line)
            item = CalibrationItem(
                id=str(raw["id"]),
                question=str(raw["question"]),
                answer=str(raw["answer"]),
                expected=str(raw["expected"]),
                construction=str(raw["construction"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{line_no}: not a calibration item ({exc})") from None
        if item.expected not in VERDICTS:
            raise ValueError(f"{path}:{line_no}: expected must be good or bad")
        items.append(item)
    if len({item.id for item in items}) != len(items):
        raise ValueError(f"{path}: duplicate item ids")
    return CalibrationSet(tuple(items), hashlib.sha256(data).hexdigest()[:16])


if __name__ == "__main__":
    SET_FILE.parent.mkdir(parents=True, exist_ok=True)
    SET_FILE.write_text(render(build_items()), encoding="utf-8")
    print(f"wrote {len(build_items())} items to {SET_FILE}")
