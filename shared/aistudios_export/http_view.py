"""The HTTP side of the exports API: JSON bodies in and out, the export as the API shows it, and
which HTTP status and body each error becomes (registered once on every resolver)."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from .adapters import Adapters
from .errors import (
    ConflictError,
    ExportNotFoundError,
    ExportPipelineError,
    PermanentUpstreamError,
    ProjectBusyError,
    TransientUpstreamError,
)
from .models import OBJECT_ID, ExportRecord, ExportStatus
from .observability import logger
from .request import RequestValidationError, invalid

MAX_BODY_BYTES = 16 * 1024
# A presigned link is signed with the function's temporary credentials and stops working when they
# rotate, whatever its nominal expiry: links are kept short, and links.video is the one to bookmark.
MAX_PRESIGN_SECONDS = 900
EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")
SERVICE_SIDE_CODES = frozenset({"CredentialsUnavailable", "CredentialsMalformed", "ConfigurationError"})


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, default=str),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def parse_json_body(event: APIGatewayProxyEvent) -> Any:
    try:
        raw = event.decoded_body
    except (UnicodeDecodeError, ValueError):
        raise invalid("body", "must be UTF-8 encoded JSON") from None
    if not raw or not raw.strip():
        raise invalid("body", "is required (a JSON object)")
    if len(raw) > MAX_BODY_BYTES:
        raise invalid("body", f"must be at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid("body", "must be valid JSON") from None


def accepted_response(event: APIGatewayProxyEvent, started: dict[str, str]) -> Response[str]:
    """202 with the new export's link in the body and in Location."""
    link = resource_link(event, f"/exports/{started['exportId']}")
    return json_response(202, {**started, "links": {"self": link}}, {"Location": link})


def caller_identity(event: APIGatewayProxyEvent) -> str:
    """Who is calling, as API Gateway's IAM authorization established it ("anonymous" locally)."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or identity.account_id or "anonymous"


def resource_link(event: APIGatewayProxyEvent, path: str) -> str:
    """Absolute link to `path` on the API that served `event` (stage prefix included)."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = headers.get("host") or event.request_context.domain_name or ""
    proto = headers.get("x-forwarded-proto", "https")
    full_path = event.request_context.path or event.path
    prefix = full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""
    if not host:
        return prefix + path
    return f"{proto}://{host}{prefix}{path}"


# -- reading exports --------------------------------------------------------------------------------


def export_view(adapters: Adapters, record: ExportRecord, self_link: str) -> dict[str, Any]:
    """The export as the status API shows it, with a presigned link once the video is delivered."""
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
        seconds = min(adapters.settings.presign_seconds, MAX_PRESIGN_SECONDS)
        view["video"] = record.video.to_public() | {
            "downloadUrl": _presign(adapters, record, seconds),
            "downloadUrlExpiresInSeconds": seconds,
        }
        view["links"]["video"] = f"{self_link}/video"
    if record.error:
        view["error"] = dict(record.error)
    return view


def known_export_id(export_id: str) -> str:
    """The id, if it can name an export at all (ExportNotFoundError otherwise, before any lookup)."""
    if not EXPORT_ID.match(export_id):
        raise ExportNotFoundError("no export with this id")
    return export_id


def get_export(adapters: Adapters, event: APIGatewayProxyEvent, export_id: str) -> dict[str, Any]:
    """One export by id; ExportNotFoundError for a malformed or unknown id."""
    known_export_id(export_id)
    record = adapters.store.get(export_id)
    return export_view(adapters, record, resource_link(event, f"/exports/{export_id}"))


def _presign(adapters: Adapters, record: ExportRecord, seconds: int) -> str:
    assert record.video is not None
    url: str = adapters.s3.generate_presigned_url(
        "get_object", Params={"Bucket": record.video.bucket, "Key": record.video.key}, ExpiresIn=seconds
    )
    return url


def video_redirect(adapters: Adapters, export_id: str) -> Response[str]:
    """302 to a freshly signed link to the video: a link that can be bookmarked and never goes stale."""
    if not EXPORT_ID.match(export_id):
        raise ExportNotFoundError("no export with this id")
    record = adapters.store.get(export_id)
    if record.status is not ExportStatus.SUCCEEDED or record.video is None:
        raise ConflictError(
            f"export {export_id} is {record.status.value}, not SUCCEEDED", code="VideoNotReady"
        )
    seconds = min(adapters.settings.presign_seconds, MAX_PRESIGN_SECONDS)
    return Response(
        status_code=302,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"location": "see the Location header"}),
        headers={"Location": _presign(adapters, record, seconds), "Cache-Control": "no-store"},
    )


def list_exports(adapters: Adapters, event: APIGatewayProxyEvent, project_id: str | None) -> dict[str, Any]:
    """A project's exports, newest first."""
    project_id = (project_id or "").lower()
    if not OBJECT_ID.match(project_id):
        raise invalid("projectId", "must be a 24-character hexadecimal ObjectId")
    records = adapters.store.list_by_project(project_id)
    return {
        "projectId": project_id,
        "exports": [
            export_view(adapters, r, resource_link(event, f"/exports/{r.export_id}")) for r in records
        ],
    }


# -- errors -----------------------------------------------------------------------------------------


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


def internal_error_response(exc: Exception) -> Response[str]:
    """Anything unexpected: logged with its trace, answered without one."""
    logger.exception("unhandled error")
    return json_response(500, {"error": "InternalError", "message": "the request could not be processed"})


def validation_response(exc: RequestValidationError) -> Response[str]:
    return json_response(400, {"error": "ValidationError", "message": str(exc), "errors": exc.errors})


def not_found_response(exc: ExportNotFoundError) -> Response[str]:
    return json_response(404, {"error": exc.code, "message": exc.message})


def upstream_response(exc: ExportPipelineError) -> Response[str]:
    if is_service_side(exc):
        logger.error(
            "AI Studios credentials or configuration problem", extra={"code": exc.code, "reason": exc.message}
        )
        return json_response(
            502,
            {
                "error": "UpstreamAuthenticationFailed",
                "message": "the service could not authenticate with AI Studios; an operator must check its credentials",
            },
        )
    headers = {}
    if isinstance(exc, TransientUpstreamError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after or 5)))
    return json_response(upstream_error_status(exc), {"error": exc.code, "message": exc.message}, headers)


def conflict_response(exc: ConflictError) -> Response[str]:
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else {}
    return json_response(exc.status, {"error": exc.code, "message": exc.message}, headers)


def busy_response(exc: ProjectBusyError, event: APIGatewayProxyEvent) -> Response[str]:
    """409 naming the export that holds the project, with its link."""
    link = resource_link(event, f"/exports/{exc.active_export_id}")
    return json_response(
        409,
        {
            "error": exc.code,
            "message": exc.message,
            "activeExportId": exc.active_export_id,
            "links": {"active": link},
        },
    )


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Every route answers errors the same way: the most specific handler wins."""
    app.exception_handler(Exception)(internal_error_response)
    app.exception_handler(ExportPipelineError)(upstream_response)
    app.exception_handler(ExportNotFoundError)(not_found_response)
    app.exception_handler(ConflictError)(conflict_response)
    app.exception_handler(ProjectBusyError)(lambda exc: busy_response(exc, app.current_event))
    app.exception_handler(RequestValidationError)(validation_response)
