"""Retrying an export that ended without its video: a new export of the same request, linked both ways.

The request is rebuilt from the record, so whoever asked (the API, a request file, an event) need
not have kept it: the record holds the project, workspace, resolution (as resolved then, so the
retry renders what the first would have), webhookUrl, name and metadata.

The retry's id is made first and claimed on the export (`retriedBy`) before the retry starts, so two
retries at once never both start: the second one finds the claim. A start that is refused or
withdrawn gives the claim back, so the export can be retried again."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..adapters import Adapters
from ..aws.errors import aws_errors_unavailable
from ..errors import ConflictError, describe
from ..models import ExportRecord, ExportStatus, new_export_id
from ..observability import about_export, logger
from .start import start_export

if TYPE_CHECKING:
    from ..request import ExportRequest

# A claim whose retry is not stored this long after its id was made never started (its start was
# cut short, or giving the claim back failed): past the longest any function runs (Lambda's 15 min).
STALE_CLAIM_SECONDS = 900


@aws_errors_unavailable
def retry_export(
    adapters: Adapters,
    export_id: str,
    *,
    answer_by: float | None = None,
    webhook_receiver: str | None = None,
) -> ExportRecord:
    """Start the retry of a FAILED, TIMED_OUT or CANCELLED export (its `retryOf`), named on the
    export (`retriedBy`) before it starts. ConflictError when the export is still going, SUCCEEDED,
    already retried or its stored request no longer validates; the start's own errors otherwise
    (ProjectBusyError naming the active export, AI Studios refusing), the claim then given back."""
    about_export(export_id)
    original = adapters.store.get(export_id)
    stale = _check_retryable(adapters, original)
    request = retry_request(original)
    retry_id = new_export_id()
    if not adapters.store.claim_retry(original.export_id, retry_id, replacing=stale):
        _check_retryable(adapters, adapters.store.get(export_id))  # taken meanwhile: name who took it
        raise ConflictError(f"export {export_id} was retried meanwhile", code="ExportAlreadyRetried")
    try:
        retry = start_export(
            adapters,
            request,
            trigger="api",
            answer_by=answer_by,
            export_id=retry_id,
            webhook_receiver=webhook_receiver,
            retry_of=original.export_id,
        )
    except BaseException:
        _release_unless_stored(adapters, original.export_id, retry_id)
        raise
    logger.info("export retried", extra={"retryOf": original.export_id})
    return retry


def _check_retryable(adapters: Adapters, record: ExportRecord) -> str | None:
    """Refuse an export that cannot be retried; the stale claim on it to replace, if any."""
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
    if record.retried_by and not _is_stale(adapters, record.retried_by):
        raise ConflictError(
            f"export {record.export_id} was already retried as {record.retried_by} (retry that one)",
            code="ExportAlreadyRetried",
        )
    return record.retried_by


def _is_stale(adapters: Adapters, retry_id: str) -> bool:
    """A claim whose retry never started: its id (time-ordered, models.new_export_id) was made
    STALE_CLAIM_SECONDS ago or more, and no export of that id is stored."""
    try:
        made_at = int(retry_id[:12], 16) / 1000
    except ValueError:
        return False
    return time.time() - made_at >= STALE_CLAIM_SECONDS and adapters.store.find(retry_id) is None


def _release_unless_stored(adapters: Adapters, export_id: str, retry_id: str) -> None:
    """The retry's start failed: give the claim back unless the retry is stored (kept, as when its
    withdrawal failed: it then ends on its own and is the one to retry). Should this fail, the
    claim goes stale (STALE_CLAIM_SECONDS) and is replaced by the next retry."""
    try:
        if adapters.store.find(retry_id) is None:
            adapters.store.release_retry(export_id, retry_id)
    except (BotoCoreError, ClientError):
        logger.exception("could not give back the retry's claim", extra={"retryOf": export_id})


def retry_request(record: ExportRecord) -> ExportRequest:
    """The request `record` was started from, as far as it is kept. ConflictError (409, naming the
    field) when it no longer validates: the rules changed since it was stored."""
    from pydantic import ValidationError

    from ..request import ExportRequest  # pydantic, as for every request

    try:
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
    except ValidationError as exc:
        [first, *_] = describe(exc.errors(include_url=False, include_input=False))
        raise ConflictError(
            f"export {record.export_id} cannot be retried: its stored request no longer validates "
            f"({first['field']}: {first['message']}); start a new export instead",
            code="ExportNotRetryable",
            field=first["field"],
        ) from None
