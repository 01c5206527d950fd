"""A per-run budget on the number of calls and on their estimated cost.

Cost is reserved before a call, from the prompt size and ``max_tokens``, so concurrent
calls cannot together overshoot the limit; after the call the reservation is replaced
by the cost of the usage the endpoint reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmwatch.llm.errors import BudgetExceededError

# A rough, deliberately pessimistic characters-per-token ratio for the reservation.
CHARS_PER_TOKEN = 3.0


@dataclass(frozen=True)
class Pricing:
    """USD per million tokens."""

    input_mtok: float
    output_mtok: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_mtok + output_tokens * self.output_mtok) / 1e6

    @classmethod
    def lookup(cls, model: str, overrides: Mapping[str, Any] | None = None) -> Pricing | None:
        """The local override for ``model``, else genai-prices' entry, else None (unknown)."""
        if overrides and model in overrides:
            override = overrides[model]
            return cls(float(override.input_mtok), float(override.output_mtok))
        try:
            from genai_prices import Usage, calc_price

            million = 1_000_000
            price_in = calc_price(Usage(input_tokens=million, output_tokens=0), model_ref=model)
            price_out = calc_price(Usage(input_tokens=0, output_tokens=million), model_ref=model)
        except LookupError:  # an unknown model simply has no price
            return None
        return cls(float(price_in.total_price), float(price_out.total_price))


class Budget:
    """Calls and estimated cost allowed in one run; ``None`` means unlimited."""

    def __init__(
        self,
        max_calls: int | None = None,
        max_cost_usd: float | None = None,
        pricing: Pricing | None = None,
    ) -> None:
        if max_cost_usd is not None and pricing is None:
            raise ValueError("a cost budget needs the model's pricing to estimate cost")
        self.max_calls = max_calls
        self.max_cost_usd = max_cost_usd
        self.pricing = pricing
        self.calls = 0
        self.spent_usd = 0.0
        self.reserved_usd = 0.0

    def estimate(self, prompt_chars: int, max_tokens: int) -> float:
        if self.pricing is None:
            return 0.0
        return self.pricing.cost(int(prompt_chars / CHARS_PER_TOKEN) + 1, max_tokens)

    def reserve(self, estimate_usd: float) -> None:
        """Claim one call and its estimated cost, or raise BudgetExceededError."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise BudgetExceededError(f"call budget of {self.max_calls} calls used up")
        if (
            self.max_cost_usd is not None
            and self.spent_usd + self.reserved_usd + estimate_usd > self.max_cost_usd
        ):
            raise BudgetExceededError(
                f"cost budget of ${self.max_cost_usd:.4f} reached "
                f"(spent ${self.spent_usd:.4f}, in flight ${self.reserved_usd:.4f})"
            )
        self.calls += 1
        self.reserved_usd += estimate_usd

    def settle(self, estimate_usd: float, actual_usd: float | None) -> None:
        """Replace a reservation by the actual cost (the estimate when usage is unknown)."""
        self.reserved_usd = max(0.0, self.reserved_usd - estimate_usd)
        self.spent_usd += estimate_usd if actual_usd is None else actual_usd

    def actual_cost(self, input_tokens: int, output_tokens: int) -> float | None:
        return None if self.pricing is None else self.pricing.cost(input_tokens, output_tokens)
