"""Matching a demo run's alerts against the scenario's ground truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmwatch.demo import match_alerts, render_report
from llmwatch.simulator import Scenario

T0 = datetime(2025, 6, 2, tzinfo=UTC)
H = timedelta(hours=1)
MINI = "gpt-4o-mini-2024-07-18"
GPT4O = "gpt-4o-2024-08-06"


def alert(i, kind, start, end=None, feature=None, model=None):
    return {
        "id": i,
        "kind": kind,
        "feature_id": feature,
        "model_id": model,
        "window_start": start.isoformat(),
        "window_end": (end or start + H).isoformat(),
        "message": f"{kind} #{i}",
    }


def truths():
    return Scenario.load("demo").with_start(T0).ground_truth()


def by_kind(report):
    return {d.incident.kind: d for d in report.detections}


def test_right_kind_series_and_window_catch_with_delay_from_incident_start() -> None:
    spike_start = T0 + timedelta(days=2, hours=10)
    slow_start = T0 + timedelta(days=3, hours=13)
    report = match_alerts(
        truths(),
        [
            alert(1, "token_spike", spike_start, feature="support_chat", model=MINI),
            alert(2, "slo_breach", slow_start + H, feature="rag_qa", model=GPT4O),
        ],
    )
    got = by_kind(report)
    assert got["cost_spike"].caught
    assert got["cost_spike"].delay == timedelta(0)
    assert got["cost_spike"].caught_by("token_spike")
    assert got["latency_slo_breach"].delay == H
    assert report.unmatched == []
    assert report.related == []
    missed = {t.kind for t in report.missed}
    assert "error_burst" in missed
    assert "cost_spike" not in missed


def test_wrong_series_or_wrong_time_is_a_false_alarm() -> None:
    spike_start = T0 + timedelta(days=2, hours=10)
    report = match_alerts(
        truths(),
        [
            # right kind, other feature, on a clean day
            alert(1, "token_spike", T0 + timedelta(days=1), feature="rag_qa", model=GPT4O),
            # right series, but long before the spike
            alert(2, "cost_anomaly", spike_start - 20 * H, feature="support_chat", model=MINI),
        ],
    )
    assert [a.id for a in report.unmatched] == [1, 2]
    assert not by_kind(report)["cost_spike"].caught


def test_a_window_that_ends_when_the_incident_starts_does_not_catch_it() -> None:
    shift_start = T0 + timedelta(days=5)  # input_shift, support_chat
    day_before = alert(1, "input_drift", shift_start - 24 * H, end=shift_start)
    report = match_alerts(truths(), [day_before])
    assert not by_kind(report)["input_shift"].caught
    same_day = alert(2, "input_drift", shift_start, end=shift_start + 24 * H)
    assert by_kind(match_alerts(truths(), [same_day]))["input_shift"].delay == timedelta(0)


def test_other_kind_during_an_incident_is_a_side_effect_not_a_false_alarm() -> None:
    spike_start = T0 + timedelta(days=2, hours=10)
    report = match_alerts(
        truths(), [alert(1, "input_drift", T0 + timedelta(days=2), end=T0 + timedelta(days=3))]
    )
    assert report.unmatched == []
    ((side, incident),) = report.related
    assert side.id == 1
    assert incident.start <= spike_start


def test_eval_alerts_count_at_the_scenario_time_of_their_run() -> None:
    switch = T0 + timedelta(days=3, hours=12)
    wall_clock = datetime(2026, 11, 22, 16, tzinfo=UTC)
    canary = alert(7, "canary_regression", wall_clock, model=MINI)
    missed = match_alerts(truths(), [canary])
    assert not by_kind(missed)["silent_model_change"].caught

    next_midnight = T0 + timedelta(days=4)
    report = match_alerts(truths(), [canary], observed_at={7: next_midnight})
    detection = by_kind(report)["silent_model_change"]
    assert detection.caught
    assert detection.delay == next_midnight - switch
    # ... and not before the switch
    early = match_alerts(truths(), [canary], observed_at={7: switch - H})
    assert not by_kind(early)["silent_model_change"].caught
    assert [a.id for a in early.unmatched] == [7]


def test_quality_chart_alerts_count_while_the_ewma_remembers_the_drop() -> None:
    start = T0 + timedelta(days=4, hours=6)
    end = T0 + timedelta(days=4, hours=22)
    late = alert(1, "quality_regression", end + 12 * H, feature="rag_qa", model=GPT4O)
    too_late = alert(2, "quality_regression", end + 30 * H, feature="rag_qa", model=GPT4O)
    report = match_alerts(truths(), [late, too_late])
    assert by_kind(report)["quality_regression"].delay == end + 12 * H - start
    assert [a.id for a in report.unmatched] == [2]


def test_table_lists_every_incident_and_the_false_alarms() -> None:
    report = match_alerts(
        truths(),
        [
            alert(1, "token_spike", T0 + timedelta(days=2, hours=10), None, "support_chat", MINI),
            alert(2, "slo_breach", T0 + timedelta(days=1), feature="rag_qa", model=GPT4O),
        ],
    )
    text = render_report(report)
    assert text.count("MISSED") == len(truths()) - 1
    assert "1 of 7 injected incidents caught" in text
    assert "1 alert(s) matched no incident" in text
    assert "#2 slo_breach" in text


def test_json_report_names_each_incident_its_alerts_and_the_delay() -> None:
    import json

    start = T0 + timedelta(days=2, hours=10)
    report = match_alerts(truths(), [alert(1, "cost_anomaly", start, None, "support_chat", MINI)])
    data = json.loads(json.dumps(report.to_dict()))
    (spike,) = [i for i in data["incidents"] if i["kind"] == "cost_spike"]
    assert spike["caught_by"] == ["cost_anomaly"]
    assert spike["delay_s"] == 0
    assert [a["id"] for a in spike["alerts"]] == [1]
    assert data["unmatched"] == []


def test_table_counts_the_notifications_of_the_incident_that_caught_each() -> None:
    spike = T0 + timedelta(days=2, hours=10)
    alerts = [
        {**alert(1, "token_spike", spike, None, "support_chat", MINI), "incident_id": 7},
        {**alert(2, "cost_anomaly", spike + H, None, "support_chat", MINI), "incident_id": 7},
        {**alert(3, "slo_breach", T0 + timedelta(days=1), feature="rag_qa", model=GPT4O),
         "incident_id": 8},
        # A side effect that joined the spike's incident: not counted a second time.
        {**alert(5, "slo_breach", spike, None, "support_chat", MINI), "incident_id": 7},
    ]  # fmt: skip
    report = match_alerts(truths(), alerts)
    notifications = {7: ["opened", "escalated", "resolved"], 8: ["opened"], 9: []}
    gate = ([{"id": 4, "incident_id": 9}], 0)
    text = render_report(report, notifications, gate)
    (row,) = [line for line in text.splitlines() if line.startswith("cost_spike")]
    assert row.split()[-9:] == [
        "2",
        "#7",
        "3",
        "(1",
        "opened,",
        "1",
        "escalated,",
        "1",
        "resolved)",
    ]
    assert "1 on the clean stretches; side effects: 0." in text
    assert "Notifications: 4 (2 opened, 1 escalated, 1 resolved) in all" in text
    assert "Manual gate run (no --notify): 1 alert(s) stored in incident(s) #9, 0 notif" in text
    data = report.to_dict(notifications)
    (spike_row,) = [i for i in data["incidents"] if i["kind"] == "cost_spike"]
    assert spike_row["incident_ids"] == [7]
    assert spike_row["notifications"] == ["opened", "escalated", "resolved"]
    assert data["unmatched_notifications"] == ["opened"]
