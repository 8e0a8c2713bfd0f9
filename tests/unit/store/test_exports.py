"""The exports table: guarded status transitions, listing by project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from aistudios_export import ExportStatus, InvalidTransitionError, VideoLocation
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources

pytestmark = pytest.mark.unit


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


def test_the_happy_path_of_transitions(env: Resources) -> None:
    env.seed(status=ExportStatus.REQUESTED)
    store = env.adapters.store
    assert store.record_progress(EXPORT_ID, 42.123, "rendering").status is ExportStatus.RENDERING
    assert store.get(EXPORT_ID).progress == pytest.approx(42.12)
    assert store.mark_delivering(EXPORT_ID).progress == 100
    video = VideoLocation("b", "k", 1, "a" * 64)
    done = store.mark_succeeded(EXPORT_ID, video)
    assert done.status is ExportStatus.SUCCEEDED
    assert done.video == video
    assert done.finished_at
    assert not done.notified
    store.mark_notified(EXPORT_ID)
    assert store.get(EXPORT_ID).notified


def test_a_final_export_refuses_every_further_transition(env: Resources) -> None:
    env.seed(status=ExportStatus.CANCELLED)
    store = env.adapters.store
    for update in (
        lambda: store.record_progress(EXPORT_ID, 50, "rendering"),
        lambda: store.mark_delivering(EXPORT_ID),
        lambda: store.mark_succeeded(EXPORT_ID, VideoLocation("b", "k", 1, "a" * 64)),
        lambda: store.mark_failed(EXPORT_ID, ExportStatus.FAILED, "E", "m"),
    ):
        with pytest.raises(InvalidTransitionError, match="is CANCELLED"):
            update()
    assert store.get(EXPORT_ID).status is ExportStatus.CANCELLED


def test_progress_is_not_recorded_once_delivery_began(env: Resources) -> None:
    env.seed(status=ExportStatus.DELIVERING)
    with pytest.raises(InvalidTransitionError):
        env.adapters.store.record_progress(EXPORT_ID, 10, "rendering")


def test_only_failure_statuses_can_be_marked_failed(env: Resources) -> None:
    env.seed()
    with pytest.raises(ValueError, match="not a failure status"):
        env.adapters.store.mark_failed(EXPORT_ID, ExportStatus.SUCCEEDED, "E", "m")


def test_long_error_messages_are_capped(env: Resources) -> None:
    env.seed()
    record = env.adapters.store.mark_failed(EXPORT_ID, ExportStatus.FAILED, "E", "x" * 5000)
    assert record.error is not None
    assert len(record.error["message"]) == 1000


def test_an_unknown_export_is_not_found(env: Resources) -> None:
    from aistudios_export import ExportNotFoundError

    with pytest.raises(ExportNotFoundError):
        env.adapters.store.get("f" * 32)
    with pytest.raises(ExportNotFoundError):
        env.adapters.store.mark_delivering("f" * 32)


def test_a_project_lists_its_exports_newest_first(env: Resources) -> None:
    from aistudios_export import ExportRecord

    store = env.adapters.store
    for i in range(3):
        store.create(ExportRecord(f"{i:032x}", PROJECT_ID, "1080", created_at=f"2026-11-27T20:5{i}:00.000Z"))
    store.create(ExportRecord("f" * 32, "0" * 24, "1080"))
    records, resume = store.list_page(project_id=PROJECT_ID)
    assert ([r.export_id for r in records], resume) == ([f"{i:032x}" for i in (2, 1, 0)], None)
    assert len(store.list_page(project_id=PROJECT_ID, limit=2)[0]) == 2  # pages: test_listing.py


def test_a_delivery_attempt_leaves_its_upload_for_the_next(env: Resources) -> None:
    env.seed(status=ExportStatus.DELIVERING)
    env.adapters.store.mark_upload(EXPORT_ID, "upload-1")
    assert env.adapters.store.get(EXPORT_ID).upload_id == "upload-1"
