"""Production traffic as columns: sessions, requests, tokens, latency, errors, quality.

Everything is drawn with numpy from one seeded generator, whole columns at a time, so a
million requests take seconds and the same seed gives the same traffic. The scenario's
incidents bend the columns inside their windows; ``text.py`` turns the columns into
prompts and answers, ``signals.py`` into user signals, ``writer.py`` into JSONL files.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llmwatch.simulator.catalogue import DEFAULT_CATALOGUE, Catalogue, ModelVersion
from llmwatch.simulator.features import DEFAULT_FEATURES, SEGMENT_MIX, FeatureProfile
from llmwatch.simulator.load import session_start_times
from llmwatch.simulator.scenario import Incident, Scenario, as_utc
from llmwatch.simulator.vocabulary import FEATURE_TOPICS, SHIFT_SEGMENT, TOPIC_INDEX

if TYPE_CHECKING:
    from llmwatch.simulator.text import TextPlan

STOP, LENGTH, REFUSAL, ERROR = 0, 1, 2, 3
# What a failed call leaves in the log, by kind; bursts are server-side failures.
ERROR_MESSAGES = (
    "RateLimitError: Error code: 429 - rate_limit_exceeded",
    "InternalServerError: Error code: 500 - server_error",
    "APITimeoutError: Request timed out.",
    "ServiceUnavailableError: Error code: 503 - engine overloaded",
)
STREAMING_FEATURES = frozenset({"support_chat", "rag_qa"})
# Share of requests whose cost the application already logged (via its gateway).
COST_REPORTED_SHARE = 0.04
# Prompt-cache read price as a share of the input price.
CACHE_READ_DISCOUNT = {"openai": 0.5, "anthropic": 0.1}
CACHE_WRITE_PREMIUM = 1.25


@dataclass
class Traffic:
    """Generated requests and signals, column-wise. Codes index the ``*_names`` lists."""

    scenario: Scenario
    start: datetime
    end: datetime
    seed: int
    feature_names: list[str]
    model_names: list[str]
    providers: list[str]
    segment_names: list[str]
    # One entry per (model, version) pair, indexed by ``version_code``.
    version_names: list[str]
    fingerprints: list[str]
    columns: dict[str, np.ndarray]
    # Present when the records carry texts; see text.py.
    text_plan: TextPlan | None = None
    signals: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.columns["timestamp_ms"].shape[0])

    def feature_code(self, name: str) -> int:
        return self.feature_names.index(name)

    def model_code(self, name: str) -> int:
        return self.model_names.index(name)


def resolve_scenario(
    scenario: Scenario | str | Path | None, start: datetime | str | None
) -> Scenario:
    if scenario is None:
        resolved = Scenario.empty()
    elif isinstance(scenario, Scenario):
        resolved = scenario
    else:
        resolved = Scenario.load(scenario)
    return resolved.with_start(as_utc(start)) if start is not None else resolved


def generate_traffic(
    scenario: Scenario | str | Path | None = None,
    *,
    start: datetime | str | None = None,
    days: float | None = None,
    requests_per_day: int | None = None,
    seed: int | None = None,
    include_text: bool = True,
    features: tuple[FeatureProfile, ...] = DEFAULT_FEATURES,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> Traffic:
    """Draw ``days`` of traffic from ``start`` (defaults: the scenario's)."""
    from llmwatch.simulator.signals import draw_signals
    from llmwatch.simulator.text import plan_texts

    scenario = resolve_scenario(scenario, start)
    days = scenario.days if days is None else days
    rpd = scenario.requests_per_day if requests_per_day is None else requests_per_day
    seed = scenario.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    origin = scenario.start
    end = origin + timedelta(days=days)
    builder = _Builder(rng, scenario, features, catalogue, origin, end)
    builder.sessions(total_requests=round(rpd * days))
    builder.requests()
    traffic = builder.traffic(seed)
    draw_signals(traffic, rng, scenario)
    if include_text:
        traffic.text_plan = plan_texts(traffic, rng)
    return traffic


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects.

    Its generational passes would otherwise rescan them again and again (about a third of
    the generation time); strings, dicts of scalars and lists of those hold no cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Builder:
    def __init__(
        self,
        rng: np.random.Generator,
        scenario: Scenario,
        features: tuple[FeatureProfile, ...],
        catalogue: Catalogue,
        start: datetime,
        end: datetime,
    ) -> None:
        self.rng = rng
        self.scenario = scenario
        self.features = features
        self.catalogue = catalogue
        self.start = start
        self.end = end
        self.feature_names = [f.name for f in features]
        self.model_names = sorted({m for f in features for m, _ in f.models})
        self.segment_names = [s for s, _ in SEGMENT_MIX] + [SHIFT_SEGMENT]
        # Flattened (model, version) table: version_code = offset[model] + version index.
        self.version_offset: list[int] = []
        self.versions: list[ModelVersion] = []
        for name in self.model_names:
            self.version_offset.append(len(self.versions))
            self.versions.extend(catalogue[name].versions)
        self.s: dict[str, np.ndarray] = {}
        self.c: dict[str, np.ndarray] = {}

    # -- sessions ---------------------------------------------------------------------

    def sessions(self, total_requests: int) -> None:
        rng, f = self.rng, self.features
        weights = np.array([p.share / p.turns_mean for p in f])
        expected_turns = sum(p.share for p in f) / weights.sum()
        count = max(1, round(total_requests / expected_turns))
        s = self.s
        s["start_ms"] = session_start_times(
            rng, self.start, (self.end - self.start) / timedelta(days=1), count
        )
        s["feature"] = rng.choice(len(f), size=count, p=weights / weights.sum())
        s["segment"] = rng.choice(
            len(SEGMENT_MIX), size=count, p=[share for _, share in SEGMENT_MIX]
        )
        s["model"] = np.zeros(count, dtype=np.int64)
        s["topic"] = np.zeros(count, dtype=np.int64)
        s["turns"] = np.ones(count, dtype=np.int64)
        for code, profile in enumerate(f):
            mine = s["feature"] == code
            n = int(mine.sum())
            models = [self.model_names.index(m) for m, _ in profile.models]
            shares = np.array([share for _, share in profile.models])
            s["model"][mine] = np.asarray(models)[
                rng.choice(len(models), n, p=shares / shares.sum())
            ]
            s["turns"][mine] = rng.geometric(1.0 / profile.turns_mean, size=n)
            s["topic"][mine] = self._topics(FEATURE_TOPICS[profile.name], n)
        shift_code = self.segment_names.index(SHIFT_SEGMENT)
        for incident in self._incidents("input_shift"):
            inside = self._session_mask(incident) & (rng.random(count) < incident.params["share"])
            s["segment"][inside] = shift_code
        shifted = s["segment"] == shift_code
        s["topic"][shifted] = self._topics(FEATURE_TOPICS[SHIFT_SEGMENT], int(shifted.sum()))

    def _topics(self, pool: tuple[str, ...], n: int) -> np.ndarray:
        # A few topics are asked about much more often than the rest (Zipf-like).
        popularity = 1.0 / np.arange(1, len(pool) + 1) ** 0.8
        picks = self.rng.choice(len(pool), size=n, p=popularity / popularity.sum())
        return np.asarray([TOPIC_INDEX[t] for t in pool])[picks]

    # -- requests ---------------------------------------------------------------------

    def requests(self) -> None:
        rng, s, c = self.rng, self.s, self.c
        turns = s["turns"]
        session = np.repeat(np.arange(turns.size), turns)
        first = np.cumsum(turns) - turns
        turn = np.arange(session.size) - np.repeat(first, turns)
        gaps = np.where(turn > 0, 15_000 + rng.exponential(45_000, session.size), 0.0)
        elapsed = np.cumsum(gaps)
        elapsed -= np.repeat(elapsed[first], turns)
        timestamp = s["start_ms"][session] + elapsed.astype(np.int64)
        order = np.argsort(timestamp, kind="stable")
        order = order[timestamp[order] < int(self.end.timestamp() * 1000)]
        c["timestamp_ms"] = timestamp[order]
        c["session"] = session[order]
        c["turn"] = turn[order]
        for key in ("feature", "segment", "model", "topic"):
            c[key] = s[key][c["session"]]
        c["last_turn"] = c["turn"] == turns[c["session"]] - 1
        self._versions()
        self._quality()
        self._tokens()
        self._outcomes()
        self._latency()
        self._caching_and_cost()

    def _versions(self) -> None:
        c = self.c
        c["version"] = np.asarray(self.version_offset)[c["model"]]
        for incident in sorted(self._incidents("silent_model_change"), key=lambda i: i.start):
            assert incident.model is not None
            if incident.model not in self.model_names:
                continue
            model = self.catalogue[incident.model]
            index = [v.version for v in model.versions].index(str(incident.params["to_version"]))
            code = self.model_names.index(incident.model)
            c["version"][self._mask(incident)] = self.version_offset[code] + index

    def _quality(self) -> None:
        c, rng = self.c, self.rng
        n = c["timestamp_ms"].size
        quality = np.asarray([v.quality for v in self.versions])[c["version"]]
        quality = quality + rng.normal(0.0, 0.06, n)
        hallucination = np.asarray([v.hallucination_rate for v in self.versions])[c["version"]]
        c["context_relevant"] = rng.random(n) < 0.93
        for incident in self._incidents("quality_regression"):
            inside = self._mask(incident)
            quality[inside] -= float(incident.params["quality_drop"])
            hallucination = np.where(
                inside, hallucination + float(incident.params["hallucination_rise"]), hallucination
            )
            # A stale index retrieves the wrong documents, too.
            c["context_relevant"][inside] = rng.random(int(inside.sum())) < 0.4
        c["quality"] = np.clip(quality, 0.02, 0.98)
        c["hallucination"] = np.clip(hallucination, 0.0, 0.9)

    def _tokens(self) -> None:
        c, rng, f = self.c, self.rng, self.features
        n = c["timestamp_ms"].size
        feat = c["feature"]

        def per_feature(attr: str) -> np.ndarray:
            return np.asarray([float(getattr(p, attr)) for p in f])[feat]

        verbosity = np.asarray(
            [v.answer_sentences / self._default_sentences(i) for i, v in enumerate(self.versions)]
        )[c["version"]]
        history = np.where(feat == self.feature_names.index("support_chat"), 0.25 * c["turn"], 0)
        code_heavy = np.where(c["segment"] == self.segment_names.index(SHIFT_SEGMENT), 1.8, 1.0)
        inputs = rng.lognormal(
            np.log(per_feature("input_tokens_median")), per_feature("input_tokens_sigma")
        )
        inputs *= (1.0 + history) * code_heavy
        outputs = rng.lognormal(
            np.log(per_feature("output_tokens_median") * verbosity),
            per_feature("output_tokens_sigma"),
        )
        for incident in self._incidents("cost_spike", "token_spike"):
            inside = self._mask(incident)
            outputs[inside] *= float(incident.params["factor"])
            inputs[inside] *= float(incident.params["input_factor"])
        max_out = per_feature("max_output_tokens")
        c["length_hit"] = outputs >= max_out
        c["output_tokens"] = np.minimum(np.rint(outputs), max_out).astype(np.int64)
        c["input_tokens"] = np.maximum(1, np.rint(inputs)).astype(np.int64)
        c["u_outcome"] = rng.random(n)

    def _default_sentences(self, version_code: int) -> float:
        offset = max(o for o in self.version_offset if o <= version_code)
        return self.versions[offset].answer_sentences

    def _outcomes(self) -> None:
        c, rng = self.c, self.rng
        n = c["timestamp_ms"].size
        error_rate = np.asarray([p.error_rate for p in self.features])[c["feature"]]
        error_kind = rng.choice(len(ERROR_MESSAGES), n, p=[0.4, 0.3, 0.2, 0.1])
        for incident in self._incidents("error_burst"):
            inside = self._mask(incident)
            error_rate = np.where(inside, float(incident.params["rate"]), error_rate)
            error_kind[inside] = rng.choice([1, 3], int(inside.sum()))
        is_error = c["u_outcome"] < error_rate
        over_refusal = np.asarray([v.over_refusal for v in self.versions])[c["version"]]
        refusal_rate = np.asarray([p.refusal_rate for p in self.features])[c["feature"]]
        is_refusal = ~is_error & (rng.random(n) < refusal_rate + over_refusal)
        finish = np.full(n, STOP, dtype=np.int8)
        finish[c["length_hit"]] = LENGTH
        finish[is_refusal] = REFUSAL
        finish[is_error] = ERROR
        c["finish"] = finish
        c["error_kind"] = np.where(is_error, error_kind, -1)
        c["output_tokens"] = np.where(
            is_refusal, rng.integers(10, 22, n), np.where(is_error, 0, c["output_tokens"])
        )

    def _latency(self) -> None:
        c, rng = self.c, self.rng
        n = c["timestamp_ms"].size
        v = c["version"]
        ttft_ms = np.asarray([x.ttft_ms for x in self.versions])[v]
        sigma = np.asarray([x.latency_sigma for x in self.versions])[v]
        per_token = np.asarray([x.ms_per_token for x in self.versions])[v]
        ttft = ttft_ms * rng.lognormal(0.0, sigma) * (1.0 + c["input_tokens"] / 6000.0)
        latency = ttft + c["output_tokens"] * per_token * rng.lognormal(0.0, 0.12, n)
        for incident in self._incidents("latency_slo_breach"):
            factor = np.where(self._mask(incident), float(incident.params["factor"]), 1.0)
            ttft, latency = ttft * factor, latency * factor
        error_latency = np.choose(
            np.clip(c["error_kind"], 0, 3),
            [
                rng.uniform(80, 300, n),
                rng.uniform(200, 2000, n),
                rng.uniform(30_000, 60_000, n),
                rng.uniform(100, 800, n),
            ],
        )
        is_error = c["finish"] == ERROR
        c["latency_ms"] = np.round(np.where(is_error, error_latency, latency), 1)
        streaming = np.isin(
            c["feature"],
            [self.feature_names.index(f) for f in STREAMING_FEATURES if f in self.feature_names],
        )
        c["ttft_ms"] = np.where(streaming & ~is_error, np.round(ttft, 1), np.nan)

    def _caching_and_cost(self) -> None:
        c, rng = self.c, self.rng
        n = c["timestamp_ms"].size
        provider = np.asarray(
            [self.catalogue[m].provider == "anthropic" for m in self.model_names]
        )[c["model"]]
        u = rng.random(n)
        share = rng.uniform(0.4, 0.9, n)
        inputs = c["input_tokens"]
        cache_read = np.where(provider, u < 0.25, u < 0.45) & (inputs >= 1024)
        cached = np.where(cache_read, (inputs * share // 128) * 128, 0).astype(np.int64)
        cache_write = provider & (u >= 0.25) & (u < 0.3) & (inputs >= 1024)
        written = np.where(cache_write, inputs // 2, 0).astype(np.int64)
        c["cached_input_tokens"] = cached
        c["cache_write_tokens"] = written

        price_in = np.asarray([self.catalogue[m].input_price_mtok for m in self.model_names])[
            c["model"]
        ]
        price_out = np.asarray([self.catalogue[m].output_price_mtok for m in self.model_names])[
            c["model"]
        ]
        discount = np.where(
            provider, CACHE_READ_DISCOUNT["anthropic"], CACHE_READ_DISCOUNT["openai"]
        )
        uncached = inputs - cached - written
        cost = (
            uncached * price_in
            + cached * price_in * discount
            + written * price_in * CACHE_WRITE_PREMIUM
            + c["output_tokens"] * price_out
        ) / 1e6
        reported = (rng.random(n) < COST_REPORTED_SHARE) & (c["finish"] != ERROR)
        c["cost_usd"] = np.where(reported, np.round(cost, 8), np.nan)

    # -- helpers ----------------------------------------------------------------------

    def _incidents(self, *kinds: str) -> list[Incident]:
        return [i for i in self.scenario.incidents if i.kind in kinds]

    def _window(self, incident: Incident, times: np.ndarray) -> np.ndarray:
        start = int(incident.start.timestamp() * 1000)
        end = int(incident.end.timestamp() * 1000) if incident.end else np.iinfo(np.int64).max
        return (times >= start) & (times < end)

    def _scope(self, incident: Incident, feature: np.ndarray, model: np.ndarray) -> np.ndarray:
        mask = np.ones(feature.size, dtype=bool)
        if incident.feature is not None:
            code = (
                self.feature_names.index(incident.feature)
                if incident.feature in self.feature_names
                else -1
            )
            mask &= feature == code
        if incident.model is not None:
            code = (
                self.model_names.index(incident.model) if incident.model in self.model_names else -1
            )
            mask &= model == code
        return mask

    def _mask(self, incident: Incident) -> np.ndarray:
        c = self.c
        return self._window(incident, c["timestamp_ms"]) & self._scope(
            incident, c["feature"], c["model"]
        )

    def _session_mask(self, incident: Incident) -> np.ndarray:
        s = self.s
        return self._window(incident, s["start_ms"]) & self._scope(
            incident, s["feature"], s["model"]
        )

    def traffic(self, seed: int) -> Traffic:
        return Traffic(
            scenario=self.scenario,
            start=self.start,
            end=self.end,
            seed=seed,
            feature_names=self.feature_names,
            model_names=self.model_names,
            providers=[self.catalogue[m].provider for m in self.model_names],
            segment_names=self.segment_names,
            version_names=[v.version for v in self.versions],
            fingerprints=[
                v.fingerprint(self.model_names[self._model_of(i)])
                for i, v in enumerate(self.versions)
            ],
            columns=self.c,
        )

    def _model_of(self, version_code: int) -> int:
        return max(i for i, o in enumerate(self.version_offset) if o <= version_code)
