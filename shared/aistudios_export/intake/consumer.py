"""The request queue: request files put under requests/ in the bucket, and "Export Requested" events
on the stack's bus, become exports (see docs/triggers.md).

Every message on the queue is an EventBridge event, as a rule delivered it: an S3 "Object Created"
event for a request file (see request_files: its valid entries come back as messages of their own),
or an "Export Requested" event: one request, started as one export.

Export ids are derived from the EventBridge event id (and the entry's index), so a message delivered
twice starts one export. A request whose project already has an active export, or whose start failed
for a reason that may pass, stays on the queue with exponential back-off; at its last attempt it ends
as a FAILED export with a notification, and the queue moves its message to the dead-letter queue.
Bad content is never retried: an invalid request is answered (a result file, a rejection event)
and its message deleted, and a message that is not JSON at all is logged and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .. import strict_json
from ..adapters import Adapters
from ..aws.errors import error_code
from ..clock import answer_deadline, iso, utcnow
from ..errors import ExportPipelineError, PermanentUpstreamError, ProjectBusyError, RequestValidationError
from ..models import EXPORT_ID, ExportRecord, ExportStatus
from ..observability import about_export, count_ending, count_started, logger
from ..workflow.endings import finish
from ..workflow.start import start_export
from .request_files import EXPORT_REQUESTED, derived_export_id, take_request_file, validation_error

if TYPE_CHECKING:
    from ..request import ExportRequest

REQUEST_REJECTED = "Export Request Rejected"
MAX_BACKOFF_SECONDS = 900  # a busy project is freed within one render: no need to sleep longer
ANSWER_RESERVE_SECONDS = 10  # what a start may still need after AI Studios answered (AWS calls, slack)


class RetryLater(Exception):
    """Leave the message on the queue and receive it again in `delay` seconds."""

    def __init__(self, reason: str, delay: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


@dataclass(frozen=True)
class QueueMessage:
    """One message as the queue handed it over."""

    body: str
    receive_count: int


def process(
    adapters: Adapters, message: QueueMessage, receipt_handle: str, lambda_context: Any = None
) -> None:
    """Process one message of a batch; when it must wait, it becomes visible again after its back-off."""
    try:
        handle(adapters, message, lambda_context)
    except RetryLater as exc:
        adapters.queue.retry_later(receipt_handle, exc.delay)
        raise


def handle(adapters: Adapters, message: QueueMessage, lambda_context: Any = None) -> None:
    """Process one queue message; RetryLater (or any other error) leaves it on the queue."""
    try:
        event = strict_json.read(message.body)  # each value is checked where it is used (the detail)
    except RequestValidationError as exc:
        logger.error(
            "queue message is not JSON; dropped", extra={"size": len(message.body), "reason": str(exc)}
        )
        return
    if not isinstance(event, dict):
        logger.error("queue message is not an event; dropped")
        return
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        take_request_file(adapters, event)
    elif event.get("detail-type") == EXPORT_REQUESTED:
        trigger = "s3" if event.get("requestFile") else "eventbridge"
        export_id = _queued_export_id(event) or derived_export_id(str(event.get("id", "")))
        start_requested(
            adapters, event.get("detail"), export_id, trigger, message.receive_count, lambda_context
        )
    else:
        logger.warning(
            "unexpected event on the request queue; dropped", extra={"detailType": event.get("detail-type")}
        )


def _queued_export_id(event: dict[str, Any]) -> str | None:
    """The id a request file's entry was given when it was queued (an EventBridge event has none)."""
    export_id = event.get("exportId")
    return export_id if isinstance(export_id, str) and EXPORT_ID.match(export_id) else None


# -- one request -----------------------------------------------------------------------------------


def start_requested(
    adapters: Adapters,
    detail: Any,
    export_id: str,
    trigger: str,
    receive_count: int,
    lambda_context: Any = None,
) -> None:
    """Start one queued request as export `export_id`, unless it already was."""
    about_export(export_id)
    request = _valid_request(adapters, detail, export_id)
    if request is None:
        return
    about_export(project_id=request.projectId)
    if _exists(adapters, export_id):
        logger.info("request already started; duplicate delivery ignored")
        return
    try:
        start_export(
            adapters,
            request,
            trigger=trigger,
            export_id=export_id,
            answer_by=answer_deadline(lambda_context, ANSWER_RESERVE_SECONDS),
            webhook_receiver=adapters.settings.webhook_receiver_url or None,
            attempt=receive_count,
        )
        count_started()
        return
    except ProjectBusyError as exc:
        if exc.active_export_id == export_id:
            return
        reason: ExportPipelineError = exc
    except PermanentUpstreamError as exc:
        fail_request(adapters, export_id, request, trigger, exc.code, exc.message)
        return
    except ExportPipelineError as exc:  # transient: AI Studios, AWS, the lease changing hands
        reason = exc
    _retry_later(adapters, export_id, request, trigger, receive_count, reason)


def _valid_request(adapters: Adapters, detail: Any, export_id: str) -> ExportRequest | None:
    """The request, or None once an invalid one has been announced as rejected."""
    # pydantic (the request model) is imported by the first message, not by the consumer's import:
    # with the batch utility it would cost the consumer 1.8x `import boto3` (make bench-coldstart)
    from ..request import parse_export_request

    try:
        strict_json.check(detail)  # what a strict JSON reader refuses, named before pydantic sees it
        return parse_export_request(detail)
    except RequestValidationError as exc:
        logger.warning("invalid export request; rejected", extra={"errors": exc.errors})
        adapters.lifecycle.put(
            REQUEST_REJECTED, {"exportId": export_id, "error": validation_error(exc)}, [], export_id=export_id
        )
        return None


def _retry_later(
    adapters: Adapters,
    export_id: str,
    request: ExportRequest,
    trigger: str,
    receive_count: int,
    reason: ExportPipelineError,
) -> None:
    """Back off exponentially; at the last attempt, the request ends as a FAILED export."""
    attempts = adapters.settings.request_max_attempts
    if receive_count >= attempts:
        message = f"not started after {attempts} attempts: {reason.message}"
        fail_request(adapters, export_id, request, trigger, reason.code, message)
        raise RetryLater(f"gave up: {reason.message}", delay=0)  # the queue moves it to the dead-letter queue
    delay = min(adapters.settings.request_retry_base_seconds * 2 ** (receive_count - 1), MAX_BACKOFF_SECONDS)
    logger.info(
        "request cannot start yet; retrying",
        extra={"reason": reason.message, "attempt": receive_count, "retryInSeconds": delay},
    )
    raise RetryLater(reason.message, delay=delay)


def fail_request(
    adapters: Adapters, export_id: str, request: ExportRequest, trigger: str, code: str, message: str
) -> None:
    """A request that will never start ends as a FAILED export, notified like any other."""
    now = iso(utcnow())
    record = ExportRecord(
        export_id=export_id,
        project_id=request.projectId,
        resolution=request.resolution or adapters.settings.default_resolution,
        workspace_id=request.workspaceId,
        status=ExportStatus.FAILED,
        created_at=now,
        updated_at=now,
        finished_at=now,
        trigger=trigger,
        error={"code": code, "message": message},
        name=request.name,
        metadata=dict(request.metadata or {}),
        direct_webhook_url=request.webhookUrl,  # kept for a retry (workflow/retry.py)
    )
    try:
        adapters.store.create(record)
        count_ending(ExportStatus.FAILED, changed=True)
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        record = adapters.store.get(export_id)
    logger.warning("queued request failed", extra={"code": code, "reason": message})
    finish(adapters, record)


def _exists(adapters: Adapters, export_id: str) -> bool:
    return adapters.store.find(export_id) is not None
