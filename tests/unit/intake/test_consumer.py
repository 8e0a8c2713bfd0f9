"""The request queue's consumer against moto in-process: request files, Export Requested events,
busy projects backing off, requests that can never start, and the lifecycle events of it all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from moto import mock_aws

from aistudios_export import PermanentUpstreamError, TransientUpstreamError
from aistudios_export.aws.request_bucket import MAX_FILE_BYTES, result_key
from aistudios_export.intake.consumer import QueueMessage, RetryLater, handle, process
from aistudios_export.intake.request_files import MAX_FILE_ENTRIES
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit
LIFECYCLE = json.loads((REPO / "docs" / "lifecycle-event.schema.json").read_text())
NOTIFICATION = json.loads((REPO / "docs" / "notification.schema.json").read_text())


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        resources = Resources(REQUEST_MAX_ATTEMPTS="3", REQUEST_RETRY_BASE_SECONDS="10")
        resources.adapters.s3.create_bucket(Bucket="videos")
        yield resources


def _requested(detail: Any, event_id: str = "e-1") -> QueueMessage:
    event = load_event("export_requested") | {"id": event_id, "detail": detail}
    return QueueMessage(json.dumps(event), receive_count=1)


def _file_event(key: str, event_id: str = "f-1") -> QueueMessage:
    event = load_event("request_file_created")
    event["id"] = event_id
    event["detail"]["bucket"]["name"] = "videos"
    event["detail"]["object"]["key"] = key
    return QueueMessage(json.dumps(event), receive_count=1)


def _queued(env: Resources) -> list[dict[str, Any]]:
    out = []
    while batch := env.sqs.receive_message(QueueUrl=env.request_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in batch:
            out.append(json.loads(message["Body"]))
            env.sqs.delete_message(QueueUrl=env.request_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return out


def _result(env: Resources, key: str) -> dict[str, Any]:
    body = env.adapters.s3.get_object(Bucket="videos", Key=result_key(key))["Body"].read()
    return dict(json.loads(body))


def _project(i: int) -> str:
    return f"{i:024x}"


def test_a_request_file_of_20_with_3_invalid_queues_17_and_says_why_of_3(env: Resources) -> None:
    entries: list[Any] = [{"projectId": _project(i), "resolution": "720"} for i in range(20)]
    entries[3] = {"projectId": "not-an-id"}
    entries[9] = {"projectId": _project(9), "resolution": "8k"}
    entries[15] = {"projectId": _project(15), "colour": "blue"}
    env.adapters.s3.put_object(Bucket="videos", Key="requests/batch.json", Body=json.dumps(entries).encode())

    handle(env.adapters, _file_event("requests/batch.json"))

    result = _result(env, "requests/batch.json")
    assert (result["queued"], result["rejected"]) == (17, 3)
    rejected = {e["index"]: e["error"]["field"] for e in result["entries"] if e["status"] == "REJECTED"}
    assert rejected == {3: "projectId", 9: "resolution", 15: "colour"}
    queued = _queued(env)
    assert len(queued) == 17
    ids = [e["exportId"] for e in result["entries"] if e["status"] == "QUEUED"]
    assert sorted(m["exportId"] for m in queued) == sorted(ids)
    assert len(set(ids)) == 17
    # each entry then starts its own export, with the id the result file gave it
    for message in queued:
        handle(env.adapters, QueueMessage(json.dumps(message), receive_count=1))
    assert {e["projectId"] for e in env.aistudios.exports} == {m["detail"]["projectId"] for m in queued}
    assert {env.adapters.store.get(i).trigger for i in ids} == {"s3"}


def test_the_same_file_event_delivered_twice_starts_each_export_once(env: Resources) -> None:
    env.adapters.s3.put_object(
        Bucket="videos", Key="requests/one.json", Body=json.dumps({"projectId": PROJECT_ID}).encode()
    )
    handle(env.adapters, _file_event("requests/one.json"))
    handle(env.adapters, _file_event("requests/one.json"))
    for message in _queued(env):
        handle(env.adapters, QueueMessage(json.dumps(message), receive_count=1))
    assert len(env.aistudios.exports) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the file must be valid JSON"),
        (b"\xff\xfe", "the file must be UTF-8 encoded JSON"),
        (b"[]", "lists no request"),
        (json.dumps([{"projectId": PROJECT_ID}] * (MAX_FILE_ENTRIES + 1)).encode(), "at most 100"),
        (b" " * (MAX_FILE_BYTES + 1), "larger than 256 KiB"),
        (b"", "the file is empty"),  # S3 answers InvalidRange to the ranged read of an empty object
        (b" \n\t", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"[" * 5000 + b"]" * 5000, "the file must not nest deeper than 32 levels"),
        (
            b'[{"projectId": "' + PROJECT_ID.encode() + b'", "x": ' + b"[" * 40 + b"]" * 40 + b"}]",
            "nest deeper",
        ),
        (b'{"projectId": NaN}', "the file's projectId must be a finite number"),
        (b'[{"projectId": "' + PROJECT_ID.encode() + b'", "resolution": ' + b"1" * 400 + b"}]", "at most 40"),
        (b'{"projectId": "' + PROJECT_ID.encode() + b'", "workspaceId": "\\udc00"}', "valid Unicode"),
        (b"\xfe\xff\x00{\x00}", "the file must be UTF-8 encoded JSON"),  # UTF-16: not read as UTF-8
    ],
)
def test_an_invalid_request_file_gets_a_result_saying_why(env: Resources, body: bytes, reason: str) -> None:
    env.adapters.s3.put_object(Bucket="videos", Key="requests/bad.json", Body=body)
    handle(env.adapters, _file_event("requests/bad.json"))
    result = _result(env, "requests/bad.json")
    assert result["error"]["code"] == "InvalidRequestFile"
    assert reason in result["error"]["message"]
    assert result["entries"] == []
    assert _queued(env) == []


def test_a_folder_object_is_ignored_without_a_result_or_a_retry(env: Resources) -> None:
    """What a console's "Create folder" puts: a zero-byte object whose key ends in "/"."""
    env.adapters.s3.put_object(Bucket="videos", Key="requests/nightly/", Body=b"")

    handle(env.adapters, _file_event("requests/nightly/"))

    assert [o["Key"] for o in env.adapters.s3.list_objects_v2(Bucket="videos")["Contents"]] == [
        "requests/nightly/"
    ]
    assert _queued(env) == []


def test_a_file_a_windows_editor_wrote_with_a_byte_order_mark_is_read(env: Resources) -> None:
    body = "\ufeff" + json.dumps([{"projectId": PROJECT_ID, "workspaceId": "équipe"}])
    env.adapters.s3.put_object(Bucket="videos", Key="requests/windows.json", Body=body.encode("utf-8"))

    handle(env.adapters, _file_event("requests/windows.json"))

    assert [e["status"] for e in _result(env, "requests/windows.json")["entries"]] == ["QUEUED"]
    assert [m["detail"]["workspaceId"] for m in _queued(env)] == ["équipe"]


def test_a_result_name_too_long_for_s3_is_the_files_hash() -> None:
    key = "requests/" + "é" * 500  # 1,009 bytes: allowed, but not with results/ and .result.json
    assert len(result_key(key).encode()) <= 1024
    assert result_key(key).startswith("results/")
    assert result_key(key).endswith(".result.json")
    assert result_key("requests/a/b.json") == "results/a/b.json.result.json"


def test_files_outside_requests_and_other_buckets_are_ignored(env: Resources) -> None:
    handle(env.adapters, _file_event("results/x.json.result.json"))
    event = json.loads(_file_event("requests/x.json").body)
    event["detail"]["bucket"]["name"] = "someone-elses"
    handle(env.adapters, QueueMessage(json.dumps(event), 1))
    assert _queued(env) == []
    assert env.adapters.s3.list_objects_v2(Bucket="videos").get("KeyCount") == 0


def test_an_export_requested_event_starts_one_export_even_when_delivered_twice(env: Resources) -> None:
    handle(env.adapters, _requested({"projectId": PROJECT_ID, "resolution": "4k"}))
    handle(env.adapters, _requested({"projectId": PROJECT_ID, "resolution": "4k"}))
    assert len(env.aistudios.exports) == 1
    (record,) = [r for r in env.items() if r["exportId"] != f"lease#{PROJECT_ID}"]
    assert (record["trigger"], record["resolution"], record["status"]) == ("eventbridge", "4k", "REQUESTED")
    events = env.bus_events()
    assert [e["detail"]["status"] for e in events] == ["REQUESTED"]
    for event in events:
        jsonschema.validate(event, LIFECYCLE)


def test_an_invalid_event_is_rejected_with_an_event_naming_the_field(env: Resources) -> None:
    handle(env.adapters, _requested({"projectId": PROJECT_ID, "resolution": "8k"}))
    assert env.aistudios.exports == []
    (event,) = env.bus_events()
    jsonschema.validate(event, LIFECYCLE)
    assert event["detail-type"] == "Export Request Rejected"
    assert event["detail"]["error"]["field"] == "resolution"


@pytest.mark.parametrize(
    ("detail", "field", "message"),
    [
        (f'{{"projectId": "{PROJECT_ID}", "resolution": {"1" * 5000}}}', "resolution", "at most 40"),
        (f'{{"projectId": "{PROJECT_ID}", "x": {"[" * 40 + "]" * 40}}}', "x", "nest deeper"),
        (f'{{"projectId": "{PROJECT_ID}", "workspaceId": "\\udc00"}}', "workspaceId", "valid Unicode"),
        ('{"projectId": NaN}', "projectId", "must be a finite number"),
    ],
)
def test_a_detail_no_strict_reader_takes_is_rejected_naming_the_field(
    env: Resources, detail: str, field: str, message: str
) -> None:
    envelope = json.dumps(load_event("export_requested") | {"id": "strict", "detail": "DETAIL"})

    handle(env.adapters, QueueMessage(envelope.replace('"DETAIL"', detail), receive_count=1))

    assert env.aistudios.exports == []
    (event,) = env.bus_events()
    jsonschema.validate(event, LIFECYCLE)
    assert event["detail-type"] == "Export Request Rejected"
    assert event["detail"]["error"]["field"] == field
    assert message in event["detail"]["error"]["message"]


def test_a_rejection_stays_small_whatever_the_detail_names(env: Resources) -> None:
    detail = {"projectId": PROJECT_ID, "x" * 100_000: 1} | {f"extra{i}": i for i in range(3000)}

    handle(env.adapters, _requested(detail))

    (event,) = env.bus_events()
    error = event["detail"]["error"]
    assert len(error["field"]) <= 256
    assert len(error["message"]) <= 1024


def test_a_message_the_parser_cannot_read_or_place_is_dropped_not_retried(env: Resources) -> None:
    deep = json.dumps(load_event("export_requested") | {"detail": "DEEP"}).replace(
        '"DEEP"', "[" * 5000 + "]" * 5000
    )
    not_s3 = json.loads(_file_event("requests/x.json").body) | {"detail": ["not", "an", "object"]}
    for body in (deep, json.dumps(not_s3), "\ud800", "NaN"):
        handle(env.adapters, QueueMessage(body, 1))
    assert env.aistudios.exports == []
    assert env.bus_events() == []


def test_an_export_id_that_is_not_one_is_not_used(env: Resources) -> None:
    message = json.loads(_requested({"projectId": PROJECT_ID}).body) | {"exportId": "../../etc"}

    handle(env.adapters, QueueMessage(json.dumps(message), 1))

    [record] = [r for r in env.items() if r.get("projectId") == PROJECT_ID and "status" in r]
    assert record["exportId"] != "../../etc"
    assert len(record["exportId"]) == 32


def test_a_busy_project_backs_off_then_fails_notified_at_the_last_attempt(env: Resources) -> None:
    handle(env.adapters, _requested({"projectId": PROJECT_ID}, "first"))
    waiting = json.loads(_requested({"projectId": PROJECT_ID}, "second").body)
    delays = []
    for attempt in (1, 2, 3):
        with pytest.raises(RetryLater) as retry:
            handle(env.adapters, QueueMessage(json.dumps(waiting), receive_count=attempt))
        delays.append(retry.value.delay)
    assert delays == [10, 20, 0]  # back-off, then straight to the dead-letter queue
    assert len(env.aistudios.exports) == 1
    failed = [r for r in env.items() if r.get("status") == "FAILED"]
    assert len(failed) == 1
    assert failed[0]["error"]["code"] == "ProjectBusy"
    (note,) = env.notifications()
    jsonschema.validate(note["body"], NOTIFICATION)
    assert (note["body"]["status"], note["body"]["trigger"]) == ("FAILED", "eventbridge")
    statuses = [e["detail"]["status"] for e in env.bus_events()]
    assert statuses == ["REQUESTED", "FAILED"]
    # a redrive of the dead-lettered message finds its export already ended: nothing twice
    handle(env.adapters, QueueMessage(json.dumps(waiting), receive_count=1))
    assert env.notifications() == []


def test_the_request_starts_once_the_project_is_free(env: Resources) -> None:
    handle(env.adapters, _requested({"projectId": PROJECT_ID}, "first"))
    with pytest.raises(RetryLater):
        handle(env.adapters, _requested({"projectId": PROJECT_ID}, "second"))
    (first,) = [r for r in env.items() if r.get("status") == "REQUESTED"]
    env.adapters.store.release_lease(PROJECT_ID, first["exportId"])
    handle(env.adapters, _requested({"projectId": PROJECT_ID}, "second"))
    assert len(env.aistudios.exports) == 2


def test_a_refused_request_fails_at_once_and_a_transient_one_retries(env: Resources) -> None:
    env.aistudios.export_error = PermanentUpstreamError("no such project", code="ProjectNotFound", status=404)
    handle(env.adapters, _requested({"projectId": PROJECT_ID}, "refused"))
    assert [n["body"]["error"]["code"] for n in env.notifications()] == ["ProjectNotFound"]

    env.aistudios.export_error = TransientUpstreamError("AI Studios is down", code="UpstreamUnavailable")
    with pytest.raises(RetryLater) as retry:
        handle(env.adapters, _requested({"projectId": _project(7)}, "transient"))
    assert retry.value.delay == 10
    assert env.notifications() == []


def test_a_request_refused_once_starts_at_its_next_attempt_in_an_execution_of_its_own(env: Resources) -> None:
    """The first start is withdrawn after a transient refusal, but its execution stays (and Step
    Functions refuses its name for 90 days): the next attempt must start, once."""
    message = json.loads(_requested({"projectId": PROJECT_ID}, "queued").body)
    env.aistudios.export_error = TransientUpstreamError("AI Studios is busy", code="HTTP503")
    with pytest.raises(RetryLater):
        handle(env.adapters, QueueMessage(json.dumps(message), receive_count=1))
    assert env.items() == []  # withdrawn

    handle(env.adapters, QueueMessage(json.dumps(message), receive_count=2))
    handle(env.adapters, QueueMessage(json.dumps(message), receive_count=3))  # a duplicate delivery

    [record] = [r for r in env.items() if "status" in r and "projectId" in r and "exportId" in r]
    assert record["status"] == "REQUESTED"
    assert len(env.aistudios.exports) == 2  # the refused POST, and the one that started it
    executions = env.sfn.list_executions(stateMachineArn=env.state_machine_arn)["executions"]
    assert sorted(e["name"] for e in executions) == [record["exportId"], f"{record['exportId']}-2"]
    assert record["executionArn"].endswith(f":{record['exportId']}-2")


def test_process_hides_a_waiting_message_for_its_back_off(env: Resources) -> None:
    handle(env.adapters, _requested({"projectId": PROJECT_ID}, "first"))
    env.sqs.send_message(
        QueueUrl=env.request_queue_url, MessageBody=_requested({"projectId": PROJECT_ID}, "2").body
    )
    (message,) = env.sqs.receive_message(QueueUrl=env.request_queue_url, VisibilityTimeout=0)["Messages"]
    with pytest.raises(RetryLater):
        process(env.adapters, QueueMessage(message["Body"], 1), message["ReceiptHandle"])
    assert env.sqs.receive_message(QueueUrl=env.request_queue_url).get("Messages", []) == []


def test_non_events_are_dropped_not_retried(env: Resources) -> None:
    for body in ("not json", "[1, 2]", json.dumps({"detail-type": "Something Else"})):
        handle(env.adapters, QueueMessage(body, 1))
    assert env.aistudios.exports == []
