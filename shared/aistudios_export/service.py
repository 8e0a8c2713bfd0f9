"""The export workflow's steps, independent of how they are triggered (API, state machine, tests)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .client import AIStudiosClient, build_session
from .credentials import load_credentials
from .delivery import VideoDelivery
from .errors import (
    ExportNotFoundError,
    ExportPipelineError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from .models import ExportRequest, ExportStatus
from .notifications import Notifier
from .observability import logger
from .settings import Settings
from .store import ExportRecord, ExportStore, VideoLocation, new_export_id
from .urls import redact_text

TIMED_OUT_ERROR = "ExportTimedOut"
_RETRYABLE_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "RequestTimeout",
        "TransactionConflictException",
    }
)
_F = TypeVar("_F", bound=Callable[..., Any])


def transient_aws_errors(func: _F) -> _F:
    """AWS throttling, 5xx and connection errors become TransientUpstreamError, which the state
    machine retries; other AWS errors stay as they are (they are bugs or permissions)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error.get("Code") in _RETRYABLE_AWS_CODES or status >= 500:
                raise TransientUpstreamError(
                    f"AWS {exc.operation_name} failed: {error.get('Code')}", code="AwsServiceError"
                ) from None
            raise
        except BotoCoreError as exc:
            raise TransientUpstreamError(
                f"AWS call failed: {type(exc).__name__}", code="AwsServiceError"
            ) from None

    return cast(_F, wrapper)


_CODED = re.compile(r"^\[(?P<code>[A-Za-z0-9_.:-]{1,64})\] (?P<message>.*)$", re.S)


@dataclass
class Dependencies:
    """Adapters built lazily, once per process, from settings. Tests pass their own."""

    settings: Settings
    overrides: dict[str, Any] = field(default_factory=dict)

    def _client(self, service: str) -> Any:
        return self.overrides.get(service) or boto3.client(service)  # type: ignore[call-overload]

    @cached_property
    def http(self) -> Any:
        return self.overrides.get("http") or build_session()

    @cached_property
    def aistudios(self) -> AIStudiosClient:
        if "aistudios" in self.overrides:
            client: AIStudiosClient = self.overrides["aistudios"]
            return client
        settings = self.settings
        return AIStudiosClient(
            settings.aistudios_base_url,
            lambda force: load_credentials(settings, force_fetch=force),
            session=self.http,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            call_budget_seconds=settings.call_budget_seconds,
        )

    @cached_property
    def store(self) -> ExportStore:
        table = self.overrides.get("table") or boto3.resource("dynamodb").Table(self.settings.table_name)
        return ExportStore(table)

    @cached_property
    def s3(self) -> Any:
        return self._client("s3")

    @cached_property
    def sfn(self) -> Any:
        return self._client("stepfunctions")

    @cached_property
    def notifier(self) -> Notifier:
        events = self._client("events") if self.settings.event_bus_name else None
        return Notifier(self._client("sns"), self.settings.topic_arn, events, self.settings.event_bus_name)

    @cached_property
    def delivery(self) -> VideoDelivery:
        s = self.settings
        return VideoDelivery(
            self.s3,
            self.http,
            part_size=s.part_size_bytes,
            timeout=(s.connect_timeout, max(s.read_timeout, 30.0)),
            allow_insecure=s.allow_insecure_urls,
            allowed_hosts=s.download_allowed_hosts,
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_seconds(moment: datetime) -> str:
    """Whole-second RFC 3339 UTC, the timestamp form every Step Functions engine compares."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- start --------------------------------------------------------------------------------------


def start_export(deps: Dependencies, request: ExportRequest, *, trigger: str = "api") -> ExportRecord:
    """Request the export upstream, store the record, start the execution named after the exportId.

    Upstream errors propagate before anything is stored. If the execution cannot be started the
    record is marked FAILED, the failure is notified, and the error propagates as transient.
    """
    settings = deps.settings
    resolution = request.resolution or settings.default_resolution
    deps.aistudios.export(
        request.projectId,
        workspace_id=request.workspaceId,
        resolution=resolution,
        webhook_url=request.webhookUrl,
    )
    now = datetime.now(UTC)
    record = ExportRecord(
        export_id=new_export_id(),
        project_id=request.projectId,
        resolution=resolution,
        workspace_id=request.workspaceId,
        created_at=_iso(now),
        updated_at=_iso(now),
        deadline_at=_iso_seconds(now + timedelta(seconds=settings.export_deadline_seconds)),
        trigger=trigger,
    )
    deps.store.create(record)
    execution_input = {
        "exportId": record.export_id,
        "projectId": record.project_id,
        "resolution": record.resolution,
        "requestedAt": record.created_at,
        "deadline": record.deadline_at,
        "poll": {"nextWaitSeconds": int(settings.poll_min_wait_seconds)},
    }
    try:
        started = deps.sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=record.export_id,
            input=json.dumps(execution_input),
        )
    except (BotoCoreError, ClientError) as exc:
        logger.exception("could not start the export workflow", extra={"exportId": record.export_id})
        finish_failure(deps, record.export_id, ExportStatus.FAILED, "WorkflowStartFailed", type(exc).__name__)
        raise TransientUpstreamError(
            "the export workflow could not be started", code="WorkflowStartFailed", retry_after=5
        ) from None
    record = deps.store.mark_execution(record.export_id, started["executionArn"])
    logger.info("export started", extra={"exportId": record.export_id, "projectId": record.project_id})
    return record


# -- poll ---------------------------------------------------------------------------------------


def next_wait_seconds(progress: float, elapsed: float, minimum: float, maximum: float) -> int:
    """Wait about half the remaining render time estimated from the rate so far, within bounds."""
    if progress <= 0 or elapsed <= 0:
        estimate = maximum
    elif progress >= 100:
        estimate = minimum
    else:
        estimate = elapsed * (100 - progress) / progress / 2
    return max(1, math.ceil(min(maximum, max(minimum, estimate))))


@transient_aws_errors
def poll_export(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    export_id, project_id = event["exportId"], event["projectId"]
    progress = deps.aistudios.progress(project_id)
    now = datetime.now(UTC)
    try:
        deps.store.record_progress(export_id, progress.progress, progress.state)
    except InvalidTransitionError as exc:
        logger.warning("progress not recorded", extra={"exportId": export_id, "reason": exc.message})
    elapsed = (now - _parse_iso(event.get("requestedAt") or _iso(now))).total_seconds()
    s = deps.settings
    result = {
        "progress": progress.progress,
        "state": progress.state,
        # Only whether the video is ready: the signed URL never enters the execution's history.
        "downloadReady": progress.done,
        "failed": progress.failed,
        "detail": f"AI Studios reports state '{progress.state}' at {progress.progress:g}%",
        "nextWaitSeconds": next_wait_seconds(
            progress.progress, elapsed, s.poll_min_wait_seconds, s.poll_max_wait_seconds
        ),
        "checkedAt": _iso_seconds(now),
    }
    logger.info(
        "export progress",
        extra={"exportId": export_id, "progress": progress.progress, "state": progress.state},
    )
    return result


# -- deliver ------------------------------------------------------------------------------------


def object_key(settings: Settings, project_id: str, export_id: str) -> str:
    return f"{settings.key_prefix}/{project_id}/{export_id}.mp4"


@transient_aws_errors
def deliver_export(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    """Copy the finished video into S3. The download URL is fetched here, fresh for every attempt."""
    export_id = event["exportId"]
    record = deps.store.get(export_id)
    if record.status is ExportStatus.SUCCEEDED:
        _notify_once(deps, record)
        return _delivery_summary(record)
    if record.status.is_final:
        raise PermanentUpstreamError(f"export is already {record.status.value}", code="AlreadyFinal")
    progress = deps.aistudios.progress(record.project_id)
    if not progress.done or progress.download_url is None:
        raise TransientUpstreamError(
            f"AI Studios no longer reports the video as ready ({progress.state} at {progress.progress:g}%)",
            code="DownloadNotReady",
        )
    deps.store.mark_delivering(export_id)
    bucket = deps.settings.bucket_name
    key = object_key(deps.settings, record.project_id, export_id)
    result = deps.delivery.deliver(
        progress.download_url,
        bucket=bucket,
        key=key,
        metadata={"export-id": export_id, "project-id": record.project_id, "resolution": record.resolution},
    )
    deps.s3.put_object_tagging(
        Bucket=bucket,
        Key=key,
        **({"VersionId": result.version_id} if result.version_id else {}),
        Tagging={
            "TagSet": [{"Key": "sha256", "Value": result.sha256}, {"Key": "export-id", "Value": export_id}]
        },
    )
    video = VideoLocation(bucket, key, result.size, result.sha256, result.etag, result.version_id)
    record = deps.store.mark_succeeded(export_id, video)
    _notify_once(deps, record)
    return _delivery_summary(record)


def _delivery_summary(record: ExportRecord) -> dict[str, Any]:
    assert record.video is not None
    return {
        "status": record.status.value,
        "bucket": record.video.bucket,
        "key": record.video.key,
        "size": record.video.size,
        "sha256": record.video.sha256,
    }


# -- failure path -------------------------------------------------------------------------------


def describe_error(error: dict[str, Any] | None) -> tuple[ExportStatus, str, str]:
    """Turn a Step Functions error ({Error, Cause}) into a final status, a code and a message."""
    error = error or {}
    name = str(error.get("Error") or "States.TaskFailed")
    cause: Any = error.get("Cause") or ""
    if name == TIMED_OUT_ERROR:
        return ExportStatus.TIMED_OUT, TIMED_OUT_ERROR, str(cause) or "the export passed its deadline"
    message = str(cause)
    try:
        parsed = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    code = name
    match = _CODED.match(message)
    if match:
        code, message = match["code"], match["message"]
    return ExportStatus.FAILED, code, redact_text(message)[:1000] or name


_EXECUTION_STATUSES = {
    "ABORTED": (ExportStatus.CANCELLED, "ExecutionAborted", "the workflow was stopped before it finished"),
    "TIMED_OUT": (ExportStatus.TIMED_OUT, "ExecutionTimedOut", "the workflow exceeded its time limit"),
    "FAILED": (ExportStatus.FAILED, "ExecutionFailed", "the workflow failed"),
}


@transient_aws_errors
def record_failure(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    """The failure path's step, and the safety net for executions that ended without reaching it
    (an EventBridge "Step Functions Execution Status Change" event)."""
    if event.get("source") == "aws.states":
        return _record_execution_end(deps, event.get("detail") or {})
    status, code, message = describe_error(event.get("error"))
    record = finish_failure(deps, event["exportId"], status, code, message)
    return {"status": record.status.value, "code": code}


def _record_execution_end(deps: Dependencies, detail: dict[str, Any]) -> dict[str, Any]:
    export_id = str(detail.get("name", ""))
    status, code, message = _EXECUTION_STATUSES.get(
        str(detail.get("status")), (ExportStatus.FAILED, "ExecutionFailed", "the workflow failed")
    )
    if detail.get("error"):
        code = str(detail["error"])
        message = redact_text(str(detail.get("cause") or message))[:1000]
    try:
        record = deps.store.get(export_id)
    except ExportNotFoundError:
        logger.warning("execution ended for an unknown export", extra={"name": export_id})
        return {"status": "UNKNOWN", "code": code}
    if record.status.is_final and record.notified:
        return {"status": record.status.value, "code": code}
    record = finish_failure(deps, export_id, status, code, message)
    return {"status": record.status.value, "code": code}


def finish_failure(
    deps: Dependencies, export_id: str, status: ExportStatus, code: str, message: str
) -> ExportRecord:
    """Give the export its final failure status (unless it already has one) and notify exactly once."""
    try:
        record = deps.store.mark_failed(export_id, status, code, message)
    except InvalidTransitionError:
        record = deps.store.get(export_id)
    _notify_once(deps, record)
    logger.info("export ended", extra={"exportId": export_id, "status": record.status.value, "code": code})
    return record


def _notify_once(deps: Dependencies, record: ExportRecord) -> None:
    if record.notified:
        return
    deps.notifier.publish(record)
    deps.store.mark_notified(record.export_id)


# -- status view --------------------------------------------------------------------------------


def export_view(deps: Dependencies, record: ExportRecord, self_link: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "exportId": record.export_id,
        "projectId": record.project_id,
        "workspaceId": record.workspace_id,
        "resolution": record.resolution,
        "status": record.status.value,
        "progress": record.progress,
        "upstreamState": record.upstream_state or None,
        "trigger": record.trigger,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "deadlineAt": record.deadline_at,
        "finishedAt": record.finished_at,
        "links": {"self": self_link},
    }
    if record.status is ExportStatus.SUCCEEDED and record.video is not None:
        video = record.video
        view["video"] = {
            "bucket": video.bucket,
            "key": video.key,
            "uri": video.uri,
            "size": video.size,
            "sha256": video.sha256,
            "contentType": "video/mp4",
            "downloadUrl": deps.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": video.bucket, "Key": video.key},
                ExpiresIn=deps.settings.presign_seconds,
            ),
            "downloadUrlExpiresInSeconds": deps.settings.presign_seconds,
        }
    if record.error:
        view["error"] = dict(record.error)
    return view


SERVICE_SIDE_CODES = frozenset({"CredentialsUnavailable", "CredentialsMalformed", "ConfigurationError"})


def is_service_side(exc: ExportPipelineError) -> bool:
    """Errors the caller cannot fix: our credentials or configuration, not their request."""
    return exc.code in SERVICE_SIDE_CODES or (
        isinstance(exc, PermanentUpstreamError) and getattr(exc, "status", None) == 401
    )


def upstream_error_status(exc: ExportPipelineError) -> int:
    """HTTP status for an upstream error surfaced through the API."""
    if isinstance(exc, TransientUpstreamError):
        return 503
    if is_service_side(exc):
        return 502
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status in (400, 404, 409, 422):
        return status
    return 422
