"""Provider simulator and traffic generator: LLM endpoints and production traffic, offline.

Used by tests, benchmarks and the demo. Prefect-free, like the rest of the core.
"""

from __future__ import annotations

from llmwatch.simulator.catalogue import DEFAULT_CATALOGUE, Catalogue, ModelVersion, SimModel
from llmwatch.simulator.control import SimulatorControl
from llmwatch.simulator.faults import Fault, FaultProfile
from llmwatch.simulator.markers import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CONTEXT_CLOSE,
    CONTEXT_OPEN,
    JUDGE_RUBRIC_MARKER,
    QUESTION_CLOSE,
    QUESTION_OPEN,
    REFERENCE_CLOSE,
    REFERENCE_OPEN,
)
from llmwatch.simulator.scenario import (
    DEMO_SCENARIO_PATH,
    GroundTruth,
    Incident,
    Scenario,
    ground_truth,
)
from llmwatch.simulator.server import SimulatorServer

__all__ = [
    "ANSWER_CLOSE",
    "ANSWER_OPEN",
    "CONTEXT_CLOSE",
    "CONTEXT_OPEN",
    "DEFAULT_CATALOGUE",
    "DEMO_SCENARIO_PATH",
    "JUDGE_RUBRIC_MARKER",
    "QUESTION_CLOSE",
    "QUESTION_OPEN",
    "REFERENCE_CLOSE",
    "REFERENCE_OPEN",
    "Catalogue",
    "Fault",
    "FaultProfile",
    "GroundTruth",
    "Incident",
    "ModelVersion",
    "Scenario",
    "SimModel",
    "SimulatorControl",
    "SimulatorServer",
    "ground_truth",
]
