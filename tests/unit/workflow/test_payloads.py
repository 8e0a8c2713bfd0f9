"""The state machine's payloads: Task inputs and outputs, and the errors the failure path decodes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from aistudios_export import ExportRecord, ExportStatus, Failure, PollResult, VideoLocation
from aistudios_export.workflow.payloads import (
    FailureEvent,
    PollTask,
    delivery_output,
    describe_error,
    execution_input,
    failure_output,
    poll_output,
)
from tests.helpers import REPO, load_event

pytestmark = pytest.mark.unit
ASL = json.loads((REPO / "statemachine" / "export.asl.json").read_text())


@pytest.mark.parametrize(
    ("error", "status", "code", "message"),
    [
        (
            {
                "Error": "PermanentUpstreamError",
                "Cause": json.dumps({"errorMessage": "[E42] nope", "errorType": "X"}),
            },
            ExportStatus.FAILED,
            "E42",
            "nope",
        ),
        ({"Error": "ExportTimedOut", "Cause": "late"}, ExportStatus.TIMED_OUT, "ExportTimedOut", "late"),
        ({"Error": "States.Timeout", "Cause": ""}, ExportStatus.FAILED, "States.Timeout", "States.Timeout"),
        (
            {"Error": "X", "Cause": "GET https://h/v.mp4?Signature=s3cr3t failed"},
            ExportStatus.FAILED,
            "X",
            "GET https://h/v.mp4?<redacted> failed",
        ),
        (None, ExportStatus.FAILED, "States.TaskFailed", "States.TaskFailed"),
    ],
)
def test_step_functions_errors_become_a_status_code_and_message(
    error: dict[str, str] | None, status: ExportStatus, code: str, message: str
) -> None:
    assert describe_error(error) == Failure(status, code, message)


def test_a_requests_error_stored_in_the_record_keeps_no_signed_query() -> None:
    """An error no step caught reaches the record as Lambda reports it ({errorMessage, errorType});
    requests writes the URL without its scheme ("Max retries exceeded with url: /path?query")."""
    from aistudios_export.workflow.payloads import describe_execution_end
    from tests.unit.net.refused import SIGNATURE, refused_fetch

    error, _ = refused_fetch()
    cause = json.dumps({"errorMessage": str(error), "errorType": "ConnectionError", "stackTrace": []})

    failure = describe_error({"Error": "ConnectionError", "Cause": cause})
    ended = describe_execution_end({"status": "FAILED", "error": "ConnectionError", "cause": cause})

    assert failure.code == "ConnectionError"
    assert "Max retries exceeded with url: /cdn/videos/" in failure.message
    for message in (failure.message, ended.message):
        assert SIGNATURE not in message
        assert "?<redacted>" in message


def test_the_poll_task_reads_what_the_state_machine_sends() -> None:
    task = PollTask.from_event(load_event("poll_export"))
    assert task.export_id == "01a21ec5ce135e5ff0ab93749a578ff3"
    assert task.project_id == "65fa6b07dca2e367461a2925"
    assert task.requested_at == datetime(2026, 11, 27, 20, 50, 9, 555000, tzinfo=UTC)
    sent = ASL["States"]["Check progress"]["Parameters"]["Payload"]
    assert {k.removesuffix(".$") for k in sent} == {
        "exportId",
        "projectId",
        "requestedAt",
        "deadline",
        "samples",
        "polls",
    }
    assert task.samples == ()
    assert task.polls == 0  # the sample event, like an execution started before polls were counted


def test_the_poll_task_reads_how_many_polls_came_before() -> None:
    event = load_event("poll_export")
    assert PollTask.from_event(event | {"polls": 3}).polls == 3
    for unusable in (None, -1, True, "3", 2.5):
        assert PollTask.from_event(event | {"polls": unusable}).polls == 0


def test_the_poll_task_keeps_its_samples_and_refuses_malformed_ones() -> None:
    event = load_event("poll_export") | {
        "deadline": "2026-11-27T21:20:09Z",
        "samples": [[12.5, 10], [30, 42.5]],
    }
    task = PollTask.from_event(event)
    assert task.samples == ((12.5, 10.0), (30.0, 42.5))
    assert task.deadline == datetime(2026, 11, 27, 21, 20, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="samples"):
        PollTask.from_event(event | {"samples": [["a", 1]]})


def test_the_poll_output_is_what_the_state_machine_selects() -> None:
    output = poll_output(
        PollResult(42.5, "rendering", False, False, "d", 17, "2026-11-27T20:51:00Z", samples=((30.0, 42.5),)),
        polls=4,
    )
    assert output["samples"] == [[30.0, 42.5]]
    assert output["polls"] == 4
    assert ASL["States"]["Poll failed"]["Parameters"]["polls.$"] == "$.poll.polls"
    selected = ASL["States"]["Check progress"]["ResultSelector"]
    assert {v.removeprefix("$.Payload.") for v in selected.values()} == set(output)
    assert output["nextWaitSeconds"] == 17
    assert "downloadUrl" not in output


def test_the_delivery_output_is_what_the_state_machine_selects() -> None:
    record = ExportRecord(
        "e" * 32, "p" * 24, "1080", ExportStatus.SUCCEEDED, video=VideoLocation("b", "k", 5, "a" * 64)
    )
    output = delivery_output(record)
    selected = ASL["States"]["Deliver video"]["ResultSelector"]
    assert {v.removeprefix("$.Payload.") for v in selected.values()} == set(output)
    assert output == {"status": "SUCCEEDED", "bucket": "b", "key": "k", "size": 5, "sha256": "a" * 64}


def test_the_execution_input_carries_what_the_states_read() -> None:
    record = ExportRecord("e" * 32, "p" * 24, "720", created_at="2026-11-27T20:50:09.555Z")
    record.deadline_at = "2026-11-27T21:20:09Z"
    data = json.loads(execution_input(record, 7, 60))
    assert data == {
        "exportId": "e" * 32,
        "projectId": "p" * 24,
        "resolution": "720",
        "requestedAt": "2026-11-27T20:50:09.555Z",
        "deadline": "2026-11-27T21:20:09Z",
        "maxWaitSeconds": 60,
        "poll": {"nextWaitSeconds": 7, "samples": [], "polls": 0},
    }


@pytest.mark.parametrize(
    ("name", "ended", "failure"),
    [
        (
            "record_failure",
            False,
            Failure(ExportStatus.FAILED, "ProjectNotFound", "project does not exist"),
        ),
        ("record_failure_timeout", False, None),
        (
            "record_failure_execution_aborted",
            True,
            Failure(
                ExportStatus.CANCELLED, "ExecutionAborted", "the workflow was stopped before it finished"
            ),
        ),
    ],
)
def test_the_failure_path_reads_both_of_its_event_shapes(
    name: str, ended: bool, failure: Failure | None
) -> None:
    event = FailureEvent.from_event(load_event(name))
    assert event.export_id == "01a21ec5ce135e5ff0ab93749a578ff3"
    assert event.execution_ended is ended
    if failure is not None:
        assert event.failure == failure
    else:
        assert event.failure.status is ExportStatus.TIMED_OUT


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            {"status": "TIMED_OUT"},
            Failure(ExportStatus.TIMED_OUT, "ExecutionTimedOut", "the workflow exceeded its time limit"),
        ),
        ({"status": "FAILED"}, Failure(ExportStatus.FAILED, "ExecutionFailed", "the workflow failed")),
        (
            {"status": "FAILED", "error": "ExportFailed", "cause": "GET https://x/y?sig=1 broke"},
            Failure(ExportStatus.FAILED, "ExportFailed", "GET https://x/y?<redacted> broke"),
        ),
    ],
)
def test_execution_ends_become_final_statuses(detail: dict[str, Any], expected: Failure) -> None:
    event = load_event("record_failure_execution_aborted")
    event["detail"] = event["detail"] | detail
    assert FailureEvent.from_event(event).failure == expected


def test_the_failure_output_names_the_status_reached() -> None:
    failure = Failure(ExportStatus.FAILED, "E1", "m")
    record = ExportRecord("e" * 32, "p" * 24, "1080", ExportStatus.SUCCEEDED)
    assert failure_output(record, failure) == {"status": "SUCCEEDED", "code": "E1"}
    assert failure_output(None, failure) == {"status": "UNKNOWN", "code": "E1"}
