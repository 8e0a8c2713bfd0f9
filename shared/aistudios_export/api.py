"""Helpers shared by the HTTP handlers: JSON responses, error shapes, links."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from .errors import ExportPipelineError, TransientUpstreamError
from .models import RequestValidationError
from .observability import logger
from .service import is_service_side, upstream_error_status

MAX_BODY_BYTES = 16 * 1024


def internal_error_response(exc: Exception) -> Response[str]:
    """Anything unexpected: logged with its trace, answered without one."""
    logger.exception("unhandled error")
    return json_response(500, {"error": "InternalError", "message": "the request could not be processed"})


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
        raise RequestValidationError([{"field": "body", "message": "must be UTF-8 encoded JSON"}]) from None
    if not raw or not raw.strip():
        raise RequestValidationError([{"field": "body", "message": "is required (a JSON object)"}])
    if len(raw) > MAX_BODY_BYTES:
        raise RequestValidationError(
            [{"field": "body", "message": f"must be at most {MAX_BODY_BYTES} bytes"}]
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise RequestValidationError([{"field": "body", "message": "must be valid JSON"}]) from None


def validation_response(exc: RequestValidationError) -> Response[str]:
    return json_response(400, {"error": "ValidationError", "message": str(exc), "errors": exc.errors})


def upstream_response(exc: ExportPipelineError) -> Response[str]:
    status = upstream_error_status(exc)
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
    return json_response(status, {"error": exc.code, "message": exc.message}, headers)


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


def idempotency_conflict_response(exc: Exception) -> Response[str]:
    """Idempotency-Key reuse: another body (422), or the first request still running (409)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

    if isinstance(exc, IdempotencyValidationError):
        return json_response(
            422,
            {
                "error": "IdempotencyKeyReused",
                "message": "this Idempotency-Key was already used with a different request body",
            },
        )
    return json_response(
        409,
        {
            "error": "RequestInProgress",
            "message": "a request with this Idempotency-Key is still being processed",
        },
        {"Retry-After": "2"},
    )
