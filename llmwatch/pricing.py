"""Request cost from token usage: genai-prices, with local overrides from the settings.

A genai-prices lookup costs about 70 µs, so a model's price is resolved once and turned
into linear coefficients per token kind; a batch is then priced with numpy. The
coefficients are read off genai-prices itself (by pricing unit usages), so the result
matches its own calculation, including how it splits cached from uncached input.
Tiered prices (the whole request's rate depends on its input size) are not linear and
are priced row by row with genai-prices' own ``ModelPrice.calc_price``: exact, slower.

Token convention (SPEC 3.1, and genai-prices'): ``input_tokens`` counts every prompt
token, cached reads and cache writes included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from genai_prices import Usage, data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

from llmwatch.settings import PriceOverride

_PROBE = 1_000_000  # tokens per probe; a round number keeps the coefficients exact


@dataclass(frozen=True)
class LinearPrice:
    """USD per request and per token of each usage kind, on the SPEC token convention."""

    per_request: float
    input: float  # every input token
    cache_read: float  # added per cached input token (usually negative: a discount)
    cache_write: float  # added per cache-write token
    output: float
    source: str

    def cost(
        self,
        input_tokens: np.ndarray,
        cached: np.ndarray,
        cache_write: np.ndarray,
        output: np.ndarray,
    ) -> np.ndarray:
        return (
            self.per_request
            + input_tokens * self.input
            + cached * self.cache_read
            + cache_write * self.cache_write
            + output * self.output
        )


def linear_from_override(override: PriceOverride) -> LinearPrice:
    per_token = 1 / 1_000_000
    read = override.cache_read_mtok if override.cache_read_mtok is not None else override.input_mtok
    write = (
        override.cache_write_mtok if override.cache_write_mtok is not None else override.input_mtok
    )
    return LinearPrice(
        per_request=0.0,
        input=override.input_mtok * per_token,
        cache_read=(read - override.input_mtok) * per_token,
        cache_write=(write - override.input_mtok) * per_token,
        output=override.output_mtok * per_token,
        source="override",
    )


def _is_linear(price: ModelPrice) -> bool:
    # Prices of units we never report (web searches, audio...) add zero and keep it linear.
    return not any(isinstance(v, TieredPrices) for v in price.__dict__.values())


def _probe(price: ModelPrice, **usage: int) -> float:
    return float(price.calc_price(Usage(**usage))["total_price"])


def linear_from_model_price(price: ModelPrice) -> LinearPrice:
    fixed = _probe(price)
    base_input = _probe(price, input_tokens=_PROBE)

    def slope(**usage: int) -> float:
        return (_probe(price, input_tokens=_PROBE, **usage) - base_input) / _PROBE

    return LinearPrice(
        per_request=fixed,
        input=(base_input - fixed) / _PROBE,
        cache_read=slope(cache_read_tokens=_PROBE),
        cache_write=slope(cache_write_tokens=_PROBE),
        output=(_probe(price, output_tokens=_PROBE) - fixed) / _PROBE,
        source="genai-prices",
    )


@dataclass
class _Resolved:
    model: ModelInfo
    provider: Provider


class PriceBook:
    """Prices requests; one instance per ingest run caches every model it has seen."""

    def __init__(self, overrides: dict[str, PriceOverride] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._overrides = {k: linear_from_override(v) for k, v in self.overrides.items()}
        self._models: dict[tuple[str | None, str], _Resolved | None] = {}
        self._linear: dict[int, LinearPrice | None] = {}
        self._snapshot = data_snapshot.get_snapshot()

    def _resolve(self, provider: str | None, model_id: str) -> _Resolved | None:
        key = (provider, model_id)
        if key not in self._models:
            self._models[key] = self._lookup(provider, model_id)
        return self._models[key]

    def _lookup(self, provider: str | None, model_id: str) -> _Resolved | None:
        # An unknown provider name (a gateway, "self-hosted") should not hide a known model.
        for provider_id in (provider, None) if provider else (None,):
            try:
                found_provider, model = self._snapshot.find_provider_model(
                    model_id, None, provider_id, None
                )
            except LookupError:
                continue
            return _Resolved(model=model, provider=found_provider)
        return None

    def _linear_for(self, price: ModelPrice) -> LinearPrice | None:
        key = id(price)
        if key not in self._linear:
            self._linear[key] = linear_from_model_price(price) if _is_linear(price) else None
        return self._linear[key]

    def price_batch(
        self,
        provider: Sequence[str | None],
        model_id: Sequence[str],
        ts: Sequence[datetime],
        input_tokens: Sequence[int],
        cached: Sequence[int],
        cache_write: Sequence[int],
        output: Sequence[int],
    ) -> tuple[list[float | None], list[str | None]]:
        """Costs (None where the model has no price) and their sources, row for row."""
        n = len(model_id)
        costs = np.full(n, np.nan)
        sources: list[str | None] = [None] * n
        tokens = [
            np.asarray(a, dtype=np.float64) for a in (input_tokens, cached, cache_write, output)
        ]
        groups: dict[tuple[str | None, str], list[int]] = {}
        for i, key in enumerate(zip(provider, model_id, strict=True)):
            groups.setdefault(key, []).append(i)
        for (prov, model), rows in groups.items():
            self._price_group(prov, model, np.asarray(rows), ts, tokens, costs, sources)
        return [None if np.isnan(c) else float(c) for c in costs], sources

    def _price_group(
        self,
        provider: str | None,
        model_id: str,
        rows: np.ndarray,
        ts: Sequence[datetime],
        tokens: list[np.ndarray],
        costs: np.ndarray,
        sources: list[str | None],
    ) -> None:
        override = self._overrides.get(model_id)
        if override is not None:
            self._apply(override, rows, tokens, costs, sources)
            return
        resolved = self._resolve(provider, model_id)
        if resolved is None:
            return
        # Prices may change with the request date or time of day: group rows by the
        # price in force at their timestamp (usually a single group). Price boundaries
        # fall on whole minutes, so the price is looked up once per minute.
        by_price: dict[int, tuple[ModelPrice, list[int]]] = {}
        if isinstance(resolved.model.prices, ModelPrice):
            by_price[id(resolved.model.prices)] = (resolved.model.prices, list(rows))
        else:
            per_minute: dict[datetime, ModelPrice] = {}
            for i in rows:
                minute = ts[i].replace(second=0, microsecond=0)
                price = per_minute.get(minute)
                if price is None:
                    price = per_minute[minute] = resolved.model.get_prices(minute)
                by_price.setdefault(id(price), (price, []))[1].append(int(i))
        for price, members in by_price.values():
            linear = self._linear_for(price)
            index = np.asarray(members)
            if linear is not None:
                self._apply(linear, index, tokens, costs, sources)
                continue
            for i in members:
                usage = _usage(tokens, i)
                costs[i] = float(price.calc_price(usage)["total_price"])
                sources[i] = "genai-prices"

    @staticmethod
    def _apply(
        linear: LinearPrice,
        rows: np.ndarray,
        tokens: list[np.ndarray],
        costs: np.ndarray,
        sources: list[str | None],
    ) -> None:
        costs[rows] = linear.cost(*(t[rows] for t in tokens))
        for i in rows:
            sources[i] = linear.source


def _usage(tokens: list[np.ndarray], i: int) -> Any:
    return Usage(
        input_tokens=int(tokens[0][i]),
        cache_read_tokens=int(tokens[1][i]),
        cache_write_tokens=int(tokens[2][i]),
        output_tokens=int(tokens[3][i]),
    )
