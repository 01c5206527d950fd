"""A quality alert raised while its judge is known to drift says so.

The quality charts are judged by one judge model; when that model has an unresolved
``judge_drift`` incident (llmwatch.judge.calibration), a ``quality_regression`` it
scores may be the judge's, not the application's. The alert is still raised (the
application may have regressed too), with the incident named in its message and details.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, select

from llmwatch.alerts import NewAlert
from llmwatch.incidents import UNRESOLVED
from llmwatch.warehouse.models import Incident


def open_judge_drift(conn: Connection, judge_model: str) -> int | None:
    """The id of the judge model's unresolved judge_drift incident, if it has one."""
    query = (
        select(Incident.id)
        .where(Incident.kind == "judge_drift")
        .where(Incident.model_id == judge_model)
        .where(Incident.state.in_(UNRESOLVED))
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar_one_or_none()


def flag_judge_drift(alert: NewAlert, judge_model: str, incident_id: int) -> NewAlert:
    return replace(
        alert,
        message=(
            f"{alert.message}; the judge {judge_model} is itself drifting (judge_drift "
            f"incident #{incident_id}): check the judge before the application"
        ),
        details={**alert.details, "judge_drift_incident": incident_id},
    )
