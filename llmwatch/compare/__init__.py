"""Live canary and shadow comparison of two versions on live records (SPEC 4.9).

Baseline and candidate are a model id or a prompt template; their records in a period
are compared on latency, TTFT, error rate, judged quality and cost per request, and the
verdict is promote, hold (not enough data) or rollback, with the evidence.
"""

from llmwatch.compare.checks import CHECKS, Check
from llmwatch.compare.data import ArmData, ArmQuery, bounded_sample, load_arm
from llmwatch.compare.verdict import (
    EXIT_CODES,
    Comparison,
    compare_versions,
    decide,
    format_comparison,
)

__all__ = [
    "CHECKS",
    "EXIT_CODES",
    "ArmData",
    "ArmQuery",
    "Check",
    "Comparison",
    "bounded_sample",
    "compare_versions",
    "decide",
    "format_comparison",
    "load_arm",
]
