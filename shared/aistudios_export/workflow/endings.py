"""How an export ends: the failure path, the execution-status safety net, a cancel through the API,
and what every final status leads to (the project freed, subscribers told once)."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters import Adapters
from ..aws.errors import transient_aws_errors
from ..errors import ConflictError, ExportNotFoundError, InvalidTransitionError
from ..models import ExportRecord, ExportStatus, Failure
from ..observability import about_export, logger


@dataclass(frozen=True)
class Ending:
    """A step that may end an export: the record as it now is, and whether this call ended it."""

    record: ExportRecord
    changed: bool


@transient_aws_errors
def record_failure(adapters: Adapters, export_id: str, failure: Failure) -> Ending:
    """Give the export its final failure status (unless it already has one) and notify once."""
    changed = True
    try:
        record = adapters.store.mark_failed(export_id, failure.status, failure.code, failure.message)
    except InvalidTransitionError:
        record = adapters.store.get(export_id)
        changed = False
    about_export(project_id=record.project_id)
    finish(adapters, record)
    logger.info("export ended", extra={"status": record.status.value, "code": failure.code})
    return Ending(record, changed)


@transient_aws_errors
def record_execution_end(
    adapters: Adapters, export_id: str, failure: Failure, execution_arn: str | None = None
) -> Ending | None:
    """The safety net for executions that ended without reaching the failure path (stopped by hand,
    timed out, failed outside a Catch); None when the execution belongs to no known export, or is
    not the one its export runs in (an earlier attempt's, withdrawn before AI Studios rendered it)."""
    try:
        record = adapters.store.get(export_id)
    except ExportNotFoundError:
        logger.warning("execution ended for an unknown export")
        return None
    if execution_arn and record.execution_arn and record.execution_arn != execution_arn:
        logger.info("an earlier attempt's execution ended; the export runs in another")
        return None
    if record.status.is_final and record.notified:
        adapters.store.release_lease(record.project_id, export_id)
        return Ending(record, changed=False)
    return record_failure(adapters, export_id, failure)


def finish(adapters: Adapters, record: ExportRecord) -> None:
    """What every final status leads to: the project is free again, and subscribers hear of it once."""
    adapters.store.release_lease(record.project_id, record.export_id)
    if record.notified or not adapters.store.claim_notification(record.export_id):
        return
    adapters.notifier.publish(record)
    adapters.lifecycle.changed(record)
    adapters.store.mark_notified(record.export_id)


@transient_aws_errors
def cancel_export(adapters: Adapters, export_id: str) -> Ending:
    """Stop the export's execution and end it CANCELLED, notified. A copy in progress notices and
    aborts its upload (see deliver_export); ConflictError when the export has already ended."""
    record = adapters.store.get(export_id)
    if record.status.is_final:
        raise ConflictError(
            f"export {export_id} already ended {record.status.value}", code="ExportAlreadyEnded"
        )
    if record.execution_arn:
        adapters.executions.stop(
            record.execution_arn, error="ExportCancelled", cause="cancelled through the API"
        )
    return record_failure(
        adapters, export_id, Failure(ExportStatus.CANCELLED, "ExportCancelled", "cancelled through the API")
    )
