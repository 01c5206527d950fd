"""``llmwatch demo`` (SPEC 6): the whole product over simulated traffic, offline.

Prefect-free: the jobs are passed in by the CLI.
"""

from __future__ import annotations

from llmwatch.demo.config import DemoConfig
from llmwatch.demo.match import Detection, MatchReport, ObservedAlert, match_alerts
from llmwatch.demo.run import DemoDirError, DemoFlows, DemoResult, run_demo
from llmwatch.demo.table import render_report

__all__ = [
    "DemoConfig",
    "DemoDirError",
    "DemoFlows",
    "DemoResult",
    "Detection",
    "MatchReport",
    "ObservedAlert",
    "match_alerts",
    "render_report",
    "run_demo",
]
