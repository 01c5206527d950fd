"""Daily drift report (SPEC 4.6): reference vs current frames, Evidently, verdicts, alert."""

from llmwatch.drift.evidently_run import ColumnDrift, DriftResult, run_drift
from llmwatch.drift.frames import SAMPLING_METHOD, WindowFrame, load_window, sample_ids
from llmwatch.drift.rules import FLOW_NAME, input_drift_alerts
from llmwatch.drift.store import StoredRun, list_runs, replace_run, run_columns, run_id_for
from llmwatch.drift.windows import DriftWindows, drift_windows, yesterday

__all__ = [
    "FLOW_NAME",
    "SAMPLING_METHOD",
    "ColumnDrift",
    "DriftResult",
    "DriftWindows",
    "StoredRun",
    "WindowFrame",
    "drift_windows",
    "input_drift_alerts",
    "list_runs",
    "load_window",
    "replace_run",
    "run_columns",
    "run_drift",
    "run_id_for",
    "sample_ids",
    "yesterday",
]
