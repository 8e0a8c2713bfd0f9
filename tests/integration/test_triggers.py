"""S3 request files and Export Requested events on a local deployment: through EventBridge rules,
the request queue and its consumer, to videos in S3, notifications and lifecycle events."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from local.stack import LocalDeployment
from tests.helpers import REPO, new_project_id
from tests.integration.conftest import Inbox, deployment

pytestmark = pytest.mark.integration
LIFECYCLE = json.loads((REPO / "docs" / "lifecycle-event.schema.json").read_text())
NOTIFICATION = json.loads((REPO / "docs" / "notification.schema.json").read_text())
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(
        tmp_path_factory,
        render_seconds=2,
        export_deadline_seconds=300,
        poll_min_wait_seconds=2,
        poll_max_wait_seconds=5,
        request_retry_base_seconds=2,
        parameters={"RequestMaxAttempts": str(MAX_ATTEMPTS)},
    )


@pytest.fixture(scope="module")
def inbox(stack: LocalDeployment) -> Inbox:
    return Inbox(stack)


class Notes:
    """Every notification of the deployment, by export id (whatever test is waiting for it)."""

    def __init__(self, stack: LocalDeployment) -> None:
        self._sqs = stack.client("sqs")
        self._queue = stack.endpoints["queue_url"]
        self.seen: dict[str, list[dict[str, Any]]] = {}

    def wait_for(
        self, count: int, where: Any = lambda body: True, timeout: float = 120
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            matching = [n[0] for n in self.seen.values() if where(n[0])]
            if len(matching) >= count or time.monotonic() > deadline:
                return matching
            for message in self._sqs.receive_message(
                QueueUrl=self._queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                self.seen.setdefault(body["exportId"], []).append(body)
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def notes(stack: LocalDeployment) -> Notes:
    return Notes(stack)


def _bus_events(stack: LocalDeployment) -> list[dict[str, Any]]:
    sqs, out = stack.client("sqs"), []
    while batch := sqs.receive_message(
        QueueUrl=stack.endpoints["events_queue_url"], MaxNumberOfMessages=10
    ).get("Messages", []):
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=stack.endpoints["events_queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )
    return out


def _put_file(stack: LocalDeployment, name: str, entries: Any) -> str:
    key = stack.endpoints["requests_prefix"] + name
    stack.client("s3").put_object(
        Bucket=stack.endpoints["bucket"], Key=key, Body=json.dumps(entries).encode()
    )
    return key


def _result(stack: LocalDeployment, name: str, timeout: float = 30) -> dict[str, Any]:
    s3, deadline = stack.client("s3"), time.monotonic() + timeout
    while True:
        try:
            body = s3.get_object(Bucket=stack.endpoints["bucket"], Key=f"results/{name}.result.json")["Body"]
            return dict(json.loads(body.read()))
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, f"no result for {name}"
            time.sleep(0.3)


def _request_events(stack: LocalDeployment, details: list[dict[str, Any]]) -> None:
    events = stack.client("events")
    for start in range(0, len(details), 10):
        answer = events.put_events(
            Entries=[
                {
                    "Source": "com.example.tests",
                    "DetailType": "Export Requested",
                    "Detail": json.dumps(detail),
                    "EventBusName": stack.endpoints["event_bus"],
                }
                for detail in details[start : start + 10]
            ]
        )
        assert answer["FailedEntryCount"] == 0


def _hold_project(stack: LocalDeployment, project_id: str) -> None:
    """Another export holds the project, for as long as the test says."""
    stack.client("dynamodb").put_item(
        TableName=stack.endpoints["table"],
        Item={
            "exportId": {"S": f"lease#{project_id}"},
            "leaseHolder": {"S": "f" * 32},
            "leaseExpiresAt": {"N": str(int(time.time()) + 3600)},
        },
    )


def _log_of_consumer(stack: LocalDeployment) -> str:
    assert stack.options.log_dir is not None
    return "".join(p.read_text() for p in stack.options.log_dir.glob("*start-requested*.log"))


def test_a_request_file_of_20_with_3_invalid_delivers_17_videos(stack: LocalDeployment, notes: Notes) -> None:
    projects = [new_project_id() for _ in range(20)]
    entries: list[Any] = [{"projectId": p, "resolution": "720"} for p in projects]
    entries[2] = {"projectId": "65fa6b07"}
    entries[11] = {"projectId": projects[11], "resolution": "8k"}
    entries[17] = {"projectId": projects[17], "colour": "red"}
    _put_file(stack, "twenty.json", entries)

    result = _result(stack, "twenty.json")
    assert (result["queued"], result["rejected"]) == (17, 3)
    reasons = {e["index"]: e["error"] for e in result["entries"] if e["status"] == "REJECTED"}
    assert {i: r["field"] for i, r in reasons.items()} == {2: "projectId", 11: "resolution", 17: "colour"}
    ids = {e["exportId"] for e in result["entries"] if e["status"] == "QUEUED"}

    done = notes.wait_for(17, lambda body: body["exportId"] in ids)
    assert len(done) == 17
    assert {n["status"] for n in done} == {"SUCCEEDED"}
    for note in done:
        jsonschema.validate(note, NOTIFICATION)
        assert note["trigger"] == "s3"
    s3 = stack.client("s3")
    for note in done:
        head = s3.head_object(Bucket=note["video"]["bucket"], Key=note["video"]["key"])
        assert head["ContentLength"] == note["video"]["size"]
        assert head["Metadata"]["export-id"] == note["exportId"]


def test_an_export_requested_event_starts_exactly_one_export(stack: LocalDeployment, notes: Notes) -> None:
    project = new_project_id()
    _request_events(stack, [{"projectId": project, "resolution": "480"}])
    (note,) = notes.wait_for(1, lambda body: body["projectId"] == project)
    assert (note["status"], note["trigger"], note["resolution"]) == ("SUCCEEDED", "eventbridge", "480")
    # AI Studios was given this export's own webhook receiver on the API, as for an API request
    assert stack.simulator is not None
    assert [w for w in stack.simulator.webhooks_sent() if f"/webhooks/{note['exportId']}/" in w["url"]]
    stack.client("s3").head_object(Bucket=note["video"]["bucket"], Key=note["video"]["key"])
    table = stack.client("dynamodb")
    items = table.scan(
        TableName=stack.endpoints["table"],
        FilterExpression="projectId = :p",
        ExpressionAttributeValues={":p": {"S": project}},
    )["Items"]
    assert len(items) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_request_refused_once_by_ai_studios_starts_later_and_succeeds(
    stack: LocalDeployment, notes: Notes, status: int
) -> None:
    """AI Studios refuses the first start (429 or 503 on every attempt: not processed): it is withdrawn but its
    execution stays, and Step Functions refuses its name for 90 days. The queue's next attempt runs
    in an execution of its own and delivers; the withdrawn execution leaves the export alone."""
    from local.simulator.config import Fault

    project = new_project_id()
    assert stack.simulator is not None
    # 429 (not processed) on each of the client's attempts: the start is refused and withdrawn
    stack.simulator.inject(Fault("http_status", route="export", project_id=project, status=status, times=4))
    _request_events(stack, [{"projectId": project}])

    (note,) = notes.wait_for(1, lambda body: body["projectId"] == project)
    assert note["status"] == "SUCCEEDED", note
    assert note["trigger"] == "eventbridge"
    export_id = note["exportId"]
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + 60
    while True:  # the record is final a moment before its execution's last state
        runs = sfn.list_executions(stateMachineArn=stack.endpoints["state_machine_arn"])["executions"]
        mine = {e["name"]: e["status"] for e in runs if e["name"].startswith(export_id)}
        if "RUNNING" not in mine.values() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # the withdrawn attempt's execution ended quietly; the second attempt's delivered
    assert mine == {export_id: "SUCCEEDED", f"{export_id}-2": "SUCCEEDED"}


def test_a_request_for_a_busy_project_waits_in_the_queue_then_starts(
    stack: LocalDeployment, notes: Notes
) -> None:
    project = new_project_id()
    _hold_project(stack, project)
    _request_events(stack, [{"projectId": project}])
    deadline = time.monotonic() + 30
    while "request cannot start yet; retrying" not in _log_of_consumer(stack):
        assert time.monotonic() < deadline, "the request never waited"
        time.sleep(0.2)
    stack.client("dynamodb").delete_item(
        TableName=stack.endpoints["table"], Key={"exportId": {"S": f"lease#{project}"}}
    )
    (note,) = notes.wait_for(1, lambda body: body["projectId"] == project)
    assert note["status"] == "SUCCEEDED"


def test_a_request_that_never_starts_ends_failed_notified_and_dead_lettered(
    stack: LocalDeployment, notes: Notes
) -> None:
    project = new_project_id()
    _hold_project(stack, project)
    _request_events(stack, [{"projectId": project}])
    (note,) = notes.wait_for(1, lambda body: body["projectId"] == project, timeout=60)
    assert note["status"] == "FAILED"
    assert note["error"]["code"] == "ProjectBusy"
    assert f"not started after {MAX_ATTEMPTS} attempts" in note["error"]["message"]
    sqs, deadline = stack.client("sqs"), time.monotonic() + 20
    while True:
        dead = sqs.receive_message(
            QueueUrl=stack.endpoints["dead_letter_queue_url"], VisibilityTimeout=0
        ).get("Messages", [])
        if any(json.loads(m["Body"])["detail"]["projectId"] == project for m in dead):
            break
        assert time.monotonic() < deadline, "the message never reached the dead-letter queue"
        time.sleep(0.5)


def test_bad_request_files_and_events_are_answered_and_nothing_dead_letters(stack: LocalDeployment) -> None:
    """Through the real chain (S3 → EventBridge → queue → consumer), with moto's S3 answering the
    ranged read of an empty object InvalidRange as S3 does."""
    s3, bucket, prefix = stack.client("s3"), stack.endpoints["bucket"], stack.endpoints["requests_prefix"]
    bad = {
        "empty.json": (b"", "the file is empty"),
        "utf16.json": ('[{"projectId": "65fa6b07dca2e367461a2925"}]'.encode("utf-16"), "UTF-8"),
        "deep.json": (b"[" * 5000 + b"]" * 5000, "nest deeper"),
        "nan.json": (b'[{"projectId": NaN}]', "finite number"),
    }
    for name, (body, _) in bad.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=body)
    s3.put_object(Bucket=bucket, Key=prefix + "folder/", Body=b"")  # a console's "Create folder"
    project = new_project_id()
    s3.put_object(
        Bucket=bucket,
        Key=prefix + "bom.json",
        Body=b"\xef\xbb\xbf" + json.dumps({"projectId": project, "resolution": "8k"}).encode(),
    )  # read past its BOM, its entry rejected: this test leaves no export running into the next
    _bus_events(stack)  # only this test's events below
    _request_events(stack, [{"projectId": project, "x": 10**400}])

    for name, (_, reason) in bad.items():
        error = _result(stack, name)["error"]
        assert error["code"] == "InvalidRequestFile"
        assert reason in error["message"], (name, error)
    assert [e["error"]["field"] for e in _result(stack, "bom.json")["entries"]] == ["resolution"]
    deadline = time.monotonic() + 30
    while not (rejected := [e for e in _bus_events(stack) if e["detail-type"] == "Export Request Rejected"]):
        assert time.monotonic() < deadline, "the event was neither started nor rejected"
        time.sleep(0.5)
    assert rejected[0]["detail"]["error"]["field"] == "x"
    assert "results/folder/.result.json" not in {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="results/").get("Contents", [])
    }
    _queue_drains(stack)  # a message that failed would be hidden, waiting for its retry
    dead_letters = stack.client("sqs").receive_message(
        QueueUrl=stack.endpoints["dead_letter_queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    dead = dead_letters.get("Messages", [])
    assert not [m for m in dead if project in m["Body"] or any(name in m["Body"] for name in bad)]


def _queue_drains(stack: LocalDeployment, timeout: float = 30) -> None:
    sqs, deadline = stack.client("sqs"), time.monotonic() + timeout
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while True:
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.endpoints["request_queue_url"], AttributeNames=names
        )["Attributes"]
        if all(attributes[name] == "0" for name in names):
            return
        assert time.monotonic() < deadline, attributes
        time.sleep(0.5)


@pytest.mark.timeout(900)
def test_a_burst_of_200_through_s3_and_eventbridge_loses_none(stack: LocalDeployment, notes: Notes) -> None:
    _bus_events(stack)  # only this test's events below
    projects = [new_project_id() for _ in range(200)]
    # a few projects asked for twice: the second waits in the queue for the first
    projects[150:155] = projects[0:5]
    _put_file(stack, "burst-a.json", [{"projectId": p} for p in projects[0:50]])
    _put_file(stack, "burst-b.json", [{"projectId": p} for p in projects[50:100]])
    _request_events(stack, [{"projectId": p} for p in projects[100:200]])
    ids = {
        e["exportId"] for name in ("burst-a.json", "burst-b.json") for e in _result(stack, name)["entries"]
    }
    assert len(ids) == 100

    wanted = set(projects)
    done = notes.wait_for(200, lambda body: body["projectId"] in wanted, timeout=780)
    statuses = Counter(n["status"] for n in done)
    assert len({n["exportId"] for n in done}) == 200, statuses
    assert set(statuses) <= {"SUCCEEDED", "FAILED"}, statuses
    assert ids <= {n["exportId"] for n in done}

    events = _bus_events(stack)
    for event in events:
        jsonschema.validate(event, LIFECYCLE)
    final = Counter(e["detail"]["exportId"] for e in events if e["detail"].get("status") in FINAL)
    assert set(final) == {n["exportId"] for n in done}
    succeeded = [n["exportId"] for n in done if n["status"] == "SUCCEEDED"]
    changes = {(e["detail"]["exportId"], e["detail"]["status"]) for e in events}
    for export_id in succeeded:
        for status in ("REQUESTED", "RENDERING", "DELIVERING", "SUCCEEDED"):
            assert (export_id, status) in changes, (export_id, status)
