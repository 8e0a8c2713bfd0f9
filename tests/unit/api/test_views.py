"""The HTTP side: bodies, links and the export view (the status each error becomes: test_http_errors)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from moto import mock_aws

from aistudios_export import ExportStatus, RequestValidationError, VideoLocation
from aistudios_export.api.views import export_view, parse_json_body, resource_link
from tests.api_contract import schema_named, validate
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
        ("[" * 5_000 + "]" * 5_000, "must not nest deeper than 32 levels"),
        ("[" * 33 + "]" * 33, "must not nest deeper than 32 levels"),
        ("x" * 20_000, "must be at most 16384 bytes"),
    ],
)
def test_bad_bodies_name_the_body_field(body: str, message: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_json_body(_event(body))
    assert caught.value.errors == [{"field": "body", "message": message}]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"projectId": NaN}', "projectId", "must be a finite number (NaN and Infinity are not JSON)"),
        ('{"a": {"b": -Infinity}}', "a.b", "must be a finite number (NaN and Infinity are not JSON)"),
        ('{"limit": 1e400}', "limit", "must be a finite number (NaN and Infinity are not JSON)"),
        ('{"n": [' + "9" * 400 + "]}", "n", "must be a number of at most 40 characters"),
        ('{"w": "\\ud800"}', "w", "must be valid Unicode (no lone surrogate)"),
        ('{"\\ud800": 1}', "\\ud800", "must be a name in valid Unicode"),
        (
            '{"a\\n": {"\\u0007": NaN}}',
            "a\\n.\\u0007",
            "must be a finite number (NaN and Infinity are not JSON)",
        ),
    ],
)
def test_what_only_pythons_json_reader_takes_is_refused_naming_the_field(
    body: str, field: str, message: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_json_body(_event(body))
    assert caught.value.errors == [{"field": field, "message": message}]


def test_a_body_in_base64_is_read_as_bytes() -> None:
    encoded = base64.b64encode(b'{"projectId": "65fa6b07dca2e367461a2925"}').decode()
    assert parse_json_body(_event(encoded, isBase64Encoded=True)) == {"projectId": "65fa6b07dca2e367461a2925"}
    with pytest.raises(RequestValidationError, match="must be UTF-8"):
        parse_json_body(_event(base64.b64encode(b"\xff{}").decode(), isBase64Encoded=True))
    with pytest.raises(RequestValidationError, match="base64"):
        parse_json_body(_event("not base64!", isBase64Encoded=True))


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
    validate(export_view(env.adapters, record, "l"), schema_named("Export"))  # as documented


def test_the_view_of_a_failed_export_shows_the_error_and_no_video(env: Resources) -> None:
    record = env.seed(status=ExportStatus.FAILED, error={"code": "E1", "message": "m"})
    view = export_view(env.adapters, record, "l")
    assert view["error"] == {"code": "E1", "message": "m"}
    assert "video" not in view
    assert view["status"] == "FAILED"
    validate(view, schema_named("Export"))


def test_video_links_are_signed_with_sigv4() -> None:
    """boto3 presigns with SigV2 in us-east-1 by default; S3 buckets created since June 2020 refuse it."""
    from moto import mock_aws

    from aistudios_export import Adapters, Settings, VideoLocation

    with mock_aws():
        adapters = Adapters(Settings.from_env({"VIDEO_BUCKET": "videos"}))
        url = adapters.bucket.presign(VideoLocation("videos", "exports/p/e.mp4", 1, "a" * 64), 300)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "AWSAccessKeyId=" not in url
