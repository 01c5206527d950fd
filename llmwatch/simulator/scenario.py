"""Incident scenarios: a small TOML file that says what goes wrong, where and when.

Both the traffic generator and the server read the same scenario, and
``Scenario.ground_truth()`` lists what was injected and which alert should catch it, so
the demo and end-to-end tests can score detection. Format (see ``scenarios/demo.toml``)::

    [scenario]
    name = "demo"
    start = 2025-06-02T00:00:00Z      # origin of relative times; the generator's default start
    days = 6

    [[incidents]]
    kind = "cost_spike"               # one of INCIDENT_KINDS
    feature = "support_chat"
    model = "gpt-4o-mini-2024-07-18"  # optional for feature incidents
    start = "+2d10h"                  # relative to scenario start, or an absolute datetime
    end = "+2d16h"                    # optional for silent_model_change: lasts to the end
    factor = 4.0                      # kind-specific parameters, see INCIDENT_KINDS
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DEMO_SCENARIO_PATH = Path(__file__).parent / "scenarios" / "demo.toml"


@dataclass(frozen=True)
class IncidentKind:
    alerts: tuple[str, ...]
    # Parameter defaults; a parameter with default None is required.
    params: dict[str, Any]
    needs_feature: bool = True
    needs_model: bool = False
    open_ended: bool = False


INCIDENT_KINDS: dict[str, IncidentKind] = {
    # Output tokens (and so cost) multiplied by factor; input tokens by input_factor.
    "cost_spike": IncidentKind(
        ("cost_anomaly", "token_spike"), {"factor": 4.0, "input_factor": 1.5}
    ),
    "token_spike": IncidentKind(("token_spike",), {"factor": 3.0, "input_factor": 1.0}),
    # Latency and TTFT multiplied by factor.
    "latency_slo_breach": IncidentKind(("slo_breach",), {"factor": 4.0}),
    # Share of requests that fail.
    "error_burst": IncidentKind(("slo_breach",), {"rate": 0.3}),
    # Answer quality lowered by quality_drop, hallucinations raised by hallucination_rise.
    "quality_regression": IncidentKind(
        ("quality_regression",), {"quality_drop": 0.45, "hallucination_rise": 0.15}
    ),
    # The provider swaps the model version behind the same name.
    "silent_model_change": IncidentKind(
        ("canary_regression",),
        {"to_version": None},
        needs_feature=False,
        needs_model=True,
        open_ended=True,
    ),
    # A new user segment with different vocabulary takes this share of the feature's traffic.
    "input_shift": IncidentKind(("input_drift",), {"segment": "developer_beta", "share": 0.4}),
    # Unhappy users leave without voting: few thumbs-down, many abandoned sessions.
    "survivorship_bias": IncidentKind(
        ("survivorship_bias",), {"abandonment": 0.45, "thumbs_up_share": 0.9}
    ),
}

_OFFSET = re.compile(r"^\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_offset(text: str) -> timedelta:
    """``"+2d10h30m"`` -> timedelta; days, hours and minutes are each optional."""
    match = _OFFSET.match(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"not a relative time like '+2d10h': {text!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def as_utc(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _resolve(value: object, origin: datetime) -> datetime:
    if isinstance(value, str) and value.strip().startswith("+"):
        return origin + parse_offset(value)
    if isinstance(value, datetime | date | str):
        return as_utc(value)
    raise ValueError(f"not a time: {value!r}")


@dataclass(frozen=True)
class Incident:
    kind: str
    feature: str | None
    model: str | None
    start: datetime
    end: datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def active_at(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)

    def applies_to(self, *, model: str | None = None, feature: str | None = None) -> bool:
        model_ok = self.model is None or model is None or self.model == model
        feature_ok = self.feature is None or feature is None or self.feature == feature
        return model_ok and feature_ok

    @property
    def expected_alerts(self) -> tuple[str, ...]:
        return INCIDENT_KINDS[self.kind].alerts


@dataclass(frozen=True)
class GroundTruth:
    """One injected incident and the alert kinds that should catch it."""

    kind: str
    feature: str | None
    model: str | None
    start: datetime
    end: datetime
    alert_kind: str
    alert_kinds: tuple[str, ...]
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "feature": self.feature,
            "model": self.model,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "alert_kind": self.alert_kind,
            "alert_kinds": list(self.alert_kinds),
            "description": self.description,
        }


@dataclass(frozen=True)
class Scenario:
    name: str
    start: datetime
    days: float
    incidents: tuple[Incident, ...]
    seed: int = 0
    requests_per_day: int = 10_000
    description: str = ""
    # The raw incident tables, kept so that relative times can be re-resolved on a new start.
    raw_incidents: tuple[dict[str, Any], ...] = ()

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @classmethod
    def empty(cls, start: datetime | None = None, days: float = 1.0) -> Scenario:
        origin = as_utc(start) if start else datetime(2025, 6, 2, tzinfo=UTC)
        return cls(name="clean", start=origin, days=days, incidents=())

    @classmethod
    def load(cls, source: str | Path | None = None) -> Scenario:
        """Read a scenario file; ``None`` or ``"demo"`` is the shipped demo scenario."""
        path = DEMO_SCENARIO_PATH if source in (None, "demo") else Path(str(source))
        with path.open("rb") as handle:
            return cls.from_dict(tomllib.load(handle))

    @classmethod
    def loads(cls, text: str) -> Scenario:
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any], start: datetime | None = None) -> Scenario:
        head = data.get("scenario", {})
        origin = as_utc(start) if start else as_utc(head.get("start", "2025-06-02T00:00:00Z"))
        raw = tuple(data.get("incidents", ()))
        return cls(
            name=str(head.get("name", "unnamed")),
            start=origin,
            days=float(head.get("days", 1)),
            incidents=tuple(_parse_incident(item, origin) for item in raw),
            seed=int(head.get("seed", 0)),
            requests_per_day=int(head.get("requests_per_day", 10_000)),
            description=str(head.get("description", "")),
            raw_incidents=raw,
        )

    def with_start(self, start: datetime | str) -> Scenario:
        """The same scenario moved to a new origin; relative incident times move with it."""
        origin = as_utc(start)
        return Scenario(
            name=self.name,
            start=origin,
            days=self.days,
            incidents=tuple(_parse_incident(item, origin) for item in self.raw_incidents),
            seed=self.seed,
            requests_per_day=self.requests_per_day,
            description=self.description,
            raw_incidents=self.raw_incidents,
        )

    def active(
        self,
        when: datetime,
        *,
        kind: str | None = None,
        model: str | None = None,
        feature: str | None = None,
    ) -> list[Incident]:
        return [
            incident
            for incident in self.incidents
            if (kind is None or incident.kind == kind)
            and incident.active_at(when)
            and incident.applies_to(model=model, feature=feature)
        ]

    def version_at(self, model: str, when: datetime) -> str | None:
        """The version a silent model change has put behind ``model`` at ``when``, if any."""
        changes = [
            incident
            for incident in self.incidents
            if incident.kind == "silent_model_change"
            and incident.model == model
            and incident.active_at(when)
        ]
        if not changes:
            return None
        return str(max(changes, key=lambda incident: incident.start).params["to_version"])

    def ground_truth(self) -> list[GroundTruth]:
        return ground_truth(self)


def ground_truth(scenario: Scenario) -> list[GroundTruth]:
    """The injected incidents, in start order, each with the alerts that should catch it."""
    truths = [
        GroundTruth(
            kind=incident.kind,
            feature=incident.feature,
            model=incident.model,
            start=incident.start,
            end=incident.end or scenario.end,
            alert_kind=incident.expected_alerts[0],
            alert_kinds=incident.expected_alerts,
            description=incident.description,
        )
        for incident in scenario.incidents
    ]
    return sorted(truths, key=lambda truth: truth.start)


def _parse_incident(item: dict[str, Any], origin: datetime) -> Incident:
    kind_name = item.get("kind")
    if kind_name not in INCIDENT_KINDS:
        raise ValueError(f"unknown incident kind {kind_name!r}; known: {sorted(INCIDENT_KINDS)}")
    kind = INCIDENT_KINDS[kind_name]
    feature, model = item.get("feature"), item.get("model")
    if kind.needs_feature and not feature:
        raise ValueError(f"{kind_name} incident needs a feature")
    if kind.needs_model and not model:
        raise ValueError(f"{kind_name} incident needs a model")
    if "start" not in item:
        raise ValueError(f"{kind_name} incident needs a start")
    start = _resolve(item["start"], origin)
    end = _resolve(item["end"], origin) if "end" in item else None
    if end is None and not kind.open_ended:
        raise ValueError(f"{kind_name} incident needs an end")
    if end is not None and end <= start:
        raise ValueError(f"{kind_name} incident ends before it starts")
    known = {"kind", "feature", "model", "start", "end", "description"}
    params = {**kind.params, **{k: v for k, v in item.items() if k not in known}}
    unknown = set(params) - set(kind.params)
    if unknown:
        raise ValueError(f"{kind_name} incident has unknown parameters {sorted(unknown)}")
    missing = [name for name, value in params.items() if value is None]
    if missing:
        raise ValueError(f"{kind_name} incident needs {missing}")
    return Incident(
        kind=kind_name,
        feature=feature,
        model=model,
        start=start,
        end=end,
        params=params,
        description=str(item.get("description", "")),
    )
