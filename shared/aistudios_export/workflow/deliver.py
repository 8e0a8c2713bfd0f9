"""Delivering an export: copy the finished video into the bucket (delivery/), tag it, copy the
project's thumbnail next to it, and end the export SUCCEEDED, notified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..adapters import Adapters
from ..aistudios.answers import ProjectInfo
from ..aws.errors import transient_aws_errors
from ..errors import (
    ExportPipelineError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from ..models import ExportRecord, ExportStatus, VideoLocation
from ..observability import about_export, logger
from .endings import Ending, finish

if TYPE_CHECKING:
    from ..delivery.multipart import DeliveryResult


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
    download_url = _download_url(adapters, record)
    delivering = adapters.store.mark_delivering(export_id)
    if record.status is not ExportStatus.DELIVERING:
        adapters.lifecycle.changed(delivering)
    result, thumbnail = _copy(adapters, record, download_url)
    video = VideoLocation(
        result.bucket, result.key, result.size, result.sha256, result.etag, result.version_id
    )
    try:
        record = adapters.store.mark_succeeded(export_id, video)
    except InvalidTransitionError:  # cancelled while the last part was going up: leave no object
        adapters.bucket.discard(result.key, *([thumbnail] if thumbnail else []))
        return Ending(adapters.store.get(export_id), changed=False)
    finish(adapters, record)
    return Ending(record, changed=True)


def _download_url(adapters: Adapters, record: ExportRecord) -> str:
    progress = adapters.aistudios.progress(record.project_id)
    if not progress.done or progress.download_url is None:
        raise TransientUpstreamError(
            f"AI Studios no longer reports the video as ready ({progress.state} at {progress.percent:g}%)",
            code="DownloadNotReady",
        )
    return progress.download_url


def _copy(adapters: Adapters, record: ExportRecord, download_url: str) -> tuple[DeliveryResult, str | None]:
    """The video into the bucket, tagged, with the project's thumbnail when AI Studios offers one
    (its key, whatever its extension, or None)."""
    export_id, bucket = record.export_id, adapters.bucket
    key = bucket.key_for(record)
    project = _project_info(adapters, record.project_id)
    # The caller's pairs as given; the stack's own names (the retry's check reads export-id) win.
    own = {"export-id": export_id, "project-id": record.project_id, "resolution": record.resolution}
    metadata = {**record.metadata, **own}
    result = adapters.delivery.deliver(
        download_url,
        bucket=bucket.name,
        key=key,
        metadata=metadata,
        filename=record.name or project.name or f"{record.project_id}-{record.resolution}",
        resume_upload_id=record.upload_id,
        on_upload=lambda upload_id: adapters.store.mark_upload(export_id, upload_id),
        cancelled=lambda: adapters.store.get(export_id).status is ExportStatus.CANCELLED,
    )
    bucket.tag(key, result.version_id, sha256=result.sha256, export_id=export_id)
    thumbnail = bucket.copy_thumbnail(project.thumbnail_url, key, metadata) if project.thumbnail_url else None
    return result, thumbnail


def _project_info(adapters: Adapters, project_id: str) -> ProjectInfo:
    """The project's name and thumbnail, if AI Studios says; a nicety, so never the export's failure."""
    try:
        return adapters.aistudios.project(project_id)
    except ExportPipelineError as exc:
        logger.warning("project details unavailable", extra={"reason": exc.message})
        return ProjectInfo(None)
