"""The state machine's payloads: the execution input, each Task's input and output, and the errors
Step Functions hands to the failure path. Event shapes are read here and nowhere else in the layer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import parse_iso
from ..errors import parse_coded
from ..models import ExportRecord, ExportStatus, Failure, PollResult
from ..net.urls import redact_text
from ..waiting import Sample

TIMED_OUT_ERROR = "ExportTimedOut"
MAX_MESSAGE = 1000
_EXECUTION_ENDS = {
    "ABORTED": Failure(
        ExportStatus.CANCELLED, "ExecutionAborted", "the workflow was stopped before it finished"
    ),
    "TIMED_OUT": Failure(ExportStatus.TIMED_OUT, "ExecutionTimedOut", "the workflow exceeded its time limit"),
    "FAILED": Failure(ExportStatus.FAILED, "ExecutionFailed", "the workflow failed"),
}


def execution_name(export_id: str, attempt: int = 1) -> str:
    """An export's execution is named by its id; a later attempt to start it (see start.py) by its
    id and the attempt: `<exportId>-<attempt>`."""
    return export_id if attempt <= 1 else f"{export_id}-{attempt}"


def export_id_of(execution_name: str) -> str:
    return execution_name.split("-", 1)[0]


def execution_input(record: ExportRecord, first_wait_seconds: int, max_wait_seconds: int) -> str:
    """The first poll comes after `first_wait_seconds`; a poll that fails waits `max_wait_seconds`."""
    return json.dumps(
        {
            "exportId": record.export_id,
            "projectId": record.project_id,
            "resolution": record.resolution,
            "requestedAt": record.created_at,
            "deadline": record.deadline_at,
            "maxWaitSeconds": max_wait_seconds,
            "poll": {"nextWaitSeconds": first_wait_seconds, "samples": [], "polls": 0},
        }
    )


@dataclass(frozen=True)
class PollTask:
    export_id: str
    project_id: str
    requested_at: datetime | None
    deadline: datetime | None = None
    samples: tuple[Sample, ...] = ()  # (seconds since the request, progress) seen so far, bounded
    polls: int = 0  # how many polls came before this one (for the PollsPerExport metric)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PollTask:
        requested, deadline = event.get("requestedAt"), event.get("deadline")
        samples = event.get("samples") or []
        if not isinstance(samples, list) or not all(
            isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(v, int | float) for v in s)
            for s in samples
        ):
            raise ValueError("samples must be a list of [seconds, progress] pairs")
        return cls(
            event["exportId"],
            event["projectId"],
            parse_iso(requested) if requested else None,
            parse_iso(deadline) if deadline else None,
            tuple((float(t), float(p)) for t, p in samples),
            _count(event.get("polls")),
        )


def _count(value: Any) -> int:
    """A count the execution state carries; an execution started before it carried one has none."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def poll_output(result: PollResult, polls: int = 0) -> dict[str, Any]:
    """Only whether the video is ready: the signed URL never enters the execution's history.
    `polls` (this poll included) is carried from poll to poll, for the PollsPerExport metric."""
    return {
        "progress": result.percent,
        "state": result.state,
        "downloadReady": result.download_ready,
        "failed": result.failed,
        "detail": result.detail,
        "nextWaitSeconds": result.next_wait_seconds,
        "checkedAt": result.checked_at,
        "abandoned": result.abandoned,
        "samples": [list(sample) for sample in result.samples],
        "armWebhook": result.arm_webhook,
        "polls": polls,
    }


def delivery_output(record: ExportRecord) -> dict[str, Any]:
    """What the state machine keeps of a delivery: where the video is, never how it was fetched."""
    assert record.video is not None
    return {
        "status": record.status.value,
        "bucket": record.video.bucket,
        "key": record.video.key,
        "size": record.video.size,
        "sha256": record.video.sha256,
    }


def failure_output(record: ExportRecord | None, failure: Failure) -> dict[str, Any]:
    return {"status": record.status.value if record else "UNKNOWN", "code": failure.code}


@dataclass(frozen=True)
class FailureEvent:
    """The failure path's input: a Catch (`{exportId, error}`) or, from the safety net, an
    EventBridge "Step Functions Execution Status Change" event for an execution that ended early."""

    export_id: str
    failure: Failure
    execution_ended: bool
    execution_arn: str | None = None  # the execution that ended, for the safety net

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> FailureEvent:
        if event.get("source") == "aws.states":
            detail = event.get("detail") or {}
            name, arn = str(detail.get("name", "")), detail.get("executionArn")
            return cls(export_id_of(name), describe_execution_end(detail), True, str(arn) if arn else None)
        return cls(event["exportId"], describe_error(event.get("error")), execution_ended=False)


def describe_error(error: dict[str, Any] | None) -> Failure:
    """Turn a Step Functions error ({Error, Cause}) into a final status, a code and a message."""
    error = error or {}
    name = str(error.get("Error") or "States.TaskFailed")
    cause: Any = error.get("Cause") or ""
    if name == TIMED_OUT_ERROR:
        return Failure(
            ExportStatus.TIMED_OUT, TIMED_OUT_ERROR, str(cause) or "the export passed its deadline"
        )
    message = str(cause)
    try:
        parsed = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    code = name
    coded = parse_coded(message)
    if coded:
        code, message = coded
    return Failure(ExportStatus.FAILED, code, redact_text(message)[:MAX_MESSAGE] or name)


def describe_execution_end(detail: dict[str, Any]) -> Failure:
    failure = _EXECUTION_ENDS.get(str(detail.get("status")), _EXECUTION_ENDS["FAILED"])
    if detail.get("error"):
        message = redact_text(str(detail.get("cause") or failure.message))[:MAX_MESSAGE]
        return Failure(failure.status, str(detail["error"]), message)
    return failure
