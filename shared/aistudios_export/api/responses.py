"""Which HTTP status and body each error becomes, on every route of every API function.

One shape for all of them: {"error": {"code", "message", "field"?}}; a validation error also lists
every field in `details`, and a 409 adds what the caller needs to act on it (`activeExportId`)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError as DeclarationError,
)

from ..errors import (
    ConflictError,
    ExportNotFoundError,
    ExportPipelineError,
    PermanentUpstreamError,
    ProjectBusyError,
    RequestValidationError,
    TransientUpstreamError,
    describe,
)
from ..observability import logger
from .views import json_response, resource_link

SERVICE_SIDE_CODES = frozenset({"CredentialsUnavailable", "CredentialsMalformed", "ConfigurationError"})


def api_resolver() -> APIGatewayRestResolver:
    """The resolver every API function routes with. Path, query and header parameters are validated
    against each route's declarations (routes.py), which the OpenAPI document is generated from
    (`make openapi`), and every error is answered in the one shape. Validation is enabled per route
    (api_docs.VALIDATED): Powertools then imports its machinery on a route's first request."""
    app = APIGatewayRestResolver()
    register_error_handlers(app)
    return app


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return json_response(status, {"error": error | extra}, headers)


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
    return error_response(500, "InternalError", "the request could not be processed")


def validation_response(exc: RequestValidationError) -> Response[str]:
    """400 naming the first field in error, and every field in `details`."""
    return error_response(400, "ValidationError", str(exc), field=exc.errors[0]["field"], details=exc.errors)


def declaration_invalid(exc: DeclarationError) -> Response[str]:
    """What Powertools found checking the request against the route's declared parameters."""
    return validation_response(RequestValidationError(describe(exc.errors())))


def not_found_response(exc: ExportNotFoundError) -> Response[str]:
    return error_response(404, exc.code, exc.message, field="exportId")


def service_error_response(exc: ServiceError) -> Response[str]:
    """Powertools' own HTTP errors, in the one shape (the code is the status' name)."""
    code = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    return error_response(exc.status_code, code, exc.msg if isinstance(exc.msg, str) else json.dumps(exc.msg))


def upstream_response(exc: ExportPipelineError) -> Response[str]:
    if is_service_side(exc):
        logger.error(
            "AI Studios credentials or configuration problem", extra={"code": exc.code, "reason": exc.message}
        )
        return error_response(
            502,
            "UpstreamAuthenticationFailed",
            "the service could not authenticate with AI Studios; an operator must check its credentials",
        )
    headers = {}
    if isinstance(exc, TransientUpstreamError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after or 5)))
    return error_response(upstream_error_status(exc), exc.code, exc.message, headers=headers)


def conflict_response(exc: ConflictError) -> Response[str]:
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else {}
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=headers)


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Every route answers errors the same way: the most specific handler wins."""

    def busy(exc: ProjectBusyError) -> Response[str]:
        """409 naming the export that holds the project, with its link."""
        link = resource_link(app.current_event, f"/exports/{exc.active_export_id}")
        return error_response(
            409, exc.code, exc.message, activeExportId=exc.active_export_id, links={"active": link}
        )

    def route_not_found(exc: NotFoundError) -> Response[str]:
        event = app.current_event
        return error_response(404, "RouteNotFound", f"no route {event.http_method} {event.path}")

    app.exception_handler(Exception)(internal_error_response)
    app.exception_handler(ExportPipelineError)(upstream_response)
    app.exception_handler(ExportNotFoundError)(not_found_response)
    app.exception_handler(ConflictError)(conflict_response)
    app.exception_handler(ProjectBusyError)(busy)
    app.exception_handler(RequestValidationError)(validation_response)
    app.exception_handler(DeclarationError)(declaration_invalid)
    app.exception_handler(ServiceError)(service_error_response)
    app.not_found(route_not_found)
