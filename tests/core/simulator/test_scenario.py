"""Scenario files: parsing, validation, relative times and ground truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmwatch.simulator import Scenario, ground_truth
from llmwatch.simulator.scenario import INCIDENT_KINDS, parse_offset

EXPECTED_ALERTS = {
    "cost_spike": {"cost_anomaly", "token_spike"},
    "latency_slo_breach": {"slo_breach"},
    "error_burst": {"slo_breach"},
    "quality_regression": {"quality_regression"},
    "silent_model_change": {"canary_regression"},
    "input_shift": {"input_drift"},
    "survivorship_bias": {"survivorship_bias"},
}


def test_demo_scenario_covers_every_incident_kind_with_clean_stretches(demo: Scenario):
    assert 4 <= demo.days <= 7
    kinds = {incident.kind for incident in demo.incidents}
    assert kinds == set(EXPECTED_ALERTS)
    # The first two days are clean: they are the baselines every detector learns from.
    first_incident = min(incident.start for incident in demo.incidents)
    assert first_incident >= demo.start + timedelta(days=2)
    for truth in ground_truth(demo):
        assert set(truth.alert_kinds) == EXPECTED_ALERTS[truth.kind]
        assert truth.alert_kind in truth.alert_kinds
        assert demo.start <= truth.start < truth.end <= demo.end


def test_ground_truth_is_sorted_and_serialisable(demo: Scenario):
    truths = demo.ground_truth()
    assert [t.start for t in truths] == sorted(t.start for t in truths)
    silent = next(t for t in truths if t.kind == "silent_model_change")
    assert silent.feature is None
    assert silent.model == "gpt-4o-mini-2024-07-18"
    assert silent.end == demo.end  # open-ended: lasts to the end of the scenario
    as_dict = silent.to_dict()
    assert as_dict["alert_kind"] == "canary_regression"
    assert datetime.fromisoformat(as_dict["start"]) == silent.start


def test_relative_times_move_with_the_start_and_absolute_ones_do_not():
    scenario = Scenario.loads(
        """
        [scenario]
        name = "t"
        start = 2025-01-06T00:00:00Z
        days = 2
        [[incidents]]
        kind = "latency_slo_breach"
        feature = "rag_qa"
        start = "+1d2h30m"
        end = "+1d4h"
        [[incidents]]
        kind = "error_burst"
        feature = "extraction"
        start = 2025-01-06T05:00:00Z
        end = "2025-01-06T06:00:00+00:00"
        rate = 0.5
        """
    )
    latency, burst = scenario.incidents
    assert latency.start == datetime(2025, 1, 7, 2, 30, tzinfo=UTC)
    assert latency.params == {"factor": 4.0}
    assert burst.params == {"rate": 0.5}
    moved = scenario.with_start(datetime(2025, 3, 3, tzinfo=UTC))
    assert moved.incidents[0].start == datetime(2025, 3, 4, 2, 30, tzinfo=UTC)
    assert moved.incidents[1].start == burst.start


def test_active_incidents_and_versions_follow_the_clock(demo: Scenario):
    switch = next(i for i in demo.incidents if i.kind == "silent_model_change")
    model = "gpt-4o-mini-2024-07-18"
    assert demo.version_at(model, switch.start - timedelta(seconds=1)) is None
    assert demo.version_at(model, switch.start) == switch.params["to_version"]
    assert demo.version_at("gpt-4o-2024-08-06", switch.start) is None
    spike = next(i for i in demo.incidents if i.kind == "cost_spike")
    assert spike in demo.active(spike.start, model=model, feature="support_chat")
    assert spike not in demo.active(spike.start, feature="rag_qa")
    assert spike not in demo.active(spike.end)


@pytest.mark.parametrize(
    ("incident", "message"),
    [
        ('kind = "meteor"\nfeature = "x"\nstart = "+1h"\nend = "+2h"', "unknown incident kind"),
        ('kind = "error_burst"\nfeature = "x"\nstart = "+1h"', "needs an end"),
        ('kind = "error_burst"\nstart = "+1h"\nend = "+2h"', "needs a feature"),
        ('kind = "error_burst"\nfeature = "x"\nstart = "+3h"\nend = "+2h"', "ends before"),
        (
            'kind = "error_burst"\nfeature = "x"\nstart = "+1h"\nend = "+2h"\nrat = 1',
            "unknown param",
        ),
        ('kind = "silent_model_change"\nmodel = "m"\nstart = "+1h"', "to_version"),
        ('kind = "silent_model_change"\nstart = "+1h"\nto_version = "b"', "needs a model"),
        ('kind = "error_burst"\nfeature = "x"\nstart = "soon"\nend = "+2h"', "Invalid isoformat"),
    ],
)
def test_invalid_incidents_are_rejected_with_a_reason(incident: str, message: str):
    with pytest.raises(ValueError, match=message):
        Scenario.loads(f"[scenario]\nstart = 2025-01-01T00:00:00Z\n[[incidents]]\n{incident}\n")


def test_offsets_parse_days_hours_minutes():
    assert parse_offset("+2d10h") == timedelta(days=2, hours=10)
    assert parse_offset("+90m") == timedelta(minutes=90)
    with pytest.raises(ValueError):
        parse_offset("+")


def test_every_kind_has_an_alert_kind_from_the_spec():
    spec_alerts = {
        "slo_breach",
        "cost_anomaly",
        "token_spike",
        "quality_regression",
        "canary_regression",
        "input_drift",
        "survivorship_bias",
    }
    for kind in INCIDENT_KINDS.values():
        assert set(kind.alerts) <= spec_alerts
