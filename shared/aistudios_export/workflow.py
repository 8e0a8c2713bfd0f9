"""The export workflow's steps. Each takes typed values and returns typed values; how a step is
triggered (API, state machine, EventBridge) is the caller's business (see payloads and the handlers)."""

from __future__ import annotations

from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from .adapters import Adapters
from .aws_errors import transient_aws_errors
from .clock import iso, iso_seconds, utcnow
from .errors import (
    ExportNotFoundError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from .models import ExportRecord, ExportStatus, Failure, PollResult, VideoLocation, new_export_id
from .observability import logger
from .payloads import execution_input
from .request import ExportRequest
from .waiting import next_wait_seconds


def start_export(adapters: Adapters, request: ExportRequest, *, trigger: str = "api") -> ExportRecord:
    """Request the export upstream, store the record, start the execution named after the exportId.

    Upstream errors propagate before anything is stored. If the execution cannot be started the
    record is marked FAILED, the failure is notified, and the error propagates as transient.
    """
    settings = adapters.settings
    resolution = request.resolution or settings.default_resolution
    adapters.aistudios.export(
        request.projectId,
        workspace_id=request.workspaceId,
        resolution=resolution,
        webhook_url=request.webhookUrl,
    )
    now = utcnow()
    record = ExportRecord(
        export_id=new_export_id(),
        project_id=request.projectId,
        resolution=resolution,
        workspace_id=request.workspaceId,
        created_at=iso(now),
        updated_at=iso(now),
        deadline_at=iso_seconds(now + timedelta(seconds=settings.export_deadline_seconds)),
        trigger=trigger,
    )
    adapters.store.create(record)
    try:
        started = adapters.sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=record.export_id,
            input=execution_input(record, int(settings.poll_min_wait_seconds)),
        )
    except (BotoCoreError, ClientError) as exc:
        logger.exception("could not start the export workflow", extra={"exportId": record.export_id})
        failure = Failure(ExportStatus.FAILED, "WorkflowStartFailed", type(exc).__name__)
        record_failure(adapters, record.export_id, failure)
        raise TransientUpstreamError(
            "the export workflow could not be started", code="WorkflowStartFailed", retry_after=5
        ) from None
    record = adapters.store.mark_execution(record.export_id, started["executionArn"])
    logger.info("export started", extra={"exportId": record.export_id, "projectId": record.project_id})
    return record


@transient_aws_errors
def poll_export(
    adapters: Adapters, export_id: str, project_id: str, requested_at: datetime | None
) -> PollResult:
    """Read the project's progress, record it, and plan the next wait."""
    progress = adapters.aistudios.progress(project_id)
    now = utcnow()
    try:
        adapters.store.record_progress(export_id, progress.percent, progress.state)
    except InvalidTransitionError as exc:
        logger.warning("progress not recorded", extra={"exportId": export_id, "reason": exc.message})
    elapsed = (now - (requested_at or now)).total_seconds()
    s = adapters.settings
    logger.info(
        "export progress",
        extra={"exportId": export_id, "progress": progress.percent, "state": progress.state},
    )
    return PollResult(
        percent=progress.percent,
        state=progress.state,
        download_ready=progress.done,
        failed=progress.failed,
        detail=f"AI Studios reports state '{progress.state}' at {progress.percent:g}%",
        next_wait_seconds=next_wait_seconds(
            progress.percent, elapsed, s.poll_min_wait_seconds, s.poll_max_wait_seconds
        ),
        checked_at=iso_seconds(now),
    )


def object_key(adapters: Adapters, project_id: str, export_id: str) -> str:
    return f"{adapters.settings.key_prefix}/{project_id}/{export_id}.mp4"


@transient_aws_errors
def deliver_export(adapters: Adapters, export_id: str) -> ExportRecord:
    """Copy the finished video into S3. The download URL is fetched here, fresh for every attempt."""
    record = adapters.store.get(export_id)
    if record.status is ExportStatus.SUCCEEDED:
        _notify_once(adapters, record)
        return record
    if record.status.is_final:
        raise PermanentUpstreamError(f"export is already {record.status.value}", code="AlreadyFinal")
    progress = adapters.aistudios.progress(record.project_id)
    if not progress.done or progress.download_url is None:
        raise TransientUpstreamError(
            f"AI Studios no longer reports the video as ready ({progress.state} at {progress.percent:g}%)",
            code="DownloadNotReady",
        )
    adapters.store.mark_delivering(export_id)
    bucket = adapters.settings.bucket_name
    key = object_key(adapters, record.project_id, export_id)
    result = adapters.delivery.deliver(
        progress.download_url,
        bucket=bucket,
        key=key,
        metadata={"export-id": export_id, "project-id": record.project_id, "resolution": record.resolution},
    )
    adapters.s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        **({"VersionId": result.version_id} if result.version_id else {}),
        Tagging={
            "TagSet": [{"Key": "sha256", "Value": result.sha256}, {"Key": "export-id", "Value": export_id}]
        },
    )
    video = VideoLocation(bucket, key, result.size, result.sha256, result.etag, result.version_id)
    record = adapters.store.mark_succeeded(export_id, video)
    _notify_once(adapters, record)
    return record


@transient_aws_errors
def record_failure(adapters: Adapters, export_id: str, failure: Failure) -> ExportRecord:
    """Give the export its final failure status (unless it already has one) and notify once."""
    try:
        record = adapters.store.mark_failed(export_id, failure.status, failure.code, failure.message)
    except InvalidTransitionError:
        record = adapters.store.get(export_id)
    _notify_once(adapters, record)
    logger.info(
        "export ended", extra={"exportId": export_id, "status": record.status.value, "code": failure.code}
    )
    return record


@transient_aws_errors
def record_execution_end(adapters: Adapters, export_id: str, failure: Failure) -> ExportRecord | None:
    """The safety net for executions that ended without reaching the failure path (stopped by hand,
    timed out, failed outside a Catch); None when the execution belongs to no known export."""
    try:
        record = adapters.store.get(export_id)
    except ExportNotFoundError:
        logger.warning("execution ended for an unknown export", extra={"exportId": export_id})
        return None
    if record.status.is_final and record.notified:
        return record
    return record_failure(adapters, export_id, failure)


def _notify_once(adapters: Adapters, record: ExportRecord) -> None:
    if record.notified:
        return
    adapters.notifier.publish(record)
    adapters.store.mark_notified(record.export_id)
