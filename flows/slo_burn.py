"""SLO burn-rate flow (every minute): SPEC 4.2.

Evaluate every feature's SLOs on the raw request records at this instant (or at every
step of a back-fill range, oldest first), store burn rates and remaining budgets, raise
the page and ticket alerts, deliver them.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from llmwatch.slo.evaluate import SloReport
from tasks.alerts import deliver_pending_alerts
from tasks.slo import evaluate, instants_to_evaluate, publish


@flow(name="slo-burn")
def slo_burn_flow(start: datetime | None = None, end: datetime | None = None) -> list[SloReport]:
    """Evaluate the SLOs now, or at every step in (start, end]."""
    instants = instants_to_evaluate(start, end)
    reports = evaluate(instants)
    publish(reports)
    deliver_pending_alerts()
    return reports
