"""The notification contract (version 1): one JSON message per final status, on SNS."""

from __future__ import annotations

import json
from typing import Any

from ..clock import seconds_between
from ..models import ExportRecord
from ..observability import logger

SCHEMA_VERSION = "1"


def build_message(record: ExportRecord) -> dict[str, Any]:
    """The versioned message body for a record in a final status."""
    if not record.status.is_final:
        raise ValueError(f"export {record.export_id} is not final ({record.status.value})")
    return references(record) | {
        "version": SCHEMA_VERSION,
        "type": "export." + record.status.value.lower(),
        "status": record.status.value,
        "exportId": record.export_id,
        "dedupKey": f"{record.export_id}:{record.status.value}",
        "projectId": record.project_id,
        "workspaceId": record.workspace_id,
        "resolution": record.resolution,
        "trigger": record.trigger,
        "video": record.video.to_public() if record.video else None,
        "error": dict(record.error) if record.error else None,
        "timings": {
            "requestedAt": record.created_at,
            "finishedAt": record.finished_at,
            "durationSeconds": seconds_between(record.created_at, record.finished_at),
        },
    }


def references(record: ExportRecord) -> dict[str, Any]:
    """The caller's own references, and the export this one retries, when there are: in the
    notification and every event."""
    found: dict[str, Any] = {
        "name": record.name,
        "metadata": dict(record.metadata) or None,
        "retryOf": record.retry_of,
    }
    return {key: value for key, value in found.items() if value is not None}


def message_attributes(message: dict[str, Any]) -> dict[str, dict[str, str]]:
    """SNS attributes subscribers filter on (SNS allows 10). The metadata is not among them: its ten
    pairs would not fit; a subscription filters on it with FilterPolicyScope MessageBody."""
    return {
        name: {"DataType": "String", "StringValue": str(message[name])}
        for name in ("status", "projectId", "resolution", "dedupKey", "name")
        if message.get(name) is not None
    }


class Notifier:
    """Publishes the message to the SNS topic (lifecycle events are put by lifecycle.LifecycleEvents)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, record: ExportRecord) -> dict[str, Any]:
        message = build_message(record)
        body = json.dumps(message, separators=(",", ":"), sort_keys=True)
        response = self._sns.publish(
            TopicArn=self._topic_arn,
            Message=body,
            Subject=f"AI Studios export {record.status.value.lower().replace('_', ' ')}",
            MessageAttributes=message_attributes(message),
        )
        logger.info(
            "published export notification",
            extra={"status": record.status.value, "messageId": response.get("MessageId")},
        )
        return message
