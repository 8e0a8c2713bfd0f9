"""The stale-100 rule on evidence: the video the project offered just before the request is the
previous render's, however long AI Studios keeps reporting it (moto in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import (
    ExportRequest,
    PermanentUpstreamError,
    PollResult,
    Progress,
    TransientUpstreamError,
)
from aistudios_export.clock import iso
from aistudios_export.workflow.poll import poll_export
from aistudios_export.workflow.start import start_export
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources

pytestmark = pytest.mark.unit
OLD = "https://cdn.example.com/renders/old.mp4"
NEW = "https://cdn.example.com/renders/new.mp4"


def _done(file: str, signature: int) -> Progress:
    return Progress(100.0, "completed", f"{file}?X-Amz-Signature={signature}")


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


@pytest.mark.parametrize(
    ("before", "recorded"),
    [
        (_done(OLD, 1), OLD),
        (Progress(30.0, "rendering"), ""),
        (Progress(0.0, "idle"), ""),
        (PermanentUpstreamError("no such project", code="PROJECT_NOT_FOUND", status=404), ""),
        (TransientUpstreamError("HTTP 503", code="ServiceUnavailable"), None),
        (PermanentUpstreamError("forbidden", code="Forbidden", status=403), None),
    ],
    ids=["a finished render", "rendering", "idle", "not found", "unavailable", "refused"],
)
def test_a_start_notes_the_video_the_project_offers_before_its_request(
    env: Resources, before: Progress | Exception, recorded: str | None
) -> None:
    env.aistudios.before = before
    record = start_export(env.adapters, ExportRequest(projectId=PROJECT_ID))
    assert env.aistudios.looks == 1
    assert env.adapters.store.get(record.export_id).previous_video == recorded
    assert len(env.aistudios.exports) == 1  # the look is a GET; the request is still sent once


def _poll(env: Resources, seconds_ago: float) -> PollResult:
    """A poll `seconds_ago` after the request (the record's createdAt moved there)."""
    requested = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    env.table.update_item(
        Key={"exportId": EXPORT_ID},
        UpdateExpression="SET createdAt = :c",
        ExpressionAttributeValues={":c": iso(requested)},
    )
    return poll_export(env.adapters, EXPORT_ID, PROJECT_ID, requested)


def test_the_previous_render_reported_past_the_grace_is_never_delivered(env: Resources) -> None:
    env.seed(previous_video=OLD)
    grace = env.adapters.settings.stale_grace_seconds
    env.aistudios.readings = [_done(OLD, 2)]

    assert not _poll(env, seconds_ago=grace + 25).download_ready  # a stale window past the grace
    assert not _poll(env, seconds_ago=grace * 10).download_ready

    env.aistudios.readings = [_done(NEW, 3)]
    assert _poll(env, seconds_ago=grace * 10 + 5).download_ready  # another file: the new render


def test_a_new_video_counts_at_once_without_waiting_for_the_grace(env: Resources) -> None:
    env.seed(previous_video=OLD)
    env.aistudios.readings = [_done(NEW, 1)]
    assert _poll(env, seconds_ago=1).download_ready


def test_a_project_that_offered_no_video_before_has_no_previous_render_to_confuse(env: Resources) -> None:
    env.seed(previous_video="")
    env.aistudios.readings = [_done(OLD, 1)]
    assert _poll(env, seconds_ago=1).download_ready


def test_a_render_seen_under_way_counts_even_on_the_same_file(env: Resources) -> None:
    """A service that keeps one file per project: once this export saw the render below 100, its
    next 100 is this render's, whatever the file is called."""
    env.seed(previous_video=OLD)
    env.aistudios.readings = [Progress(40.0, "rendering"), _done(OLD, 2)]
    assert not _poll(env, seconds_ago=5).download_ready
    assert _poll(env, seconds_ago=10).download_ready


def test_without_a_look_before_the_request_the_grace_decides(env: Resources) -> None:
    env.seed(previous_video=None)
    grace = env.adapters.settings.stale_grace_seconds
    env.aistudios.readings = [_done(OLD, 1)]
    assert not _poll(env, seconds_ago=grace - 5).download_ready
    assert _poll(env, seconds_ago=grace + 1).download_ready


def test_the_same_file_written_after_the_request_is_this_render(env: Resources, modified: Any) -> None:
    """A service that keeps one file per project: the file's Last-Modified says it was written after
    the request, so it is this render's even though no poll saw the render under way."""
    env.seed(previous_video=OLD)
    env.aistudios.readings = [_done(OLD, 2)]
    modified.at = datetime.now(UTC)
    assert _poll(env, seconds_ago=5).download_ready
    modified.at = datetime.now(UTC) - timedelta(days=1)  # the previous render's, as before
    assert not _poll(env, seconds_ago=5).download_ready


def test_without_a_look_the_files_date_decides_before_the_grace(env: Resources, modified: Any) -> None:
    env.seed(previous_video=None)
    grace = env.adapters.settings.stale_grace_seconds
    env.aistudios.readings = [_done(OLD, 1)]
    modified.at = datetime.now(UTC) - timedelta(days=1)
    assert not _poll(env, seconds_ago=grace * 10).download_ready  # old, however long it lasts
    modified.at = datetime.now(UTC)
    assert _poll(env, seconds_ago=2).download_ready  # written after the request: at once
    assert modified.asked == [f"{OLD}?X-Amz-Signature=1"] * 2


def test_a_new_file_needs_no_date(env: Resources, modified: Any) -> None:
    env.seed(previous_video=OLD)
    env.aistudios.readings = [_done(NEW, 1)]
    assert _poll(env, seconds_ago=1).download_ready
    assert modified.asked == []
