"""Words and sentence templates from which prompts, contexts and answers are composed.

Answer sentences come in three classes - grounded, vague and fabricated - each with its
own openers. That is the hidden quality signal: the simulated judge recognises the class
of every sentence from its opener (see ``quality.py``), so the score of an answer follows
the quality of the model version (or of the incident) that produced it.

Templates are expanded once into tables of ready sentences, so that composing a text is
a few list lookups - this is what lets the traffic generator write a million records fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

GROUNDED, VAGUE, FABRICATED = 0, 1, 2
SENTENCE_CLASSES = (GROUNDED, VAGUE, FABRICATED)

FEATURES = ("support_chat", "rag_qa", "extraction")
SEGMENTS = ("consumer", "business", "enterprise")
# The segment that arrives with the input_shift incident: different words, longer prompts.
SHIFT_SEGMENT = "developer_beta"

FEATURE_TOPICS: dict[str, tuple[str, ...]] = {
    "support_chat": (
        "billing",
        "refund",
        "password reset",
        "two-factor login",
        "shipping delay",
        "subscription upgrade",
        "invoice copy",
        "account deletion",
        "data export",
        "plan cancellation",
        "payment method",
        "team invitations",
        "email notifications",
        "mobile app sync",
    ),
    "rag_qa": (
        "parental leave",
        "expense policy",
        "remote work",
        "security training",
        "travel booking",
        "performance review",
        "laptop replacement",
        "vacation carry-over",
        "on-call compensation",
        "data retention",
        "conference budget",
        "relocation support",
    ),
    "extraction": ("invoice", "purchase order", "shipping notice", "receipt", "service contract"),
    SHIFT_SEGMENT: (
        "API rate limits",
        "webhook retries",
        "OAuth scopes",
        "SDK timeouts",
        "pagination cursors",
        "idempotency keys",
        "sandbox credentials",
        "batch endpoint",
    ),
}
# One flat list so that a topic has one index wherever it is used.
ALL_TOPICS: tuple[str, ...] = tuple(t for topics in FEATURE_TOPICS.values() for t in topics)
TOPIC_INDEX = {topic: i for i, topic in enumerate(ALL_TOPICS)}

QUESTION_TEMPLATES: dict[str, tuple[str, ...]] = {
    "consumer": (
        "hi, how do I sort out my {topic}?",
        "my {topic} is not working since {day}, what should I do",
        "can you help me with {topic} please",
        "why is my {topic} so confusing?? tried twice already",
        "quick question about {topic} on my phone",
        "is there a way to fix {topic} without calling anyone",
    ),
    "business": (
        "Could you explain how {topic} works for our team account?",
        "We need guidance on {topic} for {n} users in our workspace.",
        "What is the recommended process for {topic} on the {plan} plan?",
        "Our finance team asked about {topic}; where can we find the details?",
        "Please outline the steps for {topic} for an admin.",
    ),
    "enterprise": (
        "Per our enterprise agreement, what is the process for {topic} across workspaces?",
        "Our compliance office requires documentation of {topic}; please advise.",
        "For {n} regional subsidiaries, how should {topic} be configured centrally?",
        "What controls exist around {topic} for audited accounts under SSO?",
    ),
    SHIFT_SEGMENT: (
        "Calling POST /v2/{slug} returns 429 while handling {topic}; what is the retry strategy? "
        "```python\nresp = client.post('/v2/{slug}', json=payload, timeout=30)\n```",
        "How do {topic} interact with the async SDK? Stack trace: "
        "TimeoutError at sdk/transport.py line {n} in send_request",
        "Is there an OpenAPI spec describing {topic} for the {slug} resource? "
        "We generate clients with openapi-generator v{n}.",
        "Our CI integration hits {topic} issues on the sandbox; curl -H 'Authorization: Bearer "
        "sk_test_...' https://api.example.com/v2/{slug} gives HTTP 401.",
    ),
}

RAG_QUESTION_TEMPLATES: tuple[str, ...] = (
    "What does the handbook say about {topic}?",
    "How many days are allowed for {topic} according to policy?",
    "Who approves {topic} requests in my department?",
    "Is {topic} different for contractors?",
    "Summarise the rules on {topic} for a new hire.",
)

ANSWER_TEMPLATES: dict[int, tuple[str, ...]] = {
    GROUNDED: (
        "To handle {topic}, open Settings > {section} and choose {action}.",
        "According to the {doc} section on {topic}, changes take effect within {n} hours.",
        "Specifically, {topic} requests are processed by the {team} team within {n} business days.",
        "Step {n}: confirm the {topic} details on the {section} page before saving.",
        "Per the {doc}, {topic} is available on every {plan} plan at no extra charge.",
        "In the {section} screen, the {topic} option shows the current status and history.",
    ),
    VAGUE: (
        "Generally, {topic} can depend on a number of different factors.",
        "It depends on your situation, but {topic} is usually manageable.",
        "In many cases, {topic} sorts itself out after a while.",
        "You might want to look into {topic} options that could suit you.",
        "Perhaps try checking {topic} again at some later point.",
        "There are several ways to think about {topic}, each with trade-offs.",
    ),
    FABRICATED: (
        "As confirmed by the {year} audit, {topic} is guaranteed to be free forever.",
        "Since the {year} regulation change, {topic} requires a notarised letter from {name}.",
        "Our records show that {topic} was already approved by a manager named {name}.",
        "By law, every {topic} request is refunded twice within {n} minutes.",
        "Internal memo {n}-{year} from {name} says {topic} no longer needs any verification.",
    ),
}

REFUSAL_TEXTS: tuple[str, ...] = (
    "I'm sorry, but I can't help with that request.",
    "I can't assist with that. If you have another question, I'm happy to help.",
)

PROMPT_TEMPLATE_IDS: dict[str, str] = {
    "support_chat": "support_chat/v7",
    "rag_qa": "rag_qa/v3",
    "extraction": "extraction/invoice-v2",
}

EXTRACTION_FIELDS = ("document_number", "issue_date", "vendor", "total_amount", "currency")

_SECTIONS = ("Billing", "Security", "Account", "Team", "Notifications", "Integrations", "Privacy")
_ACTIONS = ("Manage", "Edit details", "Request change", "Review history", "Update")
_DOCS = ("Employee Handbook", "Billing FAQ", "Admin Guide", "Travel Policy", "Security Standard")
_TEAMS = ("billing", "trust and safety", "accounts", "HR operations", "finance")
_PLANS = ("Starter", "Team", "Business", "Enterprise")
_NAMES = ("Dana Whitfield", "R. Okonkwo", "J. Marlow", "the regional director")
_VENDORS = ("Northwind Traders", "Globex GmbH", "Initech Ltd", "Umbrella Supplies", "Hooli SARL")
_SLUGS = ("payments", "customers", "events", "exports", "webhooks", "sessions")
_DAYS = ("yesterday", "Monday", "last week", "this morning", "the update")

# How many pre-filled variants of each template per topic; enough for text statistics to
# look continuous, few enough to build the tables in milliseconds.
VARIANTS = 8


def slots(pick: int) -> dict[str, object]:
    return {
        "section": _SECTIONS[pick % len(_SECTIONS)],
        "action": _ACTIONS[(pick // 7) % len(_ACTIONS)],
        "doc": _DOCS[(pick // 3) % len(_DOCS)],
        "team": _TEAMS[(pick // 5) % len(_TEAMS)],
        "plan": _PLANS[(pick // 2) % len(_PLANS)],
        "name": _NAMES[pick % len(_NAMES)],
        "slug": _SLUGS[pick % len(_SLUGS)],
        "day": _DAYS[pick % len(_DAYS)],
        "n": 2 + (pick * 7) % 11,
        "year": 2016 + pick % 8,
    }


@dataclass(frozen=True)
class SentenceTables:
    # answers[class][topic_index] -> ready sentences on that topic
    answers: tuple[tuple[tuple[str, ...], ...], ...]
    # questions[segment_or_rag][topic_index] -> ready questions
    questions: dict[str, tuple[tuple[str, ...], ...]]


def _expand(templates: tuple[str, ...], topic: str) -> tuple[str, ...]:
    return tuple(
        template.format(topic=topic, **slots(variant * 13 + i))
        for i, template in enumerate(templates)
        for variant in range(VARIANTS)
    )


@cache
def tables() -> SentenceTables:
    answers = tuple(
        tuple(_expand(ANSWER_TEMPLATES[cls], topic) for topic in ALL_TOPICS)
        for cls in SENTENCE_CLASSES
    )
    questions = {
        style: tuple(_expand(templates, topic) for topic in ALL_TOPICS)
        for style, templates in {**QUESTION_TEMPLATES, "rag": RAG_QUESTION_TEMPLATES}.items()
    }
    return SentenceTables(answers=answers, questions=questions)


def sentence_openers() -> dict[str, int]:
    """The literal start of every answer template, mapped to its sentence class."""
    openers: dict[str, int] = {}
    for cls, templates in ANSWER_TEMPLATES.items():
        for template in templates:
            openers[template.split("{", 1)[0].strip()] = cls
    return openers


def compose_question(style: str, topic_index: int, pick: int) -> str:
    return _pick(tables().questions[style][topic_index], pick)


def compose_context(topic_index: int, relevant: bool, pick: int) -> tuple[str, list[str]]:
    """Retrieved chunks for a RAG question, and their document ids.

    Irrelevant retrieval returns chunks about another topic, which the judge reports as
    low context relevance.
    """
    rag_topics = FEATURE_TOPICS["rag_qa"]
    chunks: list[str] = []
    doc_ids: list[str] = []
    for k in range(2 + pick % 2):
        if relevant or (k == 0 and pick % 5 == 0):
            topic = ALL_TOPICS[topic_index]
        else:
            topic = rag_topics[(pick + k + 1) % len(rag_topics)]
        doc_id = f"kb-{TOPIC_INDEX[topic]:03d}-{(pick + k) % 9}"
        fact = _pick(tables().answers[GROUNDED][TOPIC_INDEX[topic]], pick + 3 * k)
        chunks.append(f"[{doc_id}] {_DOCS[(pick + k) % len(_DOCS)]} - {topic}: {fact}")
        doc_ids.append(doc_id)
    return "\n".join(chunks), doc_ids


def extraction_document(topic_index: int, pick: int) -> tuple[str, dict[str, object]]:
    """A short business document and the true values of its fields."""
    kind = ALL_TOPICS[topic_index]
    values: dict[str, object] = {
        "document_number": f"{kind[:2].upper()}-{10000 + (pick * 7919) % 90000}",
        "issue_date": f"2025-{1 + pick % 12:02d}-{1 + (pick // 12) % 28:02d}",
        "vendor": _VENDORS[pick % len(_VENDORS)],
        "total_amount": round(20 + (pick * 37) % 5000 + (pick % 100) / 100, 2),
        "currency": ("EUR", "USD", "GBP")[pick % 3],
    }
    lines = [
        f"{kind.upper()} {values['document_number']}",
        f"Issued by: {values['vendor']}",
        f"Date: {values['issue_date']}",
        f"Items: {1 + pick % 6} x services, ref {pick % 977}",
        f"Total due: {values['total_amount']} {values['currency']}",
    ]
    return "\n".join(lines), values


def _pick(options: tuple[str, ...], pick: int) -> str:
    return options[pick % len(options)]
