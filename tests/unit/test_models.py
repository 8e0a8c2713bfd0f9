"""The status vocabulary, the record and its video: one conversion each to the table and the public view."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from aistudios_export import ExportRecord, ExportStatus, VideoLocation
from aistudios_export.models import FINAL_STATUSES, RESOLUTIONS, new_export_id

pytestmark = pytest.mark.unit


def test_status_vocabulary() -> None:
    assert [s.value for s in ExportStatus] == [
        "REQUESTED",
        "RENDERING",
        "DELIVERING",
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "CANCELLED",
    ]
    assert {s for s in ExportStatus if s.is_final} == {
        ExportStatus.SUCCEEDED,
        ExportStatus.FAILED,
        ExportStatus.TIMED_OUT,
        ExportStatus.CANCELLED,
    }


def test_resolutions_are_the_documented_ones() -> None:
    assert RESOLUTIONS == ("4k", "1080", "720", "480")
    assert {s.value for s in FINAL_STATUSES} == {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}


def test_a_record_survives_the_table_round_trip() -> None:
    video = VideoLocation("b", "exports/p/e.mp4", 12, "a" * 64, "etag", "v1")
    record = ExportRecord(
        export_id=new_export_id(),
        project_id="65fa6b07dca2e367461a2925",
        resolution="720",
        status=ExportStatus.SUCCEEDED,
        progress=99.456,
        video=video,
        error=None,
        notified=True,
        name="Spring launch",
        metadata={"campaign": "spring"},
        retry_of="0" * 32,
        retried_by="f" * 32,
        direct_webhook_url="https://hooks.example.com/in",
    )
    item = record.to_item()
    assert item["progress"] == Decimal("99.46")
    assert "error" not in item
    assert item["video"] == {
        "bucket": "b",
        "key": "exports/p/e.mp4",
        "size": 12,
        "sha256": "a" * 64,
        "etag": "etag",
        "versionId": "v1",
    }
    back = ExportRecord.from_item(item)
    assert back.video == video
    assert back.progress == pytest.approx(99.46)
    assert back.status is ExportStatus.SUCCEEDED
    assert (back.name, back.metadata) == ("Spring launch", {"campaign": "spring"})
    assert (item["retryOf"], item["retriedBy"], item["directWebhookUrl"]) == (
        "0" * 32,
        "f" * 32,
        "https://hooks.example.com/in",
    )
    assert (back.retry_of, back.retried_by, back.direct_webhook_url) == (
        "0" * 32,
        "f" * 32,
        "https://hooks.example.com/in",
    )
    assert back.request_webhook_url == "https://hooks.example.com/in"
    assert replace(back, progress=record.progress) == record  # every other field comes back as it was
    assert "metadata" not in ExportRecord.from_item(item | {"metadata": {}}).to_item()


def test_the_public_video_names_its_uri_and_type_and_never_the_etag() -> None:
    public = VideoLocation("b", "k.mp4", 3, "f" * 64, "etag").to_public()
    assert public == {
        "bucket": "b",
        "key": "k.mp4",
        "uri": "s3://b/k.mp4",
        "size": 3,
        "sha256": "f" * 64,
        "contentType": "video/mp4",
    }


def test_export_ids_are_time_ordered_and_valid_execution_names() -> None:
    first, second = new_export_id(), new_export_id()
    assert len(first) == 32
    assert first[:12] <= second[:12]
    assert first != second
