"""The export workflow's steps. Each takes typed values and returns typed values; how a step is
triggered (API, state machine, EventBridge) is the caller's business (see payloads and the handlers)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..adapters import Adapters
from ..aistudios.answers import ProjectInfo
from ..aws.errors import aws_errors_unavailable, transient_aws_errors
from ..clock import iso, iso_seconds, parse_iso, utcnow
from ..errors import (
    ExportNotFoundError,
    ExportPipelineError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from ..models import ExportRecord, ExportStatus, PollResult, VideoLocation, new_export_id
from ..observability import about_export, logger
from ..webhooks.receiver import new_token, outage_wait, receiver_url, token_hash, webhook_wait
from .endings import Ending, finish
from .payloads import execution_input
from .waiting import Sample, keep_samples, next_wait

if TYPE_CHECKING:
    from ..request import ExportRequest

# How long a project's lease outlives its export's deadline: enough for the longest delivery
# (its Task timeout times its attempts), so a lease only ever expires when its release was lost.
LEASE_MARGIN_SECONDS = 2 * 3600


@aws_errors_unavailable
def start_export(
    adapters: Adapters,
    request: ExportRequest,
    *,
    trigger: str = "api",
    answer_by: float | None = None,
    export_id: str | None = None,
    webhook_receiver: str | None = None,
) -> ExportRecord:
    """Record the export and take its project's lease, start its execution, then ask AI Studios.

    In that order, so that no render exists without a record and every record has an execution to
    end it. If AI Studios certainly did not start a render (refused, unreachable, rate limited), the
    export is withdrawn without a trace and the error propagates: the caller may simply try again.
    If the request reached AI Studios and its fate is unknown, the export is kept and its execution
    finds out. `answer_by` (monotonic seconds) bounds the AI Studios call so that the answer leaves in time.
    `export_id` is given by triggers that name the export before it starts (see intake); a second
    start with the same id finds the record and does nothing twice.

    With webhooks enabled and `webhook_receiver` (the API's `/webhooks` URL) known, AI Studios is
    given this export's own receiver URL (see webhooks.py), and the caller's webhookUrl, if any, gets
    the confirmed events from the receiver; otherwise the caller's webhookUrl goes to AI Studios as is.
    """
    settings = adapters.settings
    now = utcnow()
    export_id = export_id or new_export_id()
    about_export(export_id, request.projectId)
    deadline = now + timedelta(seconds=settings.export_deadline_seconds)
    token = new_token() if settings.webhooks_enabled and webhook_receiver else None
    record = ExportRecord(
        export_id=export_id,
        project_id=request.projectId,
        resolution=request.resolution or settings.default_resolution,
        workspace_id=request.workspaceId,
        created_at=iso(now),
        updated_at=iso(now),
        deadline_at=iso_seconds(deadline),
        trigger=trigger,
        execution_arn=settings.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + export_id,
        webhook_token_hash=token_hash(token) if token else None,
        user_webhook_url=request.webhookUrl if token else None,
    )
    lease_until = int(deadline.timestamp()) + LEASE_MARGIN_SECONDS
    adapters.store.create_with_lease(record, lease_until)
    try:
        adapters.sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=export_id,
            input=execution_input(
                record, int(settings.poll_min_wait_seconds), int(settings.poll_max_wait_seconds)
            ),
        )
    except (BotoCoreError, ClientError) as exc:
        logger.warning("could not start the export workflow", extra={"error": repr(exc)})
        _withdraw(adapters, record)
        raise TransientUpstreamError(
            "the export workflow could not be started", code="WorkflowStartFailed", retry_after=5
        ) from None
    budget = None if answer_by is None else max(0.0, answer_by - time.monotonic())
    try:
        adapters.aistudios.export(
            record.project_id,
            workspace_id=record.workspace_id,
            resolution=record.resolution,
            webhook_url=receiver_url(webhook_receiver, export_id, token)
            if webhook_receiver and token
            else request.webhookUrl,
            budget_seconds=budget,
        )
    except TransientUpstreamError as exc:
        if not exc.maybe_processed:
            _withdraw(adapters, record)
            raise
        logger.warning(
            "AI Studios may have accepted the export; its execution will find out",
            extra={"reason": exc.message},
        )
    except PermanentUpstreamError:
        _withdraw(adapters, record)
        raise
    logger.info("export started")
    adapters.lifecycle.changed(record)
    return record


def _withdraw(adapters: Adapters, record: ExportRecord) -> None:
    """Undo a start that AI Studios never acted on. The execution, if any, finds no record at its
    first poll and ends quietly; nothing is published, since the caller is told to try again."""
    try:
        adapters.store.withdraw(record)
    except (BotoCoreError, ClientError):
        logger.exception("could not withdraw the export")


@transient_aws_errors
def poll_export(
    adapters: Adapters,
    export_id: str,
    project_id: str,
    requested_at: datetime | None,
    *,
    deadline: datetime | None = None,
    samples: Sequence[Sample] = (),
) -> PollResult:
    """Read the project's progress, record it, and plan the next wait.

    An AI Studios outage is not the export's failure: the poll answers "not yet" and waits the
    longest wait; only the deadline ends an export that cannot be polled.

    The stale-100 rule: right after an export request AI Studios may still report the project's
    previous render at 100, with its old download URL. A reading of 100 counts as this export's
    render only once a poll of this export has seen the project below 100, or once
    `stale_grace_seconds` have passed since the request (a render that finished before the first
    poll looks the same as a stale one until then).
    """
    s = adapters.settings
    now = utcnow()
    try:
        progress = adapters.aistudios.progress(project_id)
    except TransientUpstreamError as exc:
        logger.warning("AI Studios unavailable; waiting", extra={"reason": exc.message})
        wait, arm = outage_wait(adapters, export_id, int(s.poll_max_wait_seconds), read_at=now)
        return PollResult(
            0.0, "unavailable", False, False, f"AI Studios unavailable: {exc.message}",
            wait, iso_seconds(now), samples=tuple(samples), arm_webhook=arm,
        )  # fmt: skip
    try:
        record = adapters.store.record_progress(export_id, progress.percent, progress.state)
    except ExportNotFoundError:
        logger.info("export withdrawn before it started; ending")
        return PollResult(0.0, "", False, False, "withdrawn", 0, iso_seconds(now), abandoned=True)
    except InvalidTransitionError as exc:
        logger.warning("progress not recorded", extra={"reason": exc.message})
        record = adapters.store.get(export_id)
    if not samples and record.status is ExportStatus.RENDERING:
        adapters.lifecycle.changed(record)  # this execution's first reading: REQUESTED -> RENDERING
    requested = requested_at or parse_iso(record.created_at)
    elapsed = (now - requested).total_seconds()
    ready = progress.done and (record.render_seen or elapsed >= s.stale_grace_seconds)
    if progress.done and not ready:
        logger.info("a 100 not yet proven to be this export's render")
    kept = keep_samples([*samples, (elapsed, progress.percent)])
    seconds_left = (deadline - now).total_seconds() if deadline else s.export_deadline_seconds - elapsed
    wait = next_wait(
        kept, min_wait=s.poll_min_wait_seconds, max_wait=s.poll_max_wait_seconds, seconds_left=seconds_left
    )
    wait, arm = webhook_wait(
        record, wait, min_wait=s.poll_min_wait_seconds, settled=ready or progress.failed, read_at=now
    )
    logger.info("export progress", extra={"progress": progress.percent, "state": progress.state})
    return PollResult(
        percent=progress.percent,
        state=progress.state,
        download_ready=ready,
        failed=progress.failed,
        detail=f"AI Studios reports state '{progress.state}' at {progress.percent:g}%",
        next_wait_seconds=wait,
        checked_at=iso_seconds(now),
        samples=tuple(kept),
        arm_webhook=arm,
    )


def object_key(adapters: Adapters, project_id: str, export_id: str) -> str:
    return f"{adapters.settings.key_prefix}/{project_id}/{export_id}.mp4"


@transient_aws_errors
def deliver_export(adapters: Adapters, export_id: str) -> Ending:
    """Copy the finished video into S3. The download URL is fetched here, fresh for every attempt."""
    record = adapters.store.get(export_id)
    about_export(project_id=record.project_id)
    if record.status is ExportStatus.SUCCEEDED:
        finish(adapters, record)
        return Ending(record, changed=False)
    if record.status.is_final:
        raise PermanentUpstreamError(f"export is already {record.status.value}", code="AlreadyFinal")
    progress = adapters.aistudios.progress(record.project_id)
    if not progress.done or progress.download_url is None:
        raise TransientUpstreamError(
            f"AI Studios no longer reports the video as ready ({progress.state} at {progress.percent:g}%)",
            code="DownloadNotReady",
        )
    delivering = adapters.store.mark_delivering(export_id)
    if record.status is not ExportStatus.DELIVERING:
        adapters.lifecycle.changed(delivering)
    bucket = adapters.settings.bucket_name
    key = object_key(adapters, record.project_id, export_id)
    project = _project_info(adapters, record.project_id)
    result = adapters.delivery.deliver(
        progress.download_url,
        bucket=bucket,
        key=key,
        metadata={"export-id": export_id, "project-id": record.project_id, "resolution": record.resolution},
        filename=project.name or f"{record.project_id}-{record.resolution}",
        resume_upload_id=record.upload_id,
        on_upload=lambda upload_id: adapters.store.mark_upload(export_id, upload_id),
        cancelled=lambda: adapters.store.get(export_id).status is ExportStatus.CANCELLED,
    )
    adapters.s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        **({"VersionId": result.version_id} if result.version_id else {}),
        Tagging={
            "TagSet": [{"Key": "sha256", "Value": result.sha256}, {"Key": "export-id", "Value": export_id}]
        },
    )
    if project.thumbnail_url:
        from ..delivery.thumbnails import copy_thumbnail  # requests: imported by the one step that fetches

        s = adapters.settings
        copy_thumbnail(
            adapters.s3,
            project.thumbnail_url,
            bucket=bucket,
            key_stem=key.removesuffix(".mp4"),
            local_origin=s.local_http_origin or None,
            allowed_hosts=s.download_allowed_hosts,
        )
    video = VideoLocation(bucket, key, result.size, result.sha256, result.etag, result.version_id)
    try:
        record = adapters.store.mark_succeeded(export_id, video)
    except InvalidTransitionError:  # cancelled while the last part was going up: leave no object
        adapters.s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": key.removesuffix(".mp4") + ".png"}]}
        )
        return Ending(adapters.store.get(export_id), changed=False)
    finish(adapters, record)
    return Ending(record, changed=True)


def _project_info(adapters: Adapters, project_id: str) -> ProjectInfo:
    """The project's name and thumbnail, if AI Studios says; a nicety, so never the export's failure."""
    try:
        return adapters.aistudios.project(project_id)
    except ExportPipelineError as exc:
        logger.warning("project details unavailable", extra={"reason": exc.message})
        return ProjectInfo(None)
