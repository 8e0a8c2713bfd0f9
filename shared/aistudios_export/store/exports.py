"""The exports table: one item per export, status transitions guarded by conditions."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ..aws.errors import condition_held, error_code
from ..clock import now_iso
from ..errors import ExportNotFoundError, InvalidTransitionError
from ..models import FAILURE_STATUSES, OPEN_STATUSES, ExportRecord, ExportStatus, VideoLocation, progress_item
from .conditions import status_in
from .leases import ProjectLeases
from .listing import Cursors, list_page, open_past_deadline
from .retries import RetryClaims

NOTIFY_CLAIM_SECONDS = 60
MAX_WEBHOOK_EVENTS = 32
_OPEN = sorted(s.value for s in OPEN_STATUSES)


def webhook_event_room(*, completed: bool) -> int:
    """How many events a record may hold before this one is taken: one place stays for the 100."""
    return MAX_WEBHOOK_EVENTS if completed else MAX_WEBHOOK_EVENTS - 1


class ExportStore(ProjectLeases, RetryClaims):
    """DynamoDB access for export records (and, from ProjectLeases, the projects' leases; from
    RetryClaims, who retries an export). `table` is a boto3 DynamoDB Table resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, record: ExportRecord) -> ExportRecord:
        self._table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(exportId)")
        return record

    def get(self, export_id: str) -> ExportRecord:
        record = self.find(export_id)
        if record is None:
            raise ExportNotFoundError(f"no export with id {export_id}")
        return record

    def find(self, export_id: str) -> ExportRecord | None:
        item = self._table.get_item(Key={"exportId": export_id}, ConsistentRead=True).get("Item")
        return ExportRecord.from_item(item) if item else None

    def list_page(
        self,
        *,
        project_id: str | None = None,
        status: ExportStatus | None = None,
        limit: int = 25,
        after: Cursors | None = None,
    ) -> tuple[list[ExportRecord], Cursors | None]:
        """Up to `limit` exports, newest first, and where the next page resumes (see listing.py)."""
        return list_page(self._table, project_id=project_id, status=status, limit=limit, after=after)

    def open_past_deadline(self, cutoff: datetime, *, limit: int) -> list[str]:
        """What the reconciler checks (see listing.py); the index may lag the table by a moment."""
        return open_past_deadline(self._table, cutoff, limit=limit)

    def record_progress(
        self, export_id: str, progress: float, state: str, *, created_at: str | None = None
    ) -> ExportRecord:
        """ExportNotFoundError when there is no such export, or (`created_at` given) it is not the
        record created then: a later attempt's, started after this one was withdrawn."""
        values: dict[str, Any] = {
            "status": ExportStatus.RENDERING.value,
            "progress": progress_item(progress),
            "upstreamState": state,
        }
        if progress < 100:
            values["renderSeen"] = True
        return self._update(
            export_id,
            values,
            allowed_from=[ExportStatus.REQUESTED.value, ExportStatus.RENDERING.value],
            created_at=created_at,
        )

    def mark_delivering(self, export_id: str) -> ExportRecord:
        return self._update(
            export_id,
            {"status": ExportStatus.DELIVERING.value, "progress": Decimal(100)},
            allowed_from=_OPEN,
        )

    def mark_start_ambiguous(self, export_id: str) -> None:
        self._update(export_id, {"startAmbiguous": True}, allowed_from=_OPEN)

    def claim_resubmission(self, export_id: str) -> bool:
        """True for the one poll that may send the export POST again (once per export, while open)."""
        values: dict[str, Any] = {":now": now_iso()}
        return condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression="SET resubmittedAt = :now",
            ConditionExpression=f"attribute_not_exists(resubmittedAt) AND {status_in(_OPEN, values)}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def release_resubmission(self, export_id: str) -> None:
        """The POST sent again was refused (not processed): a later poll may send it once more."""
        self._table.update_item(Key={"exportId": export_id}, UpdateExpression="REMOVE resubmittedAt")

    def mark_upload(self, export_id: str, upload_id: str) -> None:
        """Remember the upload a delivery attempt started, so that the next attempt can resume it."""
        self._update(export_id, {"uploadId": upload_id}, allowed_from=_OPEN)

    def mark_succeeded(self, export_id: str, video: VideoLocation) -> ExportRecord:
        return self._update(
            export_id,
            {
                "status": ExportStatus.SUCCEEDED.value,
                "video": video.to_item(),
                "finishedAt": now_iso(),
                "notified": False,
            },
            allowed_from=_OPEN,
        )

    def mark_failed(self, export_id: str, status: ExportStatus, code: str, message: str) -> ExportRecord:
        if status not in FAILURE_STATUSES:
            raise ValueError(f"{status} is not a failure status")
        return self._update(
            export_id,
            {
                "status": status.value,
                "error": {"code": code, "message": message[:1000]},
                "finishedAt": now_iso(),
                "notified": False,
            },
            allowed_from=_OPEN,
        )

    def claim_webhook_event(self, export_id: str, key: str, *, completed: bool) -> ExportRecord | None:
        """Take one webhook event of an open export, once. None when it was taken before (a replay),
        the export has ended, or it already took MAX_WEBHOOK_EVENTS (the record stays small); the
        last place is kept for the 100, so no number of other events can stop it from being taken.
        A confirmed 100 (`completed`) is remembered: the state machine no longer arms a wait after it."""
        values: dict[str, Any] = {
            ":keys": {key},
            ":key": key,
            ":max": webhook_event_room(completed=completed),
        }
        update = "ADD webhookEvents :keys"
        if completed:
            update += " SET webhookConfirmedAt = if_not_exists(webhookConfirmedAt, :now)"
            values[":now"] = now_iso()
        if not condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression=update,
            ConditionExpression=f"attribute_exists(exportId) AND {status_in(_OPEN, values)} AND "
            "(attribute_not_exists(webhookEvents) OR "
            "(NOT contains(webhookEvents, :key) AND size(webhookEvents) < :max))",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            # The receiver's role may name only the attributes this update touches, and may not
            # read the whole record back through it (template.yaml): the record is read apart.
            ReturnValues="NONE",
        ):
            return None
        return self.get(export_id)

    def note_webhook_refused(self, export_id: str) -> None:
        """Count a webhook of this open export that AI Studios did not confirm (the receiver stops
        asking AI Studios about the export's webhooks once it has refused MAX_WEBHOOK_REFUSALS)."""
        values: dict[str, Any] = {":one": 1}
        condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression="ADD webhookRefusals :one",
            ConditionExpression=f"attribute_exists(exportId) AND {status_in(_OPEN, values)}",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="NONE",
        )

    def claim_notification(self, export_id: str) -> bool:
        """True for the one caller that may publish now; a claim older than NOTIFY_CLAIM_SECONDS (its
        holder crashed before publishing) can be taken again, so delivery stays at least once."""
        now = time.time()
        return condition_held(
            self._table.update_item,
            Key={"exportId": export_id},
            UpdateExpression="SET notifyClaimedAt = :now",
            ConditionExpression="attribute_exists(exportId) AND notified = :f AND "
            "(attribute_not_exists(notifyClaimedAt) OR notifyClaimedAt < :stale)",
            ExpressionAttributeValues={
                ":now": Decimal(str(round(now, 3))),
                ":stale": Decimal(str(round(now - NOTIFY_CLAIM_SECONDS, 3))),
                ":f": False,
            },
        )

    def mark_notified(self, export_id: str) -> None:
        self._table.update_item(
            Key={"exportId": export_id},
            UpdateExpression="SET notified = :t",
            ConditionExpression="attribute_exists(exportId)",
            ExpressionAttributeValues={":t": True},
        )

    def _update(
        self,
        export_id: str,
        values: dict[str, Any],
        *,
        allowed_from: list[str],
        created_at: str | None = None,
    ) -> ExportRecord:
        values = {**values, "updatedAt": now_iso()}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        attr_values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(values.values())}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        names["#status"] = "status"
        condition = f"attribute_exists(exportId) AND {status_in(allowed_from, attr_values)}"
        if created_at is not None:
            names["#created"] = "createdAt"
            attr_values[":created"] = created_at
            condition += " AND #created = :created"
        try:
            response = self._table.update_item(
                Key={"exportId": export_id},
                UpdateExpression=f"SET {sets}",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = self.get(export_id)
            if created_at is not None and current.created_at != created_at:
                raise ExportNotFoundError(
                    f"export {export_id} was created again at {current.created_at}"
                ) from None
            raise InvalidTransitionError(
                f"export {export_id} is {current.status.value}; update not applied"
            ) from None
        return ExportRecord.from_item(response["Attributes"])
