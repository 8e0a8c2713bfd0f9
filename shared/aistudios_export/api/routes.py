"""How each API route is declared: its parameters and body, which the resolver validates, and its
documentation (summary, the body it takes, the answers it gives).

The OpenAPI document (docs/openapi.json, `make openapi`) is generated from these declarations, so
what is validated and what is documented cannot drift apart. Bodies and answers refer by name to
models (request.ExportRequest, the answers of schema.py) whose schemas only the generator builds:
POST /exports' body is validated by submission.py, as every trigger's request is, not here."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ..models import IDEMPOTENCY_KEY, OBJECT_ID, ExportStatus

if TYPE_CHECKING:  # what each declaration below is, for type checkers (made at runtime on first use)
    ExportIdPath = str
    WebhookTokenPath = str
    IdempotencyKeyHeader = str | None
    ProjectIdQuery = str | None
    StatusQuery = ExportStatus | None
    LimitQuery = int
    NextTokenQuery = str | None

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_TOKEN_LENGTH = 2048
TAGS = ["exports"]
# Every route validates its parameters against these declarations. Powertools builds a route's
# validation (pydantic) when that route takes its first request, not when the handler is imported:
# handlers annotate with the names below as strings (`from __future__ import annotations`), and
# the names are made here on first use (PEP 562). See `make bench-coldstart`.
VALIDATED = {"enable_validation": True}


@functools.cache
def _parameters() -> dict[str, Any]:
    from typing import Annotated

    from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

    return {
        "ExportIdPath": Annotated[str, Path(description="the export's id, 32 hexadecimal characters")],
        "WebhookTokenPath": Annotated[
            str, Path(description="the export's receiver token, as given to AI Studios")
        ],
        "IdempotencyKeyHeader": Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=128,
                # documented, and checked by submission.py, which says what a key is made of
                json_schema_extra={"pattern": IDEMPOTENCY_KEY.pattern},
                description="1 to 128 printable ASCII characters: the same caller retrying with the "
                "same key and body within 24 h gets the first answer instead of a second render",
            ),
        ],
        "ProjectIdQuery": Annotated[
            str | None,
            Query(alias="projectId", pattern=OBJECT_ID.pattern, description="only this project's exports"),
        ],
        "StatusQuery": Annotated[ExportStatus | None, Query(description="only the exports with this status")],
        "LimitQuery": Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="the most exports one page holds")
        ],
        "NextTokenQuery": Annotated[
            str | None,
            Query(
                alias="nextToken",
                min_length=1,
                max_length=MAX_TOKEN_LENGTH,
                description="the nextToken of the previous page, with the same filters",
            ),
        ],
    }


PARAMETERS = frozenset(
    {
        "ExportIdPath",
        "WebhookTokenPath",
        "IdempotencyKeyHeader",
        "ProjectIdQuery",
        "StatusQuery",
        "LimitQuery",
        "NextTokenQuery",
    }
)


def __getattr__(name: str) -> Any:
    """Each route parameter's type and declaration (Annotated), made on first use."""
    if name not in PARAMETERS:  # e.g. `__path__`, which `from api_docs import X` looks for
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _parameters()[name]


def __dir__() -> list[str]:
    return sorted(set(globals()) | PARAMETERS)


# GET /exports refuses any other query parameter: a misspelt filter must not list everything.
LIST_PARAMETERS = ("projectId", "status", "limit", "nextToken")


def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: str, description: str, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _schema(schema)}},
    }
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        }
    return answer


def _errors(by_status: dict[int, str]) -> dict[int, Any]:
    """Error answers: {"error": {"code", "message", "field"?}}, described by the codes they carry."""
    answers = {status: _json("ErrorResponse", text) for status, text in by_status.items()}
    answers[500] = _json("ErrorResponse", "`InternalError`: something unexpected; details are in the logs")
    return answers


_NOT_FOUND = "`ExportNotFound`: no export has this id"

CREATE_EXPORT: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "createExport",
    "summary": "Start an export",
    "description": "Records the export, starts its workflow and asks AI Studios to render it. One export "
    "of a project runs at a time (AI Studios tracks progress per project).",
    "tags": TAGS,
    "openapi_extensions": {
        "requestBody": {
            "required": True,
            "description": "the export to start; only projectId is required",
            "content": {"application/json": {"schema": _schema("ExportRequest")}},
        }
    },
    "responses": {
        202: _json(
            "ExportAccepted",
            "The export is recorded, its workflow started and AI Studios asked to render it; it ends "
            "with a final status and a notification either way",
            Location="the export's link",
        ),
        **_errors(
            {
                400: "`ValidationError`: the body or Idempotency-Key is invalid (a body that is missing, "
                "over 16 KiB, not UTF-8 or not strict JSON: NaN, Infinity, numbers over 40 characters, "
                "nesting over 32 levels); "
                "`field` names the first field in error, `details` all of them",
                404: "AI Studios does not know the project (its code and message); nothing is kept",
                409: "`ProjectBusy`: the project already has an export in progress (`activeExportId`, "
                "`links.active`); `RequestInProgress`: the first request with this Idempotency-Key is "
                "still being processed (`Retry-After`)",
                422: "AI Studios refused the export (its code and message), or `IdempotencyKeyReused`: "
                "the key came with another body",
                502: "`UpstreamAuthenticationFailed`: the stack's AI Studios credentials are missing or "
                "rejected (an operator's job)",
                503: "AI Studios or AWS is unavailable and nothing was started: retry after `Retry-After`",
            }
        ),
    },
}

GET_EXPORT: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "getExport",
    "summary": "One export",
    "description": "Its status and progress; once SUCCEEDED its video with a short-lived presigned "
    "downloadUrl, once failed its error.",
    "tags": TAGS,
    "responses": {200: _json("Export", "The export"), **_errors({404: _NOT_FOUND})},
}

GET_EXPORT_VIDEO: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "getExportVideo",
    "summary": "Redirect to the export's video",
    "description": "A freshly signed link on every call, so this URL can be bookmarked.",
    "tags": TAGS,
    "responses": {
        302: {
            "description": "The video, at a presigned link",
            "headers": {"Location": {"description": "the presigned link", "schema": {"type": "string"}}},
        },
        **_errors({404: _NOT_FOUND, 409: "`VideoNotReady`: the export has not SUCCEEDED"}),
    },
}

LIST_EXPORTS: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "listExports",
    "summary": "List exports, newest first",
    "description": "All exports, or those of one project and/or with one status, a page at a time. "
    "A page may hold fewer than `limit` exports while `nextToken` is set: follow `nextToken` until "
    "it is null.",
    "tags": TAGS,
    "responses": {
        200: _json("ExportPage", "One page of exports"),
        **_errors(
            {
                400: "`ValidationError`: a parameter is invalid or unknown, or nextToken is not one this "
                "listing issued; `field` names it",
                503: "`ListingThrottled`, `IndexNotReady`: the exports table is busy, or its index still "
                "being built after a stack update: retry after `Retry-After`",
            }
        ),
    },
}

CANCEL_EXPORT: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "cancelExport",
    "summary": "Cancel an export",
    "description": "Stops its workflow: it ends CANCELLED with a notification and its project is free "
    "again. A copy in progress aborts at its next part and stores nothing.",
    "tags": TAGS,
    "responses": {
        200: _json("Export", "The export, CANCELLED"),
        **_errors(
            {
                404: _NOT_FOUND,
                409: "`ExportAlreadyEnded`: the export has already ended",
                503: "`AwsServiceError`: AWS throttled or failed a call: retry after `Retry-After`",
            }
        ),
    },
}

RECEIVE_WEBHOOK: dict[str, Any] = {
    **VALIDATED,
    "operation_id": "receiveWebhook",
    "summary": "AI Studios' webhook for one export",
    "description": "Not for API callers: the URL is the one the export gave AI Studios as its webhookUrl, "
    "and the token in it is the only credential (no SigV4: AI Studios cannot sign). The webhook is "
    "only a hint: it is believed as far as AI Studios' progress API confirms it, taken once, and a "
    "confirmed 100 makes the export poll at once; each confirmed event is forwarded, signed, to the "
    "request's own webhookUrl (see docs/webhooks.md).",
    "tags": ["webhooks"],
    "openapi_extensions": {
        "requestBody": {
            "required": True,
            "description": 'AI Studios\' webhook: {"progress", "backendTaskId", "credit"?, "download_url"?} '
            "(the download_url is never used)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    "responses": {
        202: {
            "description": "Confirmed and taken",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"accepted": {"type": "boolean"}}}
                }
            },
        },
        404: {
            "description": "No open export has this id and token (an ended export's token has expired); "
            "no body",
            "content": {},
        },
        **_errors(
            {
                400: "`InvalidWebhook`: the body is not an AI Studios webhook: not UTF-8, over 8 KiB, not "
                "JSON (NaN, Infinity and numbers over 40 characters included), nested over 32 levels, or "
                "`progress`/`backendTaskId` wrong; `field` names it, `details` lists it (a body marked "
                "base64 that is not, which API Gateway never sends, is a `ValidationError`)",
                409: "`DuplicateWebhook`: this event was already taken (a replay); `WebhookNotConfirmed`: "
                "AI Studios' progress API does not confirm it (nothing is taken: a later retry may be); "
                "`TooManyRefused`: the export refused 16 webhooks, so AI Studios is no longer asked",
                503: "`UpstreamUnavailable`: AI Studios could not be asked; a retry may be taken",
            }
        ),
    },
}
