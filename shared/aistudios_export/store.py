"""The exports table: one item per export, status transitions guarded by conditions."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from .errors import ExportNotFoundError, InvalidTransitionError
from .models import FINAL_STATUSES, ExportStatus

PROJECT_INDEX = "byProject"
_OPEN = [s.value for s in ExportStatus if s not in FINAL_STATUSES]


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_export_id() -> str:
    """Time-ordered, unguessable, valid as a Step Functions execution name (<= 80 chars)."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


@dataclass
class VideoLocation:
    bucket: str
    key: str
    size: int
    sha256: str
    etag: str = ""
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass
class ExportRecord:
    export_id: str
    project_id: str
    resolution: str
    status: ExportStatus = ExportStatus.REQUESTED
    workspace_id: str | None = None
    progress: float = 0.0
    upstream_state: str = ""
    created_at: str = field(default_factory=utcnow)
    updated_at: str = field(default_factory=utcnow)
    deadline_at: str = ""
    finished_at: str | None = None
    trigger: str = "api"
    execution_arn: str | None = None
    video: VideoLocation | None = None
    error: dict[str, str] | None = None
    notified: bool = False

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "exportId": self.export_id,
            "projectId": self.project_id,
            "resolution": self.resolution,
            "status": self.status.value,
            "progress": Decimal(str(round(self.progress, 2))),
            "upstreamState": self.upstream_state,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deadlineAt": self.deadline_at,
            "trigger": self.trigger,
            "notified": self.notified,
        }
        optional = {
            "workspaceId": self.workspace_id,
            "finishedAt": self.finished_at,
            "executionArn": self.execution_arn,
            "video": _video_item(self.video),
            "error": self.error,
        }
        item.update({k: v for k, v in optional.items() if v is not None})
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ExportRecord:
        video = item.get("video")
        return cls(
            export_id=item["exportId"],
            project_id=item["projectId"],
            resolution=item.get("resolution", "1080"),
            status=ExportStatus(item["status"]),
            workspace_id=item.get("workspaceId"),
            progress=float(item.get("progress", 0)),
            upstream_state=item.get("upstreamState", ""),
            created_at=item["createdAt"],
            updated_at=item.get("updatedAt", item["createdAt"]),
            deadline_at=item.get("deadlineAt", ""),
            finished_at=item.get("finishedAt"),
            trigger=item.get("trigger", "api"),
            execution_arn=item.get("executionArn"),
            video=VideoLocation(
                bucket=video["bucket"],
                key=video["key"],
                size=int(video["size"]),
                sha256=video["sha256"],
                etag=video.get("etag", ""),
                version_id=video.get("versionId"),
            )
            if video
            else None,
            error=dict(item["error"]) if item.get("error") else None,
            notified=bool(item.get("notified", False)),
        )


def _video_item(video: VideoLocation | None) -> dict[str, Any] | None:
    if video is None:
        return None
    out: dict[str, Any] = {
        "bucket": video.bucket,
        "key": video.key,
        "size": video.size,
        "sha256": video.sha256,
        "etag": video.etag,
    }
    if video.version_id:
        out["versionId"] = video.version_id
    return out


class ExportStore:
    """DynamoDB access for export records. `table` is a boto3 DynamoDB Table resource."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, record: ExportRecord) -> ExportRecord:
        self._table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(exportId)")
        return record

    def get(self, export_id: str) -> ExportRecord:
        item = self._table.get_item(Key={"exportId": export_id}, ConsistentRead=True).get("Item")
        if not item:
            raise ExportNotFoundError(f"no export with id {export_id}")
        return ExportRecord.from_item(item)

    def list_by_project(self, project_id: str, limit: int = 50) -> list[ExportRecord]:
        response = self._table.query(
            IndexName=PROJECT_INDEX,
            KeyConditionExpression="projectId = :p",
            ExpressionAttributeValues={":p": project_id},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ExportRecord.from_item(i) for i in response.get("Items", [])]

    def record_progress(self, export_id: str, progress: float, state: str) -> ExportRecord:
        return self._update(
            export_id,
            {
                "status": ExportStatus.RENDERING.value,
                "progress": Decimal(str(round(progress, 2))),
                "upstreamState": state,
            },
            allowed_from=[ExportStatus.REQUESTED.value, ExportStatus.RENDERING.value],
        )

    def mark_execution(self, export_id: str, execution_arn: str) -> ExportRecord:
        return self._update(export_id, {"executionArn": execution_arn}, allowed_from=_OPEN)

    def mark_delivering(self, export_id: str) -> ExportRecord:
        return self._update(
            export_id,
            {"status": ExportStatus.DELIVERING.value, "progress": Decimal(100)},
            allowed_from=_OPEN,
        )

    def mark_succeeded(self, export_id: str, video: VideoLocation) -> ExportRecord:
        return self._update(
            export_id,
            {
                "status": ExportStatus.SUCCEEDED.value,
                "video": _video_item(video),
                "finishedAt": utcnow(),
                "notified": False,
            },
            allowed_from=_OPEN,
        )

    def mark_failed(self, export_id: str, status: ExportStatus, code: str, message: str) -> ExportRecord:
        if status not in FINAL_STATUSES or status is ExportStatus.SUCCEEDED:
            raise ValueError(f"{status} is not a failure status")
        return self._update(
            export_id,
            {
                "status": status.value,
                "error": {"code": code, "message": message[:1000]},
                "finishedAt": utcnow(),
                "notified": False,
            },
            allowed_from=_OPEN,
        )

    def mark_notified(self, export_id: str) -> None:
        self._table.update_item(
            Key={"exportId": export_id},
            UpdateExpression="SET notified = :t",
            ConditionExpression="attribute_exists(exportId)",
            ExpressionAttributeValues={":t": True},
        )

    def _update(self, export_id: str, values: dict[str, Any], *, allowed_from: list[str]) -> ExportRecord:
        values = {**values, "updatedAt": utcnow()}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        attr_values: dict[str, Any] = {f":v{i}": value for i, value in enumerate(values.values())}
        sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        allowed = []
        for i, status in enumerate(allowed_from):
            attr_values[f":s{i}"] = status
            allowed.append(f":s{i}")
        names["#status"] = "status"
        try:
            response = self._table.update_item(
                Key={"exportId": export_id},
                UpdateExpression=f"SET {sets}",
                ConditionExpression=f"attribute_exists(exportId) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            current = self.get(export_id)
            raise InvalidTransitionError(
                f"export {export_id} is {current.status.value}; update not applied"
            ) from None
        return ExportRecord.from_item(response["Attributes"])
