"""Every error, whichever route raised it, becomes one status and one shape: {"error": {...}}."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.exceptions import BadRequestError

from aistudios_export import (
    ConfigurationError,
    ExportNotFoundError,
    PermanentUpstreamError,
    TransientUpstreamError,
)
from aistudios_export.api.responses import api_resolver, upstream_error_status, upstream_response
from aistudios_export.api.routes import VALIDATED, LimitQuery
from aistudios_export.errors import ConflictError, ProjectBusyError, invalid
from tests.api_contract import check_error
from tests.helpers import load_event

pytestmark = pytest.mark.unit


def _answer(
    error: Exception | None, path: str = "/boom", query: dict[str, str] | None = None
) -> dict[str, Any]:
    """What a resolver built like every API function's answers when its route raises `error`."""
    app = api_resolver()

    @app.get("/boom", **VALIDATED)
    def boom(limit: LimitQuery = 25) -> dict[str, Any]:
        if error is not None:
            raise error
        return {"limit": limit}

    event = load_event("get_export") | {"path": path, "resource": path, "queryStringParameters": query}
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    answer: dict[str, Any] = app.resolve(event, None)  # type: ignore[arg-type]
    body = json.loads(answer["body"])
    if answer["statusCode"] >= 400:
        check_error(body)
    return {"status": answer["statusCode"], "body": body, "headers": answer["multiValueHeaders"]}


def test_an_unknown_export_is_a_404_naming_the_id() -> None:
    answer = _answer(ExportNotFoundError("no export with this id"))
    assert answer["status"] == 404
    assert answer["body"] == {
        "error": {"code": "ExportNotFound", "message": "no export with this id", "field": "exportId"}
    }


def test_a_validation_error_names_the_first_field_and_lists_them_all() -> None:
    from aistudios_export import RequestValidationError

    error = RequestValidationError(
        [
            {"field": "projectId", "message": "is required"},
            {"field": "resolution", "message": "must be one of 4k"},
        ]
    )
    answer = _answer(error)
    assert answer["status"] == 400
    assert answer["body"]["error"] == {
        "code": "ValidationError",
        "message": "projectId: is required; resolution: must be one of 4k",
        "field": "projectId",
        "details": error.errors,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be at least 1"), ("101", "must be at most 100"), ("ten", "must be an integer")],
)
def test_a_parameter_its_declaration_refuses_is_a_400_naming_it(value: str, message: str) -> None:
    answer = _answer(None, query={"limit": value})
    assert answer["status"] == 400
    assert answer["body"]["error"]["field"] == "limit"
    assert answer["body"]["error"]["details"] == [{"field": "limit", "message": message}]
    assert _answer(None, query={"limit": "7"})["body"] == {"limit": 7}


def test_a_busy_project_names_the_export_holding_it() -> None:
    answer = _answer(ProjectBusyError("65fa6b07dca2e367461a2925", "a" * 32))
    assert answer["status"] == 409
    error = answer["body"]["error"]
    assert (error["code"], error["activeExportId"]) == ("ProjectBusy", "a" * 32)
    assert error["links"]["active"].endswith(f"/exports/{'a' * 32}")


def test_conflicts_answer_their_own_status_and_when_to_retry() -> None:
    busy = _answer(ConflictError("busy", code="RequestInProgress", retry_after=2))
    assert (busy["status"], busy["headers"]["Retry-After"]) == (409, ["2"])
    reused = _answer(ConflictError("other body", code="IdempotencyKeyReused", status=422))
    assert reused["status"] == 422
    assert reused["body"]["error"] == {"code": "IdempotencyKeyReused", "message": "other body"}
    assert "Retry-After" not in reused["headers"]


def test_an_unknown_route_and_powertools_own_errors_have_the_shape_too() -> None:
    missing = _answer(None, path="/nowhere")
    assert missing["status"] == 404
    assert missing["body"]["error"] == {"code": "RouteNotFound", "message": "no route GET /nowhere"}
    bad = _answer(BadRequestError("no"))
    assert (bad["status"], bad["body"]["error"]) == (400, {"code": "BadRequest", "message": "no"})


def test_the_unexpected_is_a_500_that_tells_nothing() -> None:
    answer = _answer(KeyError("secret detail"))
    assert answer["status"] == 500
    assert answer["body"] == {
        "error": {"code": "InternalError", "message": "the request could not be processed"}
    }


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (TransientUpstreamError("down"), 503),
        (PermanentUpstreamError("gone", code="ProjectNotFound", status=404), 404),
        (PermanentUpstreamError("bad", status=400), 400),
        (PermanentUpstreamError("odd", status=418), 422),
        (PermanentUpstreamError("no", code="InvalidToken", status=401), 502),
        (PermanentUpstreamError("no", code="CredentialsUnavailable"), 502),
        (ConfigurationError("missing"), 502),
    ],
)
def test_upstream_errors_map_to_statuses(error: PermanentUpstreamError, status: int) -> None:
    assert upstream_error_status(error) == status
    assert upstream_response(error).status_code == status
    assert _answer(error)["status"] == status


def test_a_transient_error_tells_when_to_retry() -> None:
    answer = _answer(TransientUpstreamError("down", retry_after=12.4))
    assert answer["headers"]["Retry-After"] == ["12"]
    assert answer["body"] == {"error": {"code": "TransientUpstreamError", "message": "down"}}


def test_credential_problems_do_not_leak_to_the_caller() -> None:
    answer = _answer(PermanentUpstreamError("token abc rejected", code="X", status=401))
    assert answer["body"]["error"]["code"] == "UpstreamAuthenticationFailed"
    assert "abc" not in answer["body"]["error"]["message"]


def test_an_invalid_helper_is_a_400_naming_its_field() -> None:
    answer = _answer(invalid("nextToken", "is not a token this listing issued"))
    assert (answer["status"], answer["body"]["error"]["field"]) == (400, "nextToken")
