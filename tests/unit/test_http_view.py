"""The HTTP side: bodies, links, the export view and the status each error becomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from moto import mock_aws

from aistudios_export import (
    ConfigurationError,
    ExportStatus,
    PermanentUpstreamError,
    RequestValidationError,
    TransientUpstreamError,
    VideoLocation,
)
from aistudios_export.errors import ConflictError
from aistudios_export.http_view import (
    conflict_response,
    export_view,
    parse_json_body,
    resource_link,
    upstream_error_status,
    upstream_response,
)
from tests.helpers import load_event
from tests.unit.aws_resources import Resources

pytestmark = pytest.mark.unit


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources(PRESIGN_SECONDS="600")


def _event(body: str | None = None, **changes: object) -> APIGatewayProxyEvent:
    raw = load_event("start_export") | changes
    if body is not None:
        raw["body"] = body
    return APIGatewayProxyEvent(raw)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "is required (a JSON object)"),
        ("   ", "is required (a JSON object)"),
        ("{", "must be valid JSON"),
        ("x" * 20_000, "must be at most 16384 bytes"),
    ],
)
def test_bad_bodies_name_the_body_field(body: str, message: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_json_body(_event(body))
    assert caught.value.errors == [{"field": "body", "message": message}]


def test_links_keep_the_stage_prefix_and_the_host() -> None:
    assert resource_link(_event(), "/exports/abc") == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/exports/abc"
    )


def test_the_view_of_a_delivered_export_has_a_presigned_link(env: Resources) -> None:
    video = VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64)
    record = env.seed(status=ExportStatus.SUCCEEDED, video=video)
    view = export_view(env.adapters, record, "https://api/exports/e")
    link = view["video"].pop("downloadUrl")
    assert view["video"] == video.to_public() | {"downloadUrlExpiresInSeconds": 600}
    assert urlsplit(link).path.endswith("exports/p/e.mp4")
    assert "X-Amz-Expires" in parse_qs(urlsplit(link).query) or "Expires" in parse_qs(urlsplit(link).query)
    assert view["links"] == {"self": "https://api/exports/e", "video": "https://api/exports/e/video"}
    assert "error" not in view


def test_the_view_of_a_failed_export_shows_the_error_and_no_video(env: Resources) -> None:
    record = env.seed(status=ExportStatus.FAILED, error={"code": "E1", "message": "m"})
    view = export_view(env.adapters, record, "l")
    assert view["error"] == {"code": "E1", "message": "m"}
    assert "video" not in view
    assert view["status"] == "FAILED"


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


def test_a_transient_error_tells_when_to_retry() -> None:
    response = upstream_response(TransientUpstreamError("down", retry_after=12.4))
    assert response.headers["Retry-After"] == "12"
    assert json.loads(str(response.body)) == {"error": "TransientUpstreamError", "message": "down"}


def test_credential_problems_do_not_leak_to_the_caller() -> None:
    response = upstream_response(PermanentUpstreamError("token abc rejected", code="X", status=401))
    body = json.loads(str(response.body))
    assert body["error"] == "UpstreamAuthenticationFailed"
    assert "abc" not in body["message"]


def test_conflicts_answer_their_own_status() -> None:
    response = conflict_response(ConflictError("busy", code="RequestInProgress", retry_after=2))
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "2"
    reused = conflict_response(ConflictError("other body", code="IdempotencyKeyReused", status=422))
    assert reused.status_code == 422
    assert "Retry-After" not in reused.headers
