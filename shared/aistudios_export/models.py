"""The export's vocabulary and record: statuses, resolutions, the stored record and its video."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, get_args

from .clock import now_iso

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")  # an AI Studios project id
EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")  # what new_export_id makes (and a queued request's derived id)
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,128}$")  # an Idempotency-Key: 1 to 128 printable ASCII characters
# A caller's references (request.py checks them, docs/api.md explains them). `name` goes into object
# keys and file names: ASCII letters, digits, space, '.', '_' and '-', starting and ending with a letter
# or digit (so never '.', '..' nor a leading '-'). Metadata becomes S3 user metadata and SNS message
# body fields: S3 lowercases its keys and sends them as HTTP headers (x-amz-meta-<key>), so a key is
# lowercase letters, digits and '-'; S3 does not return a value with unprintable characters, so a value
# is printable ASCII; S3 allows 2 KB of keys and values per object, the caller has METADATA_TOTAL of it.
# (Python: check with fullmatch, since "$" also matches before a final newline.)
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,98}[A-Za-z0-9])?$")
METADATA_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
METADATA_VALUE = re.compile(r"^[ -~]{0,256}$")
METADATA_PAIRS = 10
METADATA_TOTAL = 1536  # characters of keys and values together (ASCII: bytes), of S3's 2 KB
# The object metadata the stack writes itself (delivery: export-id also tells a retried delivery its
# own object), which a caller's metadata must not overwrite.
METADATA_RESERVED = ("export-id", "project-id", "resolution")
Resolution = Literal["4k", "1080", "720", "480"]
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
VIDEO_CONTENT_TYPE = "video/mp4"


class ExportStatus(StrEnum):
    REQUESTED = "REQUESTED"
    RENDERING = "RENDERING"
    DELIVERING = "DELIVERING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {ExportStatus.SUCCEEDED, ExportStatus.FAILED, ExportStatus.TIMED_OUT, ExportStatus.CANCELLED}
)
OPEN_STATUSES = frozenset(set(ExportStatus) - FINAL_STATUSES)
FAILURE_STATUSES = FINAL_STATUSES - {ExportStatus.SUCCEEDED}


def new_export_id() -> str:
    """Time-ordered, unguessable, valid as a Step Functions execution name (<= 80 chars)."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
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

    def to_item(self) -> dict[str, Any]:
        """As stored in the exports table."""
        item: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
        }
        if self.version_id:
            item["versionId"] = self.version_id
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> VideoLocation:
        return cls(
            bucket=item["bucket"],
            key=item["key"],
            size=int(item["size"]),
            sha256=item["sha256"],
            etag=item.get("etag", ""),
            version_id=item.get("versionId"),
        )

    def to_public(self) -> dict[str, Any]:
        """As notifications and the status API show it."""
        public: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key,
            "uri": self.uri,
            "size": self.size,
            "sha256": self.sha256,
            "contentType": VIDEO_CONTENT_TYPE,
        }
        if self.version_id:
            public["versionId"] = self.version_id
        return public


@dataclass
class ExportRecord:
    export_id: str
    project_id: str
    resolution: str
    status: ExportStatus = ExportStatus.REQUESTED
    workspace_id: str | None = None
    progress: float = 0.0
    upstream_state: str = ""
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    deadline_at: str = ""
    finished_at: str | None = None
    trigger: str = "api"
    execution_arn: str | None = None
    video: VideoLocation | None = None
    error: dict[str, str] | None = None
    notified: bool = False
    render_seen: bool = False  # a poll of this export saw the project below 100 (the stale-100 rule)
    upload_id: str | None = None  # the multipart upload a delivery attempt started, for the next to resume
    # The export POST's answer was no verdict (500/502/504, a timeout or reset after sending): the
    # execution finds out whether AI Studios has the export, and asks once more if not (resubmittedAt).
    start_ambiguous: bool = False
    resubmitted_at: str | None = None
    # The video file the project offered just before the request ("" none; None unknown): a 100 on
    # that same file is the previous render's (workflow/poll.py, the stale-100 rule).
    previous_video: str | None = field(default=None, repr=False)
    # Webhooks (see webhooks/receiver.py): the receiver token's SHA-256, the caller's own webhookUrl, when a
    # webhook's 100 was confirmed, the events already taken (replays are refused), and the task token
    # of the interruptible wait the state machine armed last (written by the state machine itself).
    webhook_token_hash: str | None = field(default=None, repr=False)
    user_webhook_url: str | None = field(default=None, repr=False)
    webhook_confirmed_at: str | None = None
    webhook_refusals: int = 0  # webhooks AI Studios did not confirm (the receiver stops asking at a cap)
    webhook_events: frozenset[str] = frozenset()
    wait_token: str | None = field(default=None, repr=False)
    # The caller's references (NAME, METADATA_KEY, METADATA_VALUE), returned and published as given.
    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # A retry (workflow/retry.py) names the export it retries, which names its retry in turn.
    retry_of: str | None = None
    retried_by: str | None = None
    # The request's webhookUrl when it went to AI Studios as is (no receiver): kept for a retry.
    direct_webhook_url: str | None = field(default=None, repr=False)

    @property
    def request_webhook_url(self) -> str | None:
        """The webhookUrl the request gave, wherever it went."""
        return self.user_webhook_url or self.direct_webhook_url

    def to_item(self) -> dict[str, Any]:
        """As stored in the exports table."""
        item: dict[str, Any] = {
            "exportId": self.export_id,
            "projectId": self.project_id,
            "resolution": self.resolution,
            "status": self.status.value,
            "progress": progress_item(self.progress),
            "upstreamState": self.upstream_state,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deadlineAt": self.deadline_at,
            "trigger": self.trigger,
            "notified": self.notified,
            "renderSeen": self.render_seen,
        }
        optional = {
            "workspaceId": self.workspace_id,
            "finishedAt": self.finished_at,
            "executionArn": self.execution_arn,
            "uploadId": self.upload_id,
            "startAmbiguous": self.start_ambiguous or None,
            "resubmittedAt": self.resubmitted_at,
            "previousVideo": self.previous_video,
            "webhookTokenHash": self.webhook_token_hash,
            "userWebhookUrl": self.user_webhook_url,
            "webhookConfirmedAt": self.webhook_confirmed_at,
            "webhookRefusals": self.webhook_refusals or None,
            "webhookEvents": set(self.webhook_events) or None,
            "waitToken": self.wait_token,
            "name": self.name,
            "metadata": dict(self.metadata) or None,
            "retryOf": self.retry_of,
            "retriedBy": self.retried_by,
            "directWebhookUrl": self.direct_webhook_url,
            "video": self.video.to_item() if self.video else None,
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
            video=VideoLocation.from_item(video) if video else None,
            error=dict(item["error"]) if item.get("error") else None,
            notified=bool(item.get("notified", False)),
            render_seen=bool(item.get("renderSeen", False)),
            upload_id=item.get("uploadId"),
            start_ambiguous=bool(item.get("startAmbiguous", False)),
            resubmitted_at=item.get("resubmittedAt"),
            previous_video=item.get("previousVideo"),
            webhook_token_hash=item.get("webhookTokenHash"),
            user_webhook_url=item.get("userWebhookUrl"),
            webhook_confirmed_at=item.get("webhookConfirmedAt"),
            webhook_refusals=int(item.get("webhookRefusals", 0)),
            webhook_events=frozenset(item.get("webhookEvents") or ()),
            wait_token=item.get("waitToken"),
            name=item.get("name"),
            metadata={str(k): str(v) for k, v in (item.get("metadata") or {}).items()},
            retry_of=item.get("retryOf"),
            retried_by=item.get("retriedBy"),
            direct_webhook_url=item.get("directWebhookUrl"),
        )


def progress_item(progress: float) -> Decimal:
    """Progress as the table stores it: a Decimal with two places."""
    return Decimal(str(round(progress, 2)))


@dataclass(frozen=True)
class PollResult:
    """What one progress poll found, and how long to wait before the next one."""

    percent: float
    state: str
    download_ready: bool
    failed: bool
    detail: str
    next_wait_seconds: int
    checked_at: str
    abandoned: bool = False  # the export was withdrawn before AI Studios rendered it: end quietly
    samples: tuple[tuple[float, float], ...] = ()  # what the next poll plans its wait from
    arm_webhook: bool = False  # wait in the interruptible wait a confirmed webhook can end early


@dataclass(frozen=True)
class Failure:
    """How an export that did not succeed ends: a final status, an error code and a message."""

    status: ExportStatus
    code: str
    message: str
