"""Incident triage (SPEC 4.10): for one alert, scope (which slice moved), isolate (what
changed near it) and a sample of the affected responses; and learn (flagged cases as
golden-set candidates).

``build_report(engine, alert_id)`` -> :class:`TriageReport`, rendered by ``render_text``,
``TriageReport.to_dict`` (JSON) and ``write_html``; ``add_from_flagged`` for the golden
candidates. Prefect-free, same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from llmwatch.triage.candidates import CandidateResult, add_from_flagged, default_candidates_path
from llmwatch.triage.report import (
    DEFAULT_LIMIT,
    TRIAGE_DIR,
    TriageError,
    TriageReport,
    build_report,
    render_html,
    render_text,
    triage_page_name,
    write_html,
)

__all__ = [
    "DEFAULT_LIMIT",
    "TRIAGE_DIR",
    "CandidateResult",
    "TriageError",
    "TriageReport",
    "add_from_flagged",
    "build_report",
    "default_candidates_path",
    "render_html",
    "render_text",
    "triage_page_name",
    "write_html",
]
