"""Lifecycle events: one "Export State Change" event on the stack's event bus per status change
(REQUESTED, RENDERING, DELIVERING and each final status), described by docs/lifecycle-event.schema.json.

Events are a feed for dashboards and automation, not the contract: they are put at least once and
best effort (a lost event is logged, never the export's failure). The notification (SNS) remains the
one message every export is guaranteed to end with."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..models import ExportRecord, ExportStatus
from ..observability import logger
from .notifications import references

EVENT_SOURCE = "aistudios.export"
STATE_CHANGE = "Export State Change"
SCHEMA_VERSION = "1"


def state_change_detail(record: ExportRecord) -> dict[str, Any]:
    """The event's detail for the record as it now is."""
    detail: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "exportId": record.export_id,
        "projectId": record.project_id,
        "resolution": record.resolution,
        "status": record.status.value,
        "progress": round(record.progress, 2),
        "trigger": record.trigger,
        "changedAt": record.updated_at,
    } | references(record)
    if record.status is ExportStatus.SUCCEEDED and record.video is not None:
        detail["video"] = record.video.to_public()
    if record.error:
        detail["error"] = {"code": record.error.get("code", ""), "message": record.error.get("message", "")}
    return detail


class LifecycleEvents:
    """Puts state-change events on one bus (`events` None or no bus: nothing is put)."""

    def __init__(self, events: Any, bus_name: str) -> None:
        self._events = events
        self._bus = bus_name

    def changed(self, record: ExportRecord) -> None:
        if self._events is None or not self._bus:
            return
        self.put(
            STATE_CHANGE,
            state_change_detail(record),
            [record.execution_arn] if record.execution_arn else [],
            export_id=record.export_id,
        )

    def put(
        self, detail_type: str, detail: dict[str, Any], resources: list[str], *, export_id: str | None
    ) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":"), sort_keys=True, default=str),
            "EventBusName": self._bus,
            "Resources": resources,
        }
        try:
            result = self._events.put_events(Entries=[entry])
        except (BotoCoreError, ClientError):
            logger.exception("could not put the lifecycle event", extra={"exportId": export_id})
            return
        if result.get("FailedEntryCount"):
            logger.error(
                "EventBridge refused the lifecycle event",
                extra={"exportId": export_id, "entries": result.get("Entries")},
            )
