"""Alert routing (SPEC 4.7): every incident notification (llmwatch.incidents) is
delivered to each configured channel.

Deliveries live in the ``notification_deliveries`` table, one row per notification and
channel: queued as 'pending', claimed as 'sending' while a run sends it, 'delivered' once
the channel accepted it. A failed delivery goes back to 'pending' for the next run, so a
notification is never lost, and a delivered one is never sent again; one the channel
refuses for good, or out of attempts, is 'dead', and the channel's one
``delivery_failure`` incident says so until the channel delivers again.
"""

from llmwatch.routing.deliver import Channel, ChannelReport, DeliveryError, deliver_pending
from llmwatch.routing.payloads import json_payload, slack_payload
from llmwatch.routing.webhooks import WebhookChannel, redact_url, webhook_channels

__all__ = [
    "Channel",
    "ChannelReport",
    "DeliveryError",
    "WebhookChannel",
    "deliver_pending",
    "json_payload",
    "redact_url",
    "slack_payload",
    "webhook_channels",
]
