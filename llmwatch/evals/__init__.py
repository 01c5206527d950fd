"""Golden-set evaluation and canary probes (SPEC 4.4, 4.5): Prefect-free core.

* :mod:`dataset` and :mod:`probes` load the versioned example set (JSONL) and the probe
  definitions (TOML); the version of each is a hash of its content;
* :mod:`checks` decides whether one output passes one check;
* :mod:`runner` calls a target concurrently over the shared LLM client; a call that
  failed after its retries is recorded as an error, never as a failed answer;
* :mod:`stats` and :mod:`compare` test pass rates for regressions (Fisher exact or a
  two-proportion z-test, one-sided, with a minimum effect);
* :mod:`store` writes runs and results to the warehouse and reads previous runs.
"""

from llmwatch.evals.checks import CheckOutcome, CheckSpec, evaluate, probe_passes
from llmwatch.evals.compare import (
    CanaryVerdict,
    GoldenVerdict,
    Row,
    compare_canary,
    compare_golden,
    format_verdict,
)
from llmwatch.evals.dataset import Dataset, DatasetError, GoldenExample, load_dataset
from llmwatch.evals.probes import Probe, ProbeSet, load_probes
from llmwatch.evals.runner import (
    ExampleResult,
    ProbeResult,
    run_golden,
    run_probes,
)
from llmwatch.evals.stats import ProportionTest, proportion_test
from llmwatch.evals.targets import TargetError, resolve_target

__all__ = [
    "CanaryVerdict",
    "CheckOutcome",
    "CheckSpec",
    "Dataset",
    "DatasetError",
    "ExampleResult",
    "GoldenExample",
    "GoldenVerdict",
    "Probe",
    "ProbeResult",
    "ProbeSet",
    "ProportionTest",
    "Row",
    "TargetError",
    "compare_canary",
    "compare_golden",
    "evaluate",
    "format_verdict",
    "load_dataset",
    "load_probes",
    "probe_passes",
    "proportion_test",
    "resolve_target",
    "run_golden",
    "run_probes",
]
