"""Workflow steps against moto in-process (no sockets), resources built from template.yaml."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from moto import mock_aws

from aistudios_export import (
    ExportRequest,
    ExportStatus,
    Failure,
    PermanentUpstreamError,
    PollResult,
    Progress,
    TransientUpstreamError,
    VideoLocation,
    parse_export_request,
)
from aistudios_export.clock import iso, parse_iso
from aistudios_export.errors import ProjectBusyError
from aistudios_export.workflow.deliver import deliver_export
from aistudios_export.workflow.endings import cancel_export, record_execution_end, record_failure
from aistudios_export.workflow.payloads import FailureEvent
from aistudios_export.workflow.poll import poll_export
from aistudios_export.workflow.start import start_export
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources

pytestmark = pytest.mark.unit
SCHEMA = json.loads((REPO / "docs" / "notification.schema.json").read_text())


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


def _record_failure_event(env: Resources, name: str) -> dict[str, str]:
    ended = FailureEvent.from_event(load_event(name))
    step = record_execution_end if ended.execution_ended else record_failure
    ending = step(env.adapters, ended.export_id, ended.failure)
    return {"status": ending.record.status.value if ending else "UNKNOWN", "code": ended.failure.code}


def _request(**fields: str) -> ExportRequest:
    return parse_export_request({"projectId": PROJECT_ID, **fields})


def test_a_started_export_has_a_record_a_lease_and_an_execution(env: Resources) -> None:
    record = start_export(env.adapters, _request(resolution="480"))

    assert record.status is ExportStatus.REQUESTED
    assert env.adapters.store.get(record.export_id).resolution == "480"
    assert env.adapters.store.lease_holder(PROJECT_ID) == record.export_id
    assert env.executions() == [record.export_id]
    assert record.execution_arn
    assert record.execution_arn.endswith(f":execution:export:{record.export_id}")
    assert env.aistudios.exports == [
        {"projectId": PROJECT_ID, "workspace_id": None, "resolution": "480", "webhook_url": None}
    ]
    assert env.notifications() == []


def test_an_execution_that_cannot_start_leaves_no_trace_and_publishes_nothing(env: Resources) -> None:
    env.adapters.settings.__dict__["state_machine_arn"] = env.state_machine_arn + "-missing"

    with pytest.raises(TransientUpstreamError) as caught:
        start_export(env.adapters, _request())

    assert caught.value.code == "WorkflowStartFailed"
    assert caught.value.retry_after == 5
    assert env.items() == []  # neither a record nor a lease
    assert env.aistudios.exports == []  # AI Studios was never asked to render
    assert env.notifications() == []  # the caller is told to retry: nothing says it failed


def test_a_database_failure_before_the_render_is_a_503_and_nothing_is_rendered() -> None:
    with mock_aws():
        env = Resources()
        env.table.delete()
        with pytest.raises(TransientUpstreamError) as caught:
            start_export(env.adapters, _request())
        assert caught.value.code == "AwsServiceError"
        assert env.aistudios.exports == []
        assert env.executions() == []


@pytest.mark.parametrize(
    "error",
    [
        PermanentUpstreamError("no such project", code="ProjectNotFound", status=404),
        TransientUpstreamError("connection refused", code="ConnectionError"),
        TransientUpstreamError("rate limited", code="HTTP429", retry_after=3),
    ],
    ids=["refused", "unreachable", "rate limited"],
)
def test_an_export_ai_studios_did_not_start_is_withdrawn(env: Resources, error: Exception) -> None:
    env.aistudios.export_error = error

    with pytest.raises(type(error)):
        start_export(env.adapters, _request())

    assert env.items() == []
    assert env.adapters.store.lease_holder(PROJECT_ID) is None
    assert env.notifications() == []
    again = start_export(env.adapters, _request())  # the project is free for the retry
    assert env.adapters.store.lease_holder(PROJECT_ID) == again.export_id


def test_an_export_that_may_have_reached_ai_studios_is_kept_and_tracked(env: Resources) -> None:
    env.aistudios.export_error = TransientUpstreamError("HTTP 502", code="HTTP502", maybe_processed=True)

    record = start_export(env.adapters, _request())

    assert env.adapters.store.get(record.export_id).status is ExportStatus.REQUESTED
    assert env.executions() == [record.export_id]
    assert env.adapters.store.lease_holder(PROJECT_ID) == record.export_id


def test_one_active_export_per_project(env: Resources) -> None:
    first = start_export(env.adapters, _request())

    with pytest.raises(ProjectBusyError) as caught:
        start_export(env.adapters, _request(resolution="720"))
    assert caught.value.active_export_id == first.export_id
    assert len(env.aistudios.exports) == 1  # the second never reached AI Studios
    other = start_export(env.adapters, parse_export_request({"projectId": "0" * 24}))
    assert other.export_id != first.export_id  # other projects are not affected

    record_failure(env.adapters, first.export_id, Failure(ExportStatus.FAILED, "E", "m"))
    assert env.adapters.store.lease_holder(PROJECT_ID) is None
    assert start_export(env.adapters, _request(resolution="720")).resolution == "720"


def test_a_lost_release_blocks_a_project_only_until_the_lease_expires(env: Resources) -> None:
    first = start_export(env.adapters, _request())
    env.table.update_item(
        Key={"exportId": "lease#" + PROJECT_ID},
        UpdateExpression="SET leaseExpiresAt = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    assert env.adapters.store.lease_holder(PROJECT_ID) is None
    second = start_export(env.adapters, _request())
    assert env.adapters.store.lease_holder(PROJECT_ID) == second.export_id != first.export_id


def test_the_safety_net_releases_the_lease_of_an_execution_stopped_by_hand(env: Resources) -> None:
    first = start_export(env.adapters, _request())
    failure = Failure(ExportStatus.CANCELLED, "ExecutionAborted", "stopped")

    ending = record_execution_end(env.adapters, first.export_id, failure)

    assert ending is not None
    assert ending.changed
    assert ending.record.status is ExportStatus.CANCELLED
    assert env.adapters.store.lease_holder(PROJECT_ID) is None


@pytest.mark.parametrize(("configured", "expected"), [(None, "1080"), ("720", "720"), ("4k", "4k")])
def test_a_request_without_resolution_gets_the_configured_default(
    configured: str | None, expected: str
) -> None:
    with mock_aws():
        env = Resources(**({"DEFAULT_RESOLUTION": configured} if configured else {}))
        record = start_export(env.adapters, _request())
        assert env.adapters.store.get(record.export_id).resolution == expected
        assert env.aistudios.exports[0]["resolution"] == expected


def test_a_named_resolution_wins_over_the_default() -> None:
    with mock_aws():
        env = Resources(DEFAULT_RESOLUTION="720")
        start_export(env.adapters, _request(resolution="480"))
        assert env.aistudios.exports[0]["resolution"] == "480"


# -- polling ------------------------------------------------------------------------------------


def _poll(env: Resources, seconds_ago: float = 30) -> PollResult:
    """A poll of the execution started with the record (its requestedAt is the record's createdAt)."""
    requested = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    if env.adapters.store.find(EXPORT_ID) is not None:
        env.adapters.store._table.update_item(
            Key={"exportId": EXPORT_ID},
            UpdateExpression="SET createdAt = :c",
            ExpressionAttributeValues={":c": iso(requested)},
        )
    return poll_export(env.adapters, EXPORT_ID, PROJECT_ID, requested)


def test_an_earlier_attempts_execution_leaves_the_export_created_again_alone(env: Resources) -> None:
    """A queued request withdrawn after a refusal leaves its execution behind; the next attempt
    creates the record again under the same id. The old execution's poll must not take it over."""
    record = env.seed(status=ExportStatus.REQUESTED)
    env.aistudios.readings = [Progress(40.0, "rendering")]
    earlier = parse_iso(record.created_at) - timedelta(seconds=90)

    result = poll_export(env.adapters, EXPORT_ID, PROJECT_ID, earlier)

    assert result.abandoned
    after = env.adapters.store.get(EXPORT_ID)
    assert (after.status, after.progress, after.render_seen) == (ExportStatus.REQUESTED, 0, False)


def test_a_stale_100_right_after_the_request_is_not_this_exports_render(env: Resources) -> None:
    env.seed(status=ExportStatus.REQUESTED)
    old = Progress(100.0, "completed", "https://cdn.example.com/old.mp4?sig=1")
    new = Progress(100.0, "completed", "https://cdn.example.com/new.mp4?sig=2")
    env.aistudios.readings = [old, Progress(5.0, "rendering"), new]

    stale = _poll(env)
    assert not stale.download_ready
    assert _poll(env).percent == 5.0
    assert _poll(env).download_ready  # seen below 100 first: this 100 is this export's


def test_a_100_that_lasts_past_the_grace_counts(env: Resources) -> None:
    env.seed(status=ExportStatus.REQUESTED)
    env.aistudios.readings = [Progress(100.0, "completed", "https://cdn.example.com/v.mp4?sig=1")]
    grace = env.adapters.settings.stale_grace_seconds

    assert not _poll(env, seconds_ago=grace - 5).download_ready
    assert _poll(env, seconds_ago=grace + 1).download_ready


def test_an_ai_studios_outage_is_a_wait_not_a_failure(env: Resources) -> None:
    env.seed()
    env.aistudios.readings = [TransientUpstreamError("HTTP 503", code="HTTP503")]

    result = _poll(env)

    assert not result.download_ready
    assert not result.failed
    assert result.next_wait_seconds == int(env.adapters.settings.poll_max_wait_seconds)
    assert "503" in result.detail
    assert env.adapters.store.get(EXPORT_ID).status is ExportStatus.RENDERING  # unchanged


def test_a_permanent_poll_error_still_ends_the_export(env: Resources) -> None:
    env.seed()
    env.aistudios.readings = [PermanentUpstreamError("gone", code="ProjectNotFound", status=404)]
    with pytest.raises(PermanentUpstreamError):
        _poll(env)


def test_a_withdrawn_export_ends_its_execution_quietly(env: Resources) -> None:
    assert _poll(env).abandoned


def test_failure_is_recorded_and_notified_once_even_when_retried(env: Resources) -> None:
    env.seed()

    first = _record_failure_event(env, "record_failure")
    second = _record_failure_event(env, "record_failure")

    assert first == second == {"status": "FAILED", "code": "ProjectNotFound"}
    record = env.adapters.store.get(EXPORT_ID)
    assert record.error == {"code": "ProjectNotFound", "message": "project does not exist"}
    notes = env.notifications()
    assert len(notes) == 1
    jsonschema.validate(notes[0]["body"], SCHEMA)


def test_timeout_event_ends_timed_out(env: Resources) -> None:
    env.seed()
    assert _record_failure_event(env, "record_failure_timeout")["status"] == "TIMED_OUT"
    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["body"]["type"] == "export.timed_out"
    assert note["body"]["error"]["code"] == "ExportTimedOut"


def test_a_final_export_is_never_overwritten(env: Resources) -> None:
    video = VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64)
    env.seed(status=ExportStatus.SUCCEEDED, video=video, notified=True)

    result = _record_failure_event(env, "record_failure")

    assert result["status"] == "SUCCEEDED"
    assert env.notifications() == []


def test_delivery_retry_after_success_does_not_download_again(env: Resources) -> None:
    video = VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64)
    env.seed(status=ExportStatus.SUCCEEDED, video=video, notified=False)

    ending = deliver_export(env.adapters, load_event("deliver_export")["exportId"])

    assert ending.record.status is ExportStatus.SUCCEEDED
    assert ending.record.video == video
    assert not ending.changed
    [note] = env.notifications()  # the missing notification is sent, once
    jsonschema.validate(note["body"], SCHEMA)
    assert env.adapters.store.get(EXPORT_ID).notified


def test_delivery_of_an_export_that_already_failed_is_refused(env: Resources) -> None:
    from aistudios_export import PermanentUpstreamError

    env.seed(status=ExportStatus.FAILED, error={"code": "E1", "message": "m"}, notified=True)
    with pytest.raises(PermanentUpstreamError, match="already FAILED"):
        deliver_export(env.adapters, EXPORT_ID)


def test_an_execution_stopped_by_hand_ends_cancelled_with_a_notification(env: Resources) -> None:
    env.seed()

    assert _record_failure_event(env, "record_failure_execution_aborted") == {
        "status": "CANCELLED",
        "code": "ExecutionAborted",
    }
    # EventBridge may deliver twice
    assert _record_failure_event(env, "record_failure_execution_aborted")["status"] == "CANCELLED"

    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["body"]["type"] == "export.cancelled"
    assert note["attributes"]["status"] == "CANCELLED"


def test_the_execution_safety_net_leaves_finished_exports_alone(env: Resources) -> None:
    env.seed(status=ExportStatus.FAILED, error={"code": "E1", "message": "m"}, notified=True)

    ending = record_execution_end(env.adapters, EXPORT_ID, Failure(ExportStatus.FAILED, "ExportFailed", "x"))

    assert ending is not None
    assert not ending.changed
    assert ending.record.status is ExportStatus.FAILED
    assert env.notifications() == []
    assert env.adapters.store.get(EXPORT_ID).error == {"code": "E1", "message": "m"}


def test_the_safety_net_ignores_executions_of_unknown_exports(env: Resources) -> None:
    failure = Failure(ExportStatus.CANCELLED, "ExecutionAborted", "stopped")
    assert record_execution_end(env.adapters, "f" * 32, failure) is None
    assert env.notifications() == []


def test_a_notification_is_published_once_with_a_stable_dedup_key(env: Resources) -> None:
    env.seed()
    failure = Failure(ExportStatus.FAILED, "E1", "m")

    record_failure(env.adapters, EXPORT_ID, failure)
    record_execution_end(env.adapters, EXPORT_ID, failure)  # the safety net arrives too
    record_failure(env.adapters, EXPORT_ID, failure)  # and the Task is retried

    [note] = env.notifications()
    assert note["body"]["dedupKey"] == f"{EXPORT_ID}:FAILED"
    assert note["attributes"]["dedupKey"] == f"{EXPORT_ID}:FAILED"
    jsonschema.validate(note["body"], SCHEMA)


def test_a_claimed_notification_is_left_to_its_claimant_until_the_claim_goes_stale(env: Resources) -> None:
    env.seed(status=ExportStatus.FAILED, error={"code": "E", "message": "m"})
    store = env.adapters.store

    assert store.claim_notification(EXPORT_ID)  # another invocation is publishing right now
    assert not store.claim_notification(EXPORT_ID)
    record_failure(env.adapters, EXPORT_ID, Failure(ExportStatus.FAILED, "E", "m"))
    assert env.notifications() == []  # so this one stays quiet

    env.table.update_item(  # the claimant crashed a while ago: at least once wins
        Key={"exportId": EXPORT_ID},
        UpdateExpression="SET notifyClaimedAt = :old",
        ExpressionAttributeValues={":old": int(time.time()) - 3600},
    )
    record_failure(env.adapters, EXPORT_ID, Failure(ExportStatus.FAILED, "E", "m"))
    assert len(env.notifications()) == 1


def test_each_poll_adds_its_reading_to_the_bounded_samples_and_plans_from_them(env: Resources) -> None:
    requested = datetime.now(UTC) - timedelta(seconds=120)
    env.seed(status=ExportStatus.REQUESTED, created_at=iso(requested))
    env.aistudios.readings = [Progress(40.0, "rendering")]
    earlier = tuple((float(t), float(t) / 3) for t in range(10, 100, 10))
    deadline = datetime.now(UTC) + timedelta(minutes=20)

    result = poll_export(env.adapters, EXPORT_ID, PROJECT_ID, requested, deadline=deadline, samples=earlier)

    assert result.samples[-1][1] == 40.0
    assert len(result.samples) <= 6
    settings = env.adapters.settings
    assert settings.poll_min_wait_seconds <= result.next_wait_seconds <= settings.poll_max_wait_seconds


def test_a_cancel_ends_the_export_cancelled_notified_and_frees_the_project(env: Resources) -> None:
    from aistudios_export import ExportNotFoundError
    from aistudios_export.errors import ConflictError

    record = start_export(env.adapters, _request())

    ending = cancel_export(env.adapters, record.export_id)

    assert ending.changed
    assert ending.record.status is ExportStatus.CANCELLED
    assert ending.record.error == {"code": "ExportCancelled", "message": "cancelled through the API"}
    [note] = env.notifications()
    assert note["body"]["status"] == "CANCELLED"
    jsonschema.validate(note["body"], SCHEMA)
    assert env.adapters.store.lease_holder(PROJECT_ID) is None
    with pytest.raises(ConflictError) as caught:
        cancel_export(env.adapters, record.export_id)
    assert (caught.value.code, caught.value.status) == ("ExportAlreadyEnded", 409)
    with pytest.raises(ExportNotFoundError):
        cancel_export(env.adapters, "f" * 32)


def test_a_video_completed_as_its_export_is_cancelled_is_removed_with_its_thumbnail(env: Resources) -> None:
    """Cancelled while the last part went up: the stored video and its thumbnail (whatever its
    extension) are deleted, and the export stays CANCELLED."""
    import boto3

    from aistudios_export.aistudios.answers import ProjectInfo
    from aistudios_export.delivery.bucket import VideoBucket
    from aistudios_export.delivery.multipart import DeliveryResult

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="videos")
    env.seed(status=ExportStatus.RENDERING)
    env.aistudios.readings = [Progress(100.0, "completed", "https://cdn.example.com/v.mp4?sig=1")]
    env.aistudios.project = lambda project_id: ProjectInfo("Demo", "https://cdn.example.com/t.jpg")  # type: ignore[method-assign]

    class CancelledAtTheEnd:
        def deliver(self, url: str, *, bucket: str, key: str, **kwargs: object) -> DeliveryResult:
            s3.put_object(Bucket=bucket, Key=key, Body=b"\x00\x00\x00\x18ftypisom")
            env.adapters.store.mark_failed(EXPORT_ID, ExportStatus.CANCELLED, "ExportCancelled", "by hand")
            return DeliveryResult(bucket, key, 12, "a" * 64, "etag", None, 1)

    class JpegThumbnails(VideoBucket):
        def copy_thumbnail(self, url: str, video_key: str, metadata: object = None) -> str | None:
            key = video_key.removesuffix(".mp4") + ".jpg"
            s3.put_object(Bucket=self.name, Key=key, Body=b"\xff\xd8\xff")
            return key

    env.adapters.__dict__["delivery"] = CancelledAtTheEnd()
    env.adapters.__dict__["bucket"] = JpegThumbnails(s3, "videos")

    ending = deliver_export(env.adapters, EXPORT_ID)

    assert ending.record.status is ExportStatus.CANCELLED
    assert not ending.changed
    assert s3.list_objects_v2(Bucket="videos").get("KeyCount") == 0
