"""Match the alerts a demo run raised against the incidents the scenario injected.

An alert catches an incident when its kind is one the incident should raise, its series
(feature, model) is the incident's or is left open on either side, and the moment it
observed overlaps the incident (from its start up to ``grace`` after its end: control
charts and daily reports signal a little after the fact). The delay is measured from the
incident's start to the start of the alert's window.

Golden-set and canary alerts are stamped with the wall-clock time of their run, so the
demo passes the scenario time at which it ran them as ``observed_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from llmwatch.simulator import GroundTruth

DEFAULT_GRACE = timedelta(hours=6)
# A control chart's EWMA remembers a drop for a while after it ends (that is the point of
# it), and its series re-alerts after each cool-down until the statistic is back in.
CHART_GRACE = timedelta(hours=24)
GRACE_BY_KIND = {"quality_regression": CHART_GRACE}


@dataclass(frozen=True)
class ObservedAlert:
    """An alert with the scenario time span it looked at."""

    id: int
    kind: str
    feature_id: str | None
    model_id: str | None
    start: datetime
    end: datetime
    message: str = ""
    incident_id: int | None = None

    @classmethod
    def from_dict(
        cls, alert: Mapping[str, Any], observed_at: datetime | None = None
    ) -> ObservedAlert:
        start = _as_datetime(alert["window_start"])
        end = _as_datetime(alert["window_end"]) if alert.get("window_end") else start
        if observed_at is not None:
            start = end = observed_at
        return cls(
            id=int(alert["id"]),
            kind=str(alert["kind"]),
            feature_id=alert.get("feature_id"),
            model_id=alert.get("model_id"),
            start=start,
            end=max(start, end),
            message=str(alert.get("message") or ""),
            incident_id=alert.get("incident_id"),
        )


@dataclass
class Detection:
    incident: GroundTruth
    alerts: list[ObservedAlert] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return bool(self.alerts)

    @property
    def first(self) -> ObservedAlert | None:
        return min(self.alerts, key=lambda a: (a.start, a.id)) if self.alerts else None

    @property
    def delay(self) -> timedelta | None:
        first = self.first
        return None if first is None else first.start - self.incident.start

    def caught_by(self, kind: str) -> bool:
        return any(a.kind == kind for a in self.alerts)

    @property
    def incident_ids(self) -> list[int]:
        """The incidents that caught it (the ones its catching alerts joined)."""
        return incident_ids(self.alerts)


def incident_ids(alerts: Iterable[ObservedAlert]) -> list[int]:
    return sorted({a.incident_id for a in alerts if a.incident_id is not None})


@dataclass
class MatchReport:
    detections: list[Detection]
    # Alerts of another kind during an incident, on its series: side effects (a cost spike
    # also moves the day's token distribution), shown but not counted as false alarms.
    related: list[tuple[ObservedAlert, GroundTruth]]
    # Alerts on the clean parts: false alarms.
    unmatched: list[ObservedAlert]

    @property
    def missed(self) -> list[GroundTruth]:
        return [d.incident for d in self.detections if not d.caught]

    def to_dict(self, notifications: Mapping[int, list[str]] | None = None) -> dict[str, Any]:
        """JSON-ready: what the demo's ``--json`` writes and the end-to-end test reads;
        with ``notifications`` (incident id -> events), what each incident told people."""
        notified = notifications or {}
        return {
            "incidents": [
                {
                    **d.incident.to_dict(),
                    "caught_by": sorted({a.kind for a in d.alerts}),
                    "delay_s": None if d.delay is None else d.delay.total_seconds(),
                    "alerts": [_alert_dict(a) for a in d.alerts],
                    "incident_ids": d.incident_ids,
                    "notifications": [e for i in d.incident_ids for e in notified.get(i, [])],
                }
                for d in self.detections
            ],
            "related": [
                {**_alert_dict(a), "during": incident.kind} for a, incident in self.related
            ],
            "unmatched": [_alert_dict(a) for a in self.unmatched],
            "unmatched_notifications": [
                e for i in incident_ids(self.unmatched) for e in notified.get(i, [])
            ],
        }


def catches(alert: ObservedAlert, incident: GroundTruth, grace: timedelta) -> bool:
    return alert.kind in incident.alert_kinds and during(alert, incident, grace)


def during(alert: ObservedAlert, incident: GroundTruth, grace: timedelta) -> bool:
    """Same series (or an open one) and a span overlapping [start, end + grace)."""
    if not _same(incident.feature, alert.feature_id) or not _same(incident.model, alert.model_id):
        return False
    if alert.start >= incident.end + grace:
        return False
    # Windows are half-open; a point alert (a canary run) counts at its instant.
    return alert.end > incident.start if alert.end > alert.start else alert.start >= incident.start


def match_alerts(
    incidents: Sequence[GroundTruth],
    alerts: Iterable[Mapping[str, Any]],
    *,
    observed_at: Mapping[int, datetime] | None = None,
    grace: timedelta = DEFAULT_GRACE,
    grace_by_kind: Mapping[str, timedelta] = GRACE_BY_KIND,
) -> MatchReport:
    """Every incident with the alerts that caught it, the alerts of other kinds during an
    incident, and the alerts on clean stretches."""
    observed_at = observed_at or {}
    observed = [ObservedAlert.from_dict(a, observed_at.get(int(a["id"]))) for a in alerts]
    detections = [Detection(incident) for incident in incidents]
    report = MatchReport(detections, [], [])
    for alert in observed:
        slack = grace_by_kind.get(alert.kind, grace)
        hits = [d for d in detections if catches(alert, d.incident, slack)]
        for detection in hits:
            detection.alerts.append(alert)
        if hits:
            continue
        around = [i for i in incidents if during(alert, i, grace)]
        if around:
            report.related.append((alert, around[0]))
        else:
            report.unmatched.append(alert)
    return report


def _alert_dict(alert: ObservedAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "feature_id": alert.feature_id,
        "model_id": alert.model_id,
        "observed_start": alert.start.isoformat(),
        "observed_end": alert.end.isoformat(),
        "message": alert.message,
        "incident_id": alert.incident_id,
    }


def _same(expected: str | None, actual: str | None) -> bool:
    return expected is None or actual is None or expected == actual


def _as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
