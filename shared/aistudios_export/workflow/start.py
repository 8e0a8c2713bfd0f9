"""Starting an export: record it (with its project's lease), start its execution, ask AI Studios.

In that order, so that no render exists without a record and every record has an execution to end
it. How a start is triggered (API, request queue) is the caller's business."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..adapters import Adapters
from ..aistudios.answers import AuthRejected
from ..aws.errors import aws_errors_unavailable
from ..clock import iso, iso_seconds, parse_iso, utcnow
from ..errors import PermanentUpstreamError, TransientUpstreamError
from ..models import ExportRecord, new_export_id
from ..observability import about_export, logger
from ..webhooks.tokens import new_token, receiver_url, token_hash
from .payloads import execution_input, execution_name
from .resubmit import says_no_export

if TYPE_CHECKING:
    from ..request import ExportRequest

# How long a project's lease outlives its export's deadline: enough for the longest delivery
# (its Task timeout times its attempts), so a lease only ever expires when its release was lost.
LEASE_MARGIN_SECONDS = 2 * 3600
PREVIOUS_VIDEO_BUDGET_SECONDS = 3.0  # the look at the project before the request (past connecting)


@aws_errors_unavailable
def start_export(
    adapters: Adapters,
    request: ExportRequest,
    *,
    trigger: str = "api",
    answer_by: float | None = None,
    export_id: str | None = None,
    webhook_receiver: str | None = None,
    attempt: int = 1,
    retry_of: str | None = None,
) -> ExportRecord:
    """Record the export and take its project's lease, start its execution, then ask AI Studios.

    If AI Studios certainly did not start a render (refused, unreachable, rate limited), the export
    is withdrawn without a trace and the error propagates: the caller may simply try again. If the
    request reached AI Studios and its fate is unknown, the export is kept and its execution finds
    out. `answer_by` (monotonic seconds) bounds the AI Studios call so that the answer leaves in time.
    `export_id` is given by triggers that name the export before it starts (see intake); a second
    start with the same id finds the record and does nothing twice. Its `attempt` (the queue's
    receive count) names the execution: a start withdrawn after a refusal leaves its execution
    behind, and Step Functions refuses a name for 90 days, so a later attempt needs a name of its own.

    With webhooks enabled and `webhook_receiver` (the API's `/webhooks` URL) known, AI Studios is
    given this export's own receiver URL (see webhooks/), and the caller's webhookUrl, if any, gets
    the confirmed events from the receiver; otherwise the caller's webhookUrl goes to AI Studios as is.
    `retry_of`: the export this one retries (workflow/retry.py).
    """
    settings = adapters.settings
    now = utcnow()
    export_id = export_id or new_export_id()
    about_export(export_id, request.projectId)
    token = new_token() if settings.webhooks_enabled and webhook_receiver else None
    name = execution_name(export_id, attempt)
    record = _new_record(adapters, request, export_id, trigger, token, now, name)
    record.retry_of = retry_of
    record.previous_video = _previous_video(adapters, request.projectId, answer_by)
    lease_until = int(parse_iso(record.deadline_at).timestamp()) + LEASE_MARGIN_SECONDS
    adapters.store.create_with_lease(record, lease_until)
    _start_execution(adapters, record, name)
    webhook_url = request.webhookUrl
    if webhook_receiver and token:
        webhook_url = receiver_url(webhook_receiver, export_id, token)
    _ask_aistudios(adapters, record, webhook_url, answer_by)
    logger.info("export started")
    adapters.lifecycle.changed(record)
    return record


def _new_record(
    adapters: Adapters,
    request: ExportRequest,
    export_id: str,
    trigger: str,
    token: str | None,
    now: datetime,
    execution: str,
) -> ExportRecord:
    settings = adapters.settings
    deadline = now + timedelta(seconds=settings.export_deadline_seconds)
    return ExportRecord(
        export_id=export_id,
        project_id=request.projectId,
        resolution=request.resolution or settings.default_resolution,
        workspace_id=request.workspaceId,
        created_at=iso(now),
        updated_at=iso(now),
        deadline_at=iso_seconds(deadline),
        trigger=trigger,
        execution_arn=adapters.executions.arn_of(execution),
        webhook_token_hash=token_hash(token) if token else None,
        user_webhook_url=request.webhookUrl if token else None,
        direct_webhook_url=None if token else request.webhookUrl,
        name=request.name,
        metadata=dict(request.metadata or {}),
    )


def _previous_video(adapters: Adapters, project_id: str, answer_by: float | None) -> str | None:
    """The video file the project offers before the request ("" none), so that a 100 still showing
    it afterwards is known for the previous render's (workflow/poll.py); None when it could not be
    read in time (the poll then falls back on the time grace)."""
    budget = adapters.settings.connect_timeout + PREVIOUS_VIDEO_BUDGET_SECONDS
    if answer_by is not None:  # leave the export POST most of what the answer has left
        budget = min(budget, (answer_by - time.monotonic()) / 3)
    if budget < adapters.settings.connect_timeout + 0.5:
        logger.warning("no time to look at the project before the request")
        return None
    try:
        return adapters.aistudios.progress(project_id, budget_seconds=budget).video_file
    except PermanentUpstreamError as exc:
        if says_no_export(exc):
            return ""
        reason = exc.message
    except (TransientUpstreamError, AuthRejected) as exc:
        reason = str(exc)
    logger.warning("could not look at the project before the request", extra={"reason": reason})
    return None


def _start_execution(adapters: Adapters, record: ExportRecord, name: str) -> None:
    settings = adapters.settings
    first_wait, max_wait = int(settings.poll_min_wait_seconds), int(settings.poll_max_wait_seconds)
    try:
        adapters.executions.start(name, execution_input(record, first_wait, max_wait))
    except (BotoCoreError, ClientError) as exc:
        logger.warning("could not start the export workflow", extra={"error": repr(exc)})
        _withdraw(adapters, record)
        raise TransientUpstreamError(
            "the export workflow could not be started", code="WorkflowStartFailed", retry_after=5
        ) from None


def _ask_aistudios(
    adapters: Adapters, record: ExportRecord, webhook_url: str | None, answer_by: float | None
) -> None:
    """The export POST; withdrawn when AI Studios certainly did not act on it, kept when it may have."""
    budget = None if answer_by is None else max(0.0, answer_by - time.monotonic())
    try:
        adapters.aistudios.export(
            record.project_id,
            workspace_id=record.workspace_id,
            resolution=record.resolution,
            webhook_url=webhook_url,
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
        _mark_ambiguous(adapters, record)
    except PermanentUpstreamError:
        _withdraw(adapters, record)
        raise


def _mark_ambiguous(adapters: Adapters, record: ExportRecord) -> None:
    """Let the execution know the POST got no verdict (workflow/resubmit.py). Should this write fail,
    the export goes on as before the rule: polled, and ended FAILED if AI Studios has no export."""
    try:
        adapters.store.mark_start_ambiguous(record.export_id)
    except (BotoCoreError, ClientError):
        logger.exception("could not record that the export's start was ambiguous")


def _withdraw(adapters: Adapters, record: ExportRecord) -> None:
    """Undo a start that AI Studios never acted on. The execution, if any, finds no record at its
    first poll and ends quietly; nothing is published, since the caller is told to try again."""
    try:
        adapters.store.withdraw(record)
    except (BotoCoreError, ClientError):
        logger.exception("could not withdraw the export")
