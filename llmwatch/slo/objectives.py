"""Per-feature SLO objectives from the settings (defaults, then the feature's overrides)."""

from __future__ import annotations

from dataclasses import dataclass

from llmwatch.settings import SloSettings


@dataclass(frozen=True)
class Objective:
    """``objective`` of a feature's events are good; bad means over ``threshold_ms`` for
    latency and TTFT (successful requests only), an error for ``errors``."""

    slo: str  # 'latency', 'ttft' or 'errors'
    objective: float
    threshold_ms: float | None = None

    def describe(self) -> str:
        if self.slo == "errors":
            return f"{self.objective:.2%} of requests without error"
        what = "latency" if self.slo == "latency" else "TTFT"
        return f"{self.objective:.2%} of requests with {what} under {self.threshold_ms:g} ms"


def objectives_for(feature_id: str, cfg: SloSettings) -> list[Objective]:
    values = {
        "latency_ms": cfg.latency_ms,
        "latency_objective": cfg.latency_objective,
        "ttft_ms": cfg.ttft_ms,
        "ttft_objective": cfg.ttft_objective,
        "error_objective": cfg.error_objective,
    }
    values.update(cfg.overrides.get(feature_id, {}))
    out = []
    for slo, threshold_key, objective_key in (
        ("latency", "latency_ms", "latency_objective"),
        ("ttft", "ttft_ms", "ttft_objective"),
    ):
        threshold, objective = values[threshold_key], values[objective_key]
        if threshold is not None and objective is not None:
            out.append(Objective(slo, float(objective), float(threshold)))
    if values["error_objective"] is not None:
        out.append(Objective("errors", float(values["error_objective"])))
    return out
