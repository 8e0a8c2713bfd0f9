"""The videos' bucket as the workflow uses it: what a clean-up that S3 partly refuses does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from aistudios_export import PermanentUpstreamError
from aistudios_export.delivery.bucket import VideoBucket

pytestmark = pytest.mark.unit


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="videos")
        yield client


def test_discard_removes_every_key_it_is_given(s3: Any) -> None:
    for key in ("exports/p/e.mp4", "exports/p/e.webp", "exports/p/other.mp4"):
        s3.put_object(Bucket="videos", Key=key, Body=b"x")

    VideoBucket(s3, "videos").discard("exports/p/e.mp4", "exports/p/e.webp")

    assert [o["Key"] for o in s3.list_objects_v2(Bucket="videos")["Contents"]] == ["exports/p/other.mp4"]


def test_a_key_s3_would_not_delete_is_an_error_not_silence(s3: Any) -> None:
    """DeleteObjects answers 200 with per-key errors (AccessDenied without s3:DeleteObject): the
    answer, shaped as S3's API model says, is read, not ignored."""
    stubber = Stubber(s3)
    stubber.add_response(
        "delete_objects",
        {
            "Deleted": [{"Key": "exports/p/e.png"}],
            "Errors": [{"Key": "exports/p/e.mp4", "Code": "AccessDenied", "Message": "Access Denied"}],
        },
    )
    with stubber, pytest.raises(PermanentUpstreamError) as refused:
        VideoBucket(s3, "videos").discard("exports/p/e.mp4", "exports/p/e.png")

    assert refused.value.code == "CleanupFailed"
    assert "exports/p/e.mp4 (AccessDenied)" in refused.value.message
