"""The simulated models: names, versions and how each version behaves.

A model keeps its name across versions, as providers do; only ``system_fingerprint``
and the behaviour change. The model ids are real ones, so the price database knows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from llmwatch.simulator.hashing import stable_hex


@dataclass(frozen=True)
class ModelVersion:
    version: str
    # Share of answer sentences that are grounded and specific (the rest are vague or made up).
    quality: float = 0.8
    # Share of answer sentences that assert something fabricated.
    hallucination_rate: float = 0.03
    # Probability that a JSON-mode answer is exactly a JSON object with the asked keys.
    json_compliance: float = 0.97
    # Probability of refusing a clearly unsafe request, and of refusing a benign one.
    refuses_unsafe: float = 0.97
    over_refusal: float = 0.01
    # Probability of solving a small task (arithmetic, capitals...) correctly, and of
    # wrapping the answer in prose although told to answer with the value only.
    skill_accuracy: float = 0.95
    chattiness: float = 0.02
    # Mean number of sentences in a free-text answer (drives output tokens).
    answer_sentences: float = 4.0
    # Latency: log-normal time to first token, then a fixed time per output token.
    ttft_ms: float = 350.0
    ms_per_token: float = 10.0
    latency_sigma: float = 0.35

    def fingerprint(self, model: str) -> str:
        return "fp_" + stable_hex(model, self.version)


@dataclass(frozen=True)
class SimModel:
    name: str
    provider: str
    versions: tuple[ModelVersion, ...]
    kind: str = "chat"
    # USD per million tokens, used only for the few records that carry their own cost.
    input_price_mtok: float = 0.0
    output_price_mtok: float = 0.0
    embedding_dimensions: int = 1536
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def default_version(self) -> ModelVersion:
        return self.versions[0]

    def version(self, name: str) -> ModelVersion:
        for candidate in self.versions:
            if candidate.version == name:
                return candidate
        known = ", ".join(v.version for v in self.versions)
        raise KeyError(f"model {self.name} has no version {name!r} (known: {known})")


def _chat(
    name: str, provider: str, prices: tuple[float, float], *versions: ModelVersion
) -> SimModel:
    return SimModel(
        name=name,
        provider=provider,
        versions=versions,
        input_price_mtok=prices[0],
        output_price_mtok=prices[1],
    )


GPT_4O_MINI = "gpt-4o-mini-2024-07-18"
GPT_4O = "gpt-4o-2024-08-06"
CLAUDE_HAIKU = "claude-3-5-haiku-20241022"
EMBEDDING_SMALL = "text-embedding-3-small"

_MINI_V1 = ModelVersion("2024-07-18", quality=0.80, ttft_ms=320, ms_per_token=9)
DEFAULT_MODELS: tuple[SimModel, ...] = (
    _chat(
        GPT_4O_MINI,
        "openai",
        (0.15, 0.60),
        _MINI_V1,
        # The silent update: worse at JSON, refuses less; a little chattier and less grounded,
        # mild enough that live quality metrics barely move - only probes see it clearly.
        replace(
            _MINI_V1,
            version="2024-07-18-r2",
            quality=0.76,
            hallucination_rate=0.05,
            json_compliance=0.55,
            refuses_unsafe=0.35,
            skill_accuracy=0.85,
            chattiness=0.3,
            answer_sentences=4.8,
        ),
    ),
    _chat(
        GPT_4O,
        "openai",
        (2.50, 10.00),
        ModelVersion(
            "2024-08-06",
            quality=0.9,
            hallucination_rate=0.02,
            skill_accuracy=0.97,
            chattiness=0.01,
            ttft_ms=450,
        ),
        ModelVersion(
            "2024-08-06-r2",
            quality=0.72,
            hallucination_rate=0.1,
            json_compliance=0.9,
            skill_accuracy=0.88,
            chattiness=0.05,
            ttft_ms=450,
        ),
    ),
    _chat(
        CLAUDE_HAIKU,
        "anthropic",
        (0.80, 4.00),
        ModelVersion("20241022", quality=0.84, ttft_ms=380, ms_per_token=11, answer_sentences=4.5),
        ModelVersion(
            "20241022-r2",
            quality=0.84,
            over_refusal=0.2,
            chattiness=0.12,
            ttft_ms=380,
            answer_sentences=3.0,
        ),
    ),
    SimModel(
        name=EMBEDDING_SMALL,
        provider="openai",
        kind="embedding",
        versions=(ModelVersion("1", ttft_ms=40, ms_per_token=0.0, latency_sigma=0.2),),
        input_price_mtok=0.02,
    ),
)


class Catalogue:
    """Lookup of simulated models by name or alias."""

    def __init__(self, models: tuple[SimModel, ...] = DEFAULT_MODELS) -> None:
        self.models = models
        self._by_name: dict[str, SimModel] = {}
        for model in models:
            for key in (model.name, *model.aliases):
                self._by_name[key] = model

    def get(self, name: str) -> SimModel | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> SimModel:
        model = self.get(name)
        if model is None:
            raise KeyError(f"unknown simulated model {name!r}")
        return model

    def chat_models(self) -> list[SimModel]:
        return [m for m in self.models if m.kind == "chat"]


DEFAULT_CATALOGUE = Catalogue()
