"""Small tasks the simulated models can actually solve: arithmetic, unit conversion,
capitals, sentiment, simple instruction following and field extraction.

This is what golden sets and canary probes ask, so their pass rates mean something:
a version answers correctly with its ``skill_accuracy``, otherwise makes a plausible
mistake, and with its ``chattiness`` wraps the answer in prose despite being told not
to - the kind of change a silent provider update brings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Solution:
    answer: str
    wrong: str

    def reply(self, *, correct: bool, chatty: bool) -> str:
        text = self.answer if correct else self.wrong
        return f"Sure! The answer is {text}." if chatty else text


_NUMBER = r"(-?\d+(?:[.,]\d+)?)"
_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "plus": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "minus": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "x": lambda a, b: a * b,
    "×": lambda a, b: a * b,
    "times": lambda a, b: a * b,
    "multiplied by": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else float("nan"),
    "divided by": lambda a, b: a / b if b else float("nan"),
}
_ARITHMETIC = re.compile(
    rf"{_NUMBER}\s*({'|'.join(re.escape(op) for op in sorted(_OPERATORS, key=len, reverse=True))})"
    rf"\s*{_NUMBER}",
    re.IGNORECASE,
)
_WORD_PROBLEM = re.compile(r"holds (\d+)\b.*?\bin (\d+)\b", re.IGNORECASE)
_CONVERSION = re.compile(
    rf"convert {_NUMBER} (?:degrees )?([a-z ]+?) (?:in)?to (?:degrees )?([a-z. ]+?)[.?]",
    re.IGNORECASE,
)
_UNITS: dict[tuple[str, str], Callable[[float], float]] = {
    ("kilometre", "mile"): lambda v: v / 1.609344,
    ("mile", "kilometre"): lambda v: v * 1.609344,
    ("kilogram", "pound"): lambda v: v / 0.45359237,
    ("pound", "kilogram"): lambda v: v * 0.45359237,
    ("foot", "metre"): lambda v: v * 0.3048,
    ("metre", "foot"): lambda v: v / 0.3048,
    ("inch", "centimetre"): lambda v: v * 2.54,
    ("centimetre", "inch"): lambda v: v / 2.54,
    ("litre", "us gallon"): lambda v: v / 3.785411784,
    ("us gallon", "litre"): lambda v: v * 3.785411784,
    ("celsius", "fahrenheit"): lambda v: v * 9 / 5 + 32,
    ("fahrenheit", "celsius"): lambda v: (v - 32) * 5 / 9,
}
_UNIT_NAMES = {
    "km": "kilometre",
    "kilometer": "kilometre",
    "meter": "metre",
    "feet": "foot",
    "inches": "inch",
    "centimeter": "centimetre",
    "liter": "litre",
    "gallon": "us gallon",
    "kg": "kilogram",
    "lb": "pound",
}
CAPITALS = {
    "argentina": "Buenos Aires", "australia": "Canberra", "austria": "Vienna",
    "belgium": "Brussels", "brazil": "Brasília", "canada": "Ottawa", "chile": "Santiago",
    "china": "Beijing", "colombia": "Bogotá", "czech republic": "Prague", "denmark": "Copenhagen",
    "egypt": "Cairo", "finland": "Helsinki", "france": "Paris", "germany": "Berlin",
    "greece": "Athens", "hungary": "Budapest", "india": "New Delhi", "indonesia": "Jakarta",
    "ireland": "Dublin", "italy": "Rome", "japan": "Tokyo", "kenya": "Nairobi",
    "mexico": "Mexico City", "morocco": "Rabat", "netherlands": "Amsterdam",
    "new zealand": "Wellington", "nigeria": "Abuja", "norway": "Oslo", "pakistan": "Islamabad",
    "peru": "Lima", "poland": "Warsaw", "portugal": "Lisbon", "south africa": "Pretoria",
    "south korea": "Seoul", "spain": "Madrid", "sweden": "Stockholm", "switzerland": "Bern",
    "thailand": "Bangkok", "turkey": "Ankara", "united kingdom": "London",
    "united states": "Washington, D.C.", "vietnam": "Hanoi",
}  # fmt: skip
# The classic mistake: the biggest or best-known city instead of the capital.
_CAPITAL_MISTAKES = {
    "australia": "Sydney", "brazil": "Rio de Janeiro", "canada": "Toronto",
    "india": "Mumbai", "morocco": "Casablanca", "new zealand": "Auckland", "nigeria": "Lagos",
    "pakistan": "Karachi", "switzerland": "Zurich", "turkey": "Istanbul",
    "vietnam": "Ho Chi Minh City", "south africa": "Cape Town", "united states": "New York",
}  # fmt: skip


def _words(text: str) -> list[str]:
    return text.split()


_POSITIVE = frozenset(
    _words(
        "love loved great fantastic excellent best amazing friendly happy wonderful perfect "
        "perfectly brilliant stunning spotless joy beautifully fast quick early solved fixed "
        "unforgettable recommend delicious value"
    )
)
_NEGATIVE = frozenset(
    _words(
        "hate terrible awful worst broken rude dirty slow slower cold useless disappointing "
        "disappointed boring crashes cracked wrong regret overpriced loud never refused "
        "late dies poor bad"
    )
)
_FACTS: tuple[tuple[str, str, str], ...] = (
    (r"water boil", "100", "90"),
    (r"chemical symbol for gold", "Au", "Ag"),
    (r"chemical symbol for silver", "Ag", "Au"),
    (r"opposite of 'cold'", "Hot", "Warm"),
    (r"opposite of 'hot'", "Cold", "Cool"),
    (r"day after friday", "Saturday", "Sunday"),
    (r"day after monday", "Tuesday", "Wednesday"),
    (r"mammal that can fly", "Bat", "Bird"),
    (r"is water wet", "yes", "no"),
    (r"primary colours", "red, blue, yellow", "red, green, blue"),
    (r"colour is the sky", "Blue.", "Light blue, mostly, with some clouds."),
    (r"'good morning' into spanish", "Buenos días", "Buenas noches"),
    (r"'thank you' into french", "Merci", "Danke"),
    (r"'thank you' into german", "Danke", "Merci"),
    (r"describing the sea", "The sea is vast and blue.", "Waves."),
    (r"three fruits as a bulleted list", "- apple\n- banana\n- cherry", "apple, banana, cherry"),
    (r"canary release", "A canary release sends a small share of traffic to a new version.",
     "A canary release is when you release a bird."),
)  # fmt: skip
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        )
    )
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        _words(
            "january february march april may june july august september october november december"
        )
    )
}
_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        _words("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth")
    )
}


# Longer prompts are conversations or documents, not the short tasks solved here.
MAX_TASK_CHARS = 400
_QUESTION_CUE = re.compile(r"\b(what is|what's|calculate|compute|how much is|how many)\b", re.I)


def solve(prompt: str, system: str = "") -> Solution | None:
    """The correct reply to ``prompt`` (and a plausible wrong one), if it is a known task."""
    if len(prompt) > MAX_TASK_CHARS:
        return None
    for solver in _SOLVERS:
        solution = solver(prompt, system)
        if solution is not None:
            return solution
    return None


def _format_number(value: float, decimals: int | None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _arithmetic(prompt: str, system: str) -> Solution | None:
    if not _QUESTION_CUE.search(prompt):
        return None
    problem = _WORD_PROBLEM.search(prompt)
    if problem:
        value = float(problem.group(1)) * float(problem.group(2))
    else:
        match = _ARITHMETIC.search(prompt)
        if not match or "convert" in prompt.lower():
            return None
        a, b = (float(g.replace(",", "")) for g in (match.group(1), match.group(3)))
        value = _OPERATORS[match.group(2).lower()](a, b)
        if value != value:
            return None
    return Solution(_format_number(value, None), _format_number(value + 1, None))


def _unit(name: str) -> str:
    name = name.strip().lower().removesuffix(".")
    name = _UNIT_NAMES.get(name, name)
    singular = name[:-1] if name.endswith("s") and name[:-1] in {u for u, _ in _UNITS} else name
    return _UNIT_NAMES.get(singular, singular)


def _conversion(prompt: str, system: str) -> Solution | None:
    match = _CONVERSION.search(prompt + ".")
    if not match:
        return None
    convert = _UNITS.get((_unit(match.group(2)), _unit(match.group(3))))
    if convert is None:
        return None
    value = convert(float(match.group(1).replace(",", ".")))
    # The mistake is the inverse conversion, a common slip.
    return Solution(_format_number(value, 2), _format_number(value * 1.1 + 0.5, 2))


def _capital(prompt: str, system: str) -> Solution | None:
    match = re.search(r"capital of ([A-Za-z .'-]+?)\s*\?", prompt)
    if not match:
        return None
    country = match.group(1).strip().lower().removeprefix("the ")
    capital = CAPITALS.get(country)
    if capital is None:
        return None
    wrong = _CAPITAL_MISTAKES.get(country) or CAPITALS["france" if country != "france" else "spain"]
    return Solution(capital, wrong)


def _sentiment(prompt: str, system: str) -> Solution | None:
    if "sentiment" not in (system + prompt).lower():
        return None
    words = re.findall(r"[a-z]+", prompt.lower())
    score = sum(w in _POSITIVE for w in words) - sum(w in _NEGATIVE for w in words)
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    wrong = {"positive": "neutral", "negative": "neutral", "neutral": "positive"}[label]
    return Solution(label, wrong)


def _instruction(prompt: str, system: str) -> Solution | None:
    lowered = prompt.lower()
    quoted = re.search(r"'([^']+)'", prompt)
    answer = _quoted_word_task(lowered, quoted.group(1)) if quoted else ""
    rules: list[tuple[bool, Callable[[], str]]] = [
        ("hexadecimal" in lowered, lambda: _hex(prompt)),
        ("roman numeral" in lowered, lambda: _roman(prompt)),
        ("in digits" in lowered, lambda: _digits(lowered)),
        ("iso 8601 date" in lowered, lambda: _iso_date(lowered)),
        ("sorted ascending" in lowered, lambda: _sorted_list(prompt)),
        ("even positive integers" in lowered, lambda: _evens(lowered)),
        ("letters of the english alphabet" in lowered, lambda: _alphabet(lowered)),
        ("repeat exactly this text" in lowered, lambda: prompt.split(":", 1)[-1].strip()),
        (bool(re.search(r"reply with the (single )?word \w+", lowered)), lambda: _the_word(prompt)),
    ]
    for applies, rule in rules:
        if answer:
            break
        if applies:
            answer = rule()
    if answer:
        return Solution(answer, _mistake(answer))
    for pattern, right, wrong in _FACTS:
        if re.search(pattern, lowered):
            return Solution(right, wrong)
    return None


def _mistake(answer: str) -> str:
    """A plausible wrong version of an instruction-following answer."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", answer):
        year, month, day = answer.split("-")
        return (
            f"{year}-{day}-{month}" if day != month else f"{year}-{month}-{int(day) % 28 + 1:02d}"
        )
    if answer.startswith("["):
        return json.dumps(list(reversed(json.loads(answer))))
    swapped = answer.swapcase()
    return swapped if swapped != answer else answer + "0"


def _quoted_word_task(lowered: str, word: str) -> str:
    """Tasks on a quoted word: reverse it, spell it, upper-case it, count its vowels..."""
    if "backwards" in lowered:
        return word[::-1]
    if "upper case" in lowered and "hyphen" in lowered:
        return "-".join(word.upper())
    if "upper case" in lowered:
        return word.upper()
    if "count the vowels" in lowered:
        return str(sum(ch in "aeiou" for ch in word.lower()))
    if "wrapped in square brackets" in lowered:
        return f"[{word}]"
    return ""


def _hex(prompt: str) -> str:
    match = re.search(r"\d+", prompt)
    return format(int(match.group(0)), "x") if match else ""


def _roman(prompt: str) -> str:
    match = re.search(r"\d+", prompt)
    if not match:
        return ""
    value, parts = int(match.group(0)), []
    for number, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        count, value = divmod(value, number)
        parts.append(numeral * count)
    return "".join(parts)


def _digits(lowered: str) -> str:
    for word, value in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            return str(value)
    return ""


def _iso_date(lowered: str) -> str:
    day = next((v for w, v in _ORDINALS.items() if re.search(rf"\b{w}\b", lowered)), None)
    month = next((v for w, v in _MONTHS.items() if w in lowered), None)
    years = [y for y in re.findall(r"\b(\d{4})\b", lowered) if y != "8601"]
    if day is None or month is None or not years:
        return ""
    return f"{years[-1]}-{month:02d}-{day:02d}"


def _sorted_list(prompt: str) -> str:
    match = re.search(r"\[([^\]]*)\]", prompt)
    if not match:
        return ""
    values = sorted(json.loads(f"[{match.group(1)}]"))
    return json.dumps(values)


def _evens(lowered: str) -> str:
    count = next((v for w, v in _NUMBER_WORDS.items() if re.search(rf"\b{w}\b", lowered)), 3)
    return ", ".join(str(2 * (i + 1)) for i in range(count))


def _alphabet(lowered: str) -> str:
    count = next((v for w, v in _NUMBER_WORDS.items() if re.search(rf"\b{w}\b", lowered)), 3)
    return "abcdefghijklmnopqrstuvwxyz"[:count]


def _the_word(prompt: str) -> str:
    match = re.search(r"word (\w+)", prompt, re.IGNORECASE)
    return match.group(1) if match else ""


_RECORD_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        re.compile(r"\b([A-Z][a-z]+) is (\d+) years old and lives in ([A-Z][\w ]+?)[.,]"),
        ("name", "age", "city"),
    ),
    (
        re.compile(r"(\d+) x ([a-z][\w ]*?) at ([\d.]+) ([A-Z]{3}) each, total ([\d.]+)"),
        ("quantity", "item", "unit_price", "currency", "total"),
    ),
)


def _record_fields(prompt: str, system: str) -> Solution | None:
    """A JSON object of the asked keys, read from a short structured sentence."""
    if "json" not in (prompt + system).lower():
        return None
    keys = re.findall(r'"(\w+)"', prompt)
    for pattern, names in _RECORD_PATTERNS:
        match = pattern.search(prompt)
        if not match:
            continue
        values = {name: _typed(value) for name, value in zip(names, match.groups(), strict=True)}
        if not keys or not set(keys) <= set(values):
            continue
        answer = {k: values[k] for k in keys}
        wrong = dict(answer)
        for key, value in answer.items():
            if isinstance(value, int | float):
                wrong[key] = value + 1
                break
        return Solution(json.dumps(answer), json.dumps(wrong))
    return None


def _typed(value: str) -> object:
    if re.fullmatch(r"\d+", value):
        return int(value)
    if re.fullmatch(r"\d+\.\d+", value):
        return float(value)
    return value


_SOLVERS: tuple[Callable[[str, str], Solution | None], ...] = (
    _record_fields,
    _conversion,
    _capital,
    _sentiment,
    _instruction,
    _arithmetic,
)
