"""Retrying an export that ended without its video: a new export of the same request, linked both ways.

The request is rebuilt from the record, so whoever asked (the API, a request file, an event) need
not have kept it: the record holds the project, workspace, resolution (as resolved then, so the
retry renders what the first would have), webhookUrl, name and metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..adapters import Adapters
from ..errors import ConflictError
from ..models import ExportRecord, ExportStatus
from ..observability import about_export, logger
from .start import start_export

if TYPE_CHECKING:
    from ..request import ExportRequest


def retry_export(
    adapters: Adapters,
    export_id: str,
    *,
    answer_by: float | None = None,
    webhook_receiver: str | None = None,
) -> ExportRecord:
    """Start the retry of a FAILED, TIMED_OUT or CANCELLED export (its `retryOf`), and name it on the
    export (`retriedBy`). ConflictError when the export is still going, SUCCEEDED or already retried;
    the start's own errors otherwise (ProjectBusyError naming the active export, AI Studios refusing)."""
    about_export(export_id)
    original = adapters.store.get(export_id)
    _check_retryable(original)
    retry = start_export(
        adapters,
        retry_request(original),
        trigger="api",
        answer_by=answer_by,
        webhook_receiver=webhook_receiver,
        retry_of=original.export_id,
    )
    if not adapters.store.link_retry(original.export_id, retry.export_id):  # a retry at the same time
        logger.warning("the export was retried twice at once", extra={"retryOf": original.export_id})
    logger.info("export retried", extra={"retryOf": original.export_id})
    return retry


def _check_retryable(record: ExportRecord) -> None:
    if not record.status.is_final:
        raise ConflictError(
            f"export {record.export_id} is {record.status.value}: only an export that has ended can be "
            "retried (cancel it first)",
            code="ExportNotEnded",
        )
    if record.status is ExportStatus.SUCCEEDED:
        raise ConflictError(
            f"export {record.export_id} SUCCEEDED: there is nothing to retry", code="ExportSucceeded"
        )
    if record.retried_by:
        raise ConflictError(
            f"export {record.export_id} was already retried as {record.retried_by} (retry that one)",
            code="ExportAlreadyRetried",
        )


def retry_request(record: ExportRecord) -> ExportRequest:
    """The request `record` was started from, as far as it is kept."""
    from ..request import ExportRequest  # pydantic, as for every request

    return ExportRequest.model_validate(
        {
            "projectId": record.project_id,
            "workspaceId": record.workspace_id,
            "resolution": record.resolution,
            "webhookUrl": record.request_webhook_url,
            "name": record.name,
            "metadata": dict(record.metadata) or None,
        }
    )
