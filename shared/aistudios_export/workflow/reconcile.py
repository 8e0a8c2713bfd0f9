"""The reconciler: no export stays open forever.

An execution that ends outside the state machine's failure path (stopped by hand, failed outside a
Catch) is ended by the safety net, which rests on Step Functions' "Execution Status Change" events:
EventBridge delivers those on a best-effort basis, so one can be lost. On a schedule, the reconciler
takes the open exports some margin past their deadline (by which the state machine has ended them
itself, unless it is still delivering), asks Step Functions how their execution stands, and ends
those whose execution has ended through the same path as the safety net (record_execution_end):
one final status, one notification, the project's lease released."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..adapters import Adapters
from ..aws.errors import transient_aws_errors
from ..clock import parse_iso, utcnow
from ..errors import TransientUpstreamError
from ..models import ExportRecord, ExportStatus, Failure
from ..observability import about_export, logger
from .endings import Ending, record_execution_end, record_failure
from .payloads import describe_execution_end
from .start import LEASE_MARGIN_SECONDS

MAX_PER_RUN = 200  # exports checked per run (one DescribeExecution each); the rest wait for the next
NO_EXECUTION = Failure(
    ExportStatus.FAILED, "ExecutionNotFound", "the export's workflow never started, or no longer exists"
)
ENDED_OPEN = Failure(
    ExportStatus.FAILED, "ExecutionEndedOpen", "the export's workflow ended without giving it a final status"
)
OVERDUE = Failure(
    ExportStatus.TIMED_OUT,
    "ExecutionOverdue",
    "the export's workflow was still running long past its deadline, and was stopped",
)


@dataclass
class Reconciled:
    """What one run found: how many open exports past their deadline it checked, and what it ended."""

    checked: int = 0
    ended: list[Ending] = field(default_factory=list)


@transient_aws_errors
def reconcile(adapters: Adapters, now: datetime | None = None) -> Reconciled:
    now = now or utcnow()
    cutoff = now - timedelta(seconds=adapters.settings.reconcile_margin_seconds)
    run = Reconciled()
    try:
        overdue = adapters.store.open_past_deadline(cutoff, limit=MAX_PER_RUN)
    except TransientUpstreamError as exc:  # the status index is being built after a stack update
        logger.warning("the reconciler skips this run", extra={"reason": exc.message})
        return run
    for export_id in overdue:
        about_export(export_id)
        run.checked += 1
        ending = _reconcile_one(adapters, export_id, now)
        if ending is not None and ending.changed:
            logger.warning(
                "export ended by the reconciler: its execution ended, and no status-change event "
                "ended the export",
                extra={"status": ending.record.status.value, "code": (ending.record.error or {}).get("code")},
            )
            run.ended.append(ending)
    return run


def _reconcile_one(adapters: Adapters, export_id: str, now: datetime) -> Ending | None:
    record = adapters.store.find(export_id)
    if record is None or record.status.is_final:  # ended since the index was read
        return None
    about_export(export_id, record.project_id)
    execution = adapters.executions.describe(record.execution_arn) if record.execution_arn else None
    if execution is None:
        return record_failure(adapters, export_id, NO_EXECUTION)
    if execution["status"] == "RUNNING":
        return _overdue(adapters, record, now)
    failure = ENDED_OPEN if execution["status"] == "SUCCEEDED" else describe_execution_end(execution)
    return record_execution_end(adapters, export_id, failure, record.execution_arn)


def _overdue(adapters: Adapters, record: ExportRecord, now: datetime) -> Ending | None:
    """A running execution may still be delivering past the deadline, for as long as the project's
    lease lasts; past that, another export of the project may start, so this one is stopped."""
    if now < parse_iso(record.deadline_at) + timedelta(seconds=LEASE_MARGIN_SECONDS):
        return None
    assert record.execution_arn is not None
    adapters.executions.stop(record.execution_arn, error=OVERDUE.code, cause=OVERDUE.message)
    return record_failure(adapters, record.export_id, OVERDUE)
