"""What a channel receives for one alert (a SPEC 3.5 dictionary, see llmwatch.alerts)."""

from __future__ import annotations

from typing import Any

SEVERITY_MARK = {
    "info": ":information_source:",
    "warning": ":warning:",
    "critical": ":rotating_light:",
}


def json_payload(alert: dict[str, Any]) -> dict[str, Any]:
    """Generic JSON webhooks get the alert as ``llmwatch alerts --json`` prints it, with the
    incident's id, state, severity, the transition (event), a one-line summary, the triage
    command and the triage page's path."""
    return dict(alert)


def slack_payload(alert: dict[str, Any]) -> dict[str, str]:
    """A Slack-compatible incoming-webhook body (also understood by Mattermost, Teams
    workflows and most chat bridges)."""
    scope = "/".join(p for p in (alert.get("feature_id"), alert.get("model_id")) if p)
    head = f"{SEVERITY_MARK.get(alert['severity'], '')} [{alert['severity']}] {alert['kind']}"
    lines = [f"{head} {scope}".strip()]
    if alert.get("incident_id") is not None:
        lines.append(
            f"incident #{alert['incident_id']} {alert.get('state')}: {alert.get('summary')}"
        )
    lines.append(str(alert["message"]))
    if alert.get("metric") is not None:
        measure = f"{alert['metric']} = {_number(alert.get('value'))}"
        if alert.get("threshold") is not None:
            measure += f" (threshold {_number(alert['threshold'])})"
        lines.append(measure)
    if alert.get("window_start"):
        lines.append(f"window {alert['window_start']} .. {alert.get('window_end') or ''}")
    lines.append(f"llmwatch alert #{alert['id']} from flow {alert['flow']}")
    if alert.get("triage"):
        lines.append(f"triage: {alert['triage']}")
    if alert.get("page"):
        lines.append(f"page: {alert['page']}")
    return {"text": _escape("\n".join(lines))}


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _escape(text: str) -> str:
    # Slack's mrkdwn control characters; user-derived text (feature ids, messages)
    # must not turn into mentions or links.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
