"""Workflow steps against moto in-process (no sockets), resources built from template.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import pytest
from moto import mock_aws

from aistudios_export import (
    ExportStatus,
    Failure,
    TransientUpstreamError,
    VideoLocation,
    parse_export_request,
)
from aistudios_export.payloads import FailureEvent
from aistudios_export.workflow import deliver_export, record_execution_end, record_failure, start_export
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
    record = step(env.adapters, ended.export_id, ended.failure)
    return {"status": record.status.value if record else "UNKNOWN", "code": ended.failure.code}


def test_execution_that_cannot_start_leaves_a_failed_record_and_a_notification(env: Resources) -> None:
    request = parse_export_request({"projectId": PROJECT_ID, "resolution": "480"})

    with pytest.raises(TransientUpstreamError) as caught:
        start_export(env.adapters, request)

    assert caught.value.code == "WorkflowStartFailed"
    assert caught.value.retry_after == 5
    [item] = env.table.scan()["Items"]
    assert item["status"] == "FAILED"
    assert item["error"]["code"] == "WorkflowStartFailed"
    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["attributes"] == {"status": "FAILED", "projectId": PROJECT_ID, "resolution": "480"}
    assert env.aistudios.exports == [
        {"projectId": PROJECT_ID, "workspace_id": None, "resolution": "480", "webhook_url": None}
    ]


@pytest.mark.parametrize(("configured", "expected"), [(None, "1080"), ("720", "720"), ("4k", "4k")])
def test_a_request_without_resolution_gets_the_configured_default(
    configured: str | None, expected: str
) -> None:
    with mock_aws():
        env = Resources(**({"DEFAULT_RESOLUTION": configured} if configured else {}))
        with pytest.raises(TransientUpstreamError):  # no state machine: the record still shows it
            start_export(env.adapters, parse_export_request({"projectId": PROJECT_ID}))
        [item] = env.table.scan()["Items"]
        assert item["resolution"] == expected
        assert env.aistudios.exports[0]["resolution"] == expected
        assert env.notifications()[0]["attributes"]["resolution"] == expected


def test_a_named_resolution_wins_over_the_default() -> None:
    with mock_aws():
        env = Resources(DEFAULT_RESOLUTION="720")
        with pytest.raises(TransientUpstreamError):
            start_export(env.adapters, parse_export_request({"projectId": PROJECT_ID, "resolution": "480"}))
        assert env.aistudios.exports[0]["resolution"] == "480"


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

    record = deliver_export(env.adapters, load_event("deliver_export")["exportId"])

    assert record.status is ExportStatus.SUCCEEDED
    assert record.video == video
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

    record = record_execution_end(env.adapters, EXPORT_ID, Failure(ExportStatus.FAILED, "ExportFailed", "x"))

    assert record is not None
    assert record.status is ExportStatus.FAILED
    assert env.notifications() == []
    assert env.adapters.store.get(EXPORT_ID).error == {"code": "E1", "message": "m"}


def test_the_safety_net_ignores_executions_of_unknown_exports(env: Resources) -> None:
    failure = Failure(ExportStatus.CANCELLED, "ExecutionAborted", "stopped")
    assert record_execution_end(env.adapters, "f" * 32, failure) is None
    assert env.notifications() == []
