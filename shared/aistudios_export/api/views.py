"""The HTTP side of the exports API: JSON bodies in and out, links, and the export as the API shows it
(which status and body each error becomes is responses.py)."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from .. import strict_json
from ..adapters import Adapters
from ..errors import ConflictError, ExportNotFoundError, invalid
from ..models import EXPORT_ID, ExportRecord, ExportStatus
from ..observability import about_export
from ..store.listing import decode_token, encode_token
from .routes import LIST_PARAMETERS

MAX_BODY_BYTES = 16 * 1024
# A presigned link is signed with the function's temporary credentials and stops working when they
# rotate, whatever its nominal expiry: links are kept short, and links.video is the one to bookmark.
MAX_PRESIGN_SECONDS = 900


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, default=str),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def body_bytes(event: APIGatewayProxyEvent) -> bytes | None:
    """The request body as the caller sent it, any bytes: API Gateway passes a body it takes for
    binary as base64 (`isBase64Encoded`), the local API one that is not UTF-8."""
    body = event.body
    if not body:
        return None
    if not event.is_base64_encoded:
        return body.encode("utf-8", "surrogatepass")  # a lone surrogate: not UTF-8, refused as such
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:  # binascii.Error: never from API Gateway, which encodes the body itself
        raise invalid("body", "must be base64 encoded, as isBase64Encoded says") from None


def parse_json_body(event: APIGatewayProxyEvent) -> Any:
    """The request body as JSON: UTF-8, at most MAX_BODY_BYTES, read strictly (strict_json), as
    RequestValidationError naming the field otherwise.

    Left as JSON, not validated against a model here: every trigger's request is validated by
    submission.py alone, the same way."""
    raw = body_bytes(event)
    if not raw or not raw.strip():
        raise invalid("body", "is required (a JSON object)")
    if len(raw) > MAX_BODY_BYTES:
        raise invalid("body", f"must be at most {MAX_BODY_BYTES} bytes")
    return strict_json.loads(raw)


def accepted_response(event: APIGatewayProxyEvent, started: dict[str, str]) -> Response[str]:
    """202 with the new export's link in the body and in Location."""
    link = resource_link(event, f"/exports/{started['exportId']}")
    return json_response(202, {**started, "links": {"self": link}}, {"Location": link})


def call(app: Any) -> dict[str, Any]:
    """What a start through the API (api/submission.py) takes from the call: who calls, the Lambda
    context, the API's own /webhooks URL, and when API Gateway received the request."""
    event: APIGatewayProxyEvent = app.current_event
    return {
        "caller": caller_identity(event),
        "lambda_context": app.lambda_context,
        "webhook_receiver": resource_link(event, "/webhooks"),
        "received_at": event.request_context.request_time_epoch / 1000,
    }


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
        "name": record.name,
        "metadata": dict(record.metadata),
        "retryOf": record.retry_of,
        "retriedBy": record.retried_by,
        "links": {"self": self_link},
    }
    for name, other in (("retryOf", record.retry_of), ("retriedBy", record.retried_by)):
        if other:
            view["links"][name] = f"{self_link.rsplit('/', 1)[0]}/{other}"
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
    """The id, if it can name an export at all (ExportNotFoundError otherwise, before any lookup);
    the invocation's later log lines name it."""
    if not EXPORT_ID.match(export_id):
        raise ExportNotFoundError("no export with this id")
    about_export(export_id)
    return export_id


def get_export(adapters: Adapters, event: APIGatewayProxyEvent, export_id: str) -> dict[str, Any]:
    """One export by id; ExportNotFoundError for a malformed or unknown id."""
    known_export_id(export_id)
    record = adapters.store.get(export_id)
    return export_view(adapters, record, resource_link(event, f"/exports/{export_id}"))


def _presign(adapters: Adapters, record: ExportRecord, seconds: int) -> str:
    assert record.video is not None
    return adapters.bucket.presign(record.video, seconds)


def video_redirect(adapters: Adapters, export_id: str) -> Response[str]:
    """302 to a freshly signed link to the video: a link that can be bookmarked and never goes stale."""
    record = adapters.store.get(known_export_id(export_id))
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


def list_exports(
    adapters: Adapters,
    event: APIGatewayProxyEvent,
    project_id: str | None,
    status: ExportStatus | None,
    limit: int,
    next_token: str | None,
) -> dict[str, Any]:
    """One page of exports, newest first, with the token (and link) of the next page."""
    unknown = sorted(set(event.query_string_parameters or {}) - set(LIST_PARAMETERS))
    if unknown:
        raise invalid(unknown[0], f"is not a query parameter of this listing ({', '.join(LIST_PARAMETERS)})")
    project_id = project_id.lower() if project_id else None
    about_export(project_id=project_id)
    after = decode_token(next_token, project_id, status) if next_token is not None else None
    records, resume = adapters.store.list_page(project_id=project_id, status=status, limit=limit, after=after)
    token = encode_token(resume) if resume else None
    filters = {"projectId": project_id, "status": status.value if status else None, "limit": str(limit)}

    def page_link(page_token: str | None) -> str:
        query = urlencode({k: v for k, v in {**filters, "nextToken": page_token}.items() if v is not None})
        return f"{resource_link(event, '/exports')}?{query}"

    links = {"self": page_link(next_token)} | ({"next": page_link(token)} if token else {})
    return {
        "exports": [
            export_view(adapters, r, resource_link(event, f"/exports/{r.export_id}")) for r in records
        ],
        "nextToken": token,
        "links": links,
    }
