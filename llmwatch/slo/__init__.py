"""SLOs as objectives, alerted on how fast they burn their error budget (SPEC 4.2).

``rules`` holds the multi-window, multi-burn-rate decision (pure, vectorised, the one the
benchmark runs), ``objectives`` the per-feature objectives from the settings, and
``evaluate`` the evaluation on the raw request records of the warehouse.
"""

from llmwatch.slo.objectives import Objective, objectives_for
from llmwatch.slo.rules import BurnRule, Counts, burn_rules, fires

__all__ = ["BurnRule", "Counts", "Objective", "burn_rules", "fires", "objectives_for"]
