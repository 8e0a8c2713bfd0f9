"""Workflow steps against moto in-process (no sockets), resources built from template.yaml."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from aistudios_export import ExportStatus, Settings, TransientUpstreamError, parse_export_request
from aistudios_export.service import (
    Dependencies,
    deliver_export,
    describe_error,
    next_wait_seconds,
    record_failure,
    start_export,
)
from aistudios_export.store import ExportRecord, VideoLocation
from local.stack.template import load_template, resources_of_type
from tests.conftest import REPO, load_event

pytestmark = pytest.mark.unit
SCHEMA = json.loads((REPO / "docs" / "notification.schema.json").read_text())
TEMPLATE = load_template()


class RecordingAIStudios:
    """Stands in for the HTTP client; unit tests check what our code stores and publishes."""

    def __init__(self) -> None:
        self.exports: list[dict[str, Any]] = []

    def export(self, project_id: str, **kwargs: Any) -> str:
        self.exports.append({"projectId": project_id, **kwargs})
        return project_id


class Env:
    def __init__(self) -> None:
        table_props = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")["ExportsTable"]["Properties"]
        self.dynamodb = boto3.resource("dynamodb")
        self.table = self.dynamodb.create_table(
            TableName="exports",
            AttributeDefinitions=table_props["AttributeDefinitions"],
            KeySchema=table_props["KeySchema"],
            GlobalSecondaryIndexes=table_props["GlobalSecondaryIndexes"],
            BillingMode=table_props["BillingMode"],
        )
        self.sns = boto3.client("sns")
        self.sqs = boto3.client("sqs")
        self.topic_arn = self.sns.create_topic(Name="notes")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="notes")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.aistudios = RecordingAIStudios()
        self.env = {
            "EXPORTS_TABLE": "exports",
            "NOTIFICATION_TOPIC_ARN": self.topic_arn,
            "VIDEO_BUCKET": "videos",
            "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:missing",
            "POLL_MIN_WAIT_SECONDS": "5",
        }
        self.deps = Dependencies(
            Settings.from_env(self.env), overrides={"aistudios": self.aistudios, "table": self.table}
        )

    def notifications(self) -> list[dict[str, Any]]:
        out = []
        for message in self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            envelope = json.loads(message["Body"])
            out.append(
                {
                    "body": json.loads(envelope["Message"]),
                    "attributes": {k: v["Value"] for k, v in envelope["MessageAttributes"].items()},
                }
            )
        return out

    def seed(self, status: ExportStatus = ExportStatus.RENDERING, **fields: Any) -> ExportRecord:
        record = ExportRecord(
            export_id="01a21ec5ce135e5ff0ab93749a578ff3",
            project_id="65fa6b07dca2e367461a2925",
            resolution="1080",
            status=status,
            deadline_at="2026-11-27T21:20:00Z",
            **fields,
        )
        self.deps.store.create(record)
        return record


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        yield Env()


def test_execution_that_cannot_start_leaves_a_failed_record_and_a_notification(env: Env) -> None:
    request = parse_export_request({"projectId": "65fa6b07dca2e367461a2925", "resolution": "480"})

    with pytest.raises(TransientUpstreamError) as caught:
        start_export(env.deps, request)

    assert caught.value.code == "WorkflowStartFailed"
    assert caught.value.retry_after == 5
    [item] = env.table.scan()["Items"]
    assert item["status"] == "FAILED"
    assert item["error"]["code"] == "WorkflowStartFailed"
    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["attributes"] == {
        "status": "FAILED",
        "projectId": "65fa6b07dca2e367461a2925",
        "resolution": "480",
    }
    assert env.aistudios.exports == [
        {
            "projectId": "65fa6b07dca2e367461a2925",
            "workspace_id": None,
            "resolution": "480",
            "webhook_url": None,
        }
    ]


def test_failure_is_recorded_and_notified_once_even_when_retried(env: Env) -> None:
    env.seed()
    event = load_event("record_failure")

    first = record_failure(env.deps, event)
    second = record_failure(env.deps, event)

    assert first == second == {"status": "FAILED", "code": "ProjectNotFound"}
    record = env.deps.store.get(event["exportId"])
    assert record.error == {"code": "ProjectNotFound", "message": "project does not exist"}
    notes = env.notifications()
    assert len(notes) == 1
    jsonschema.validate(notes[0]["body"], SCHEMA)


def test_timeout_event_ends_timed_out(env: Env) -> None:
    env.seed()
    assert record_failure(env.deps, load_event("record_failure_timeout"))["status"] == "TIMED_OUT"
    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["body"]["type"] == "export.timed_out"
    assert note["body"]["error"]["code"] == "ExportTimedOut"


def test_a_final_export_is_never_overwritten(env: Env) -> None:
    video = VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64)
    env.seed(status=ExportStatus.SUCCEEDED, video=video, notified=True)

    result = record_failure(env.deps, load_event("record_failure"))

    assert result["status"] == "SUCCEEDED"
    assert env.notifications() == []


def test_delivery_retry_after_success_does_not_download_again(env: Env) -> None:
    video = VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64)
    env.seed(status=ExportStatus.SUCCEEDED, video=video, notified=False)

    summary = deliver_export(env.deps, load_event("deliver_export"))

    assert summary == {
        "status": "SUCCEEDED",
        "bucket": "videos",
        "key": "exports/p/e.mp4",
        "size": 10,
        "sha256": "a" * 64,
    }
    [note] = env.notifications()  # the missing notification is sent, once
    jsonschema.validate(note["body"], SCHEMA)
    assert env.deps.store.get("01a21ec5ce135e5ff0ab93749a578ff3").notified


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
    assert describe_error(error) == (status, code, message)


@pytest.mark.parametrize(
    ("progress", "elapsed", "expected"),
    [(0, 10, 60), (10, 10, 45), (50, 60, 30), (90, 90, 15), (99.9, 300, 15), (100, 5, 15)],
)
def test_next_wait_follows_the_render_rate_within_bounds(
    progress: float, elapsed: float, expected: int
) -> None:
    assert next_wait_seconds(progress, elapsed, 15, 60) == expected


def _load_handler(name: str) -> ModuleType:
    path = REPO / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"


def test_handlers_answer_the_sample_events(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env.env.items():
        monkeypatch.setenv(key, value)

    start = _load_handler("start_export")
    invalid = start.lambda_handler(load_event("start_export_invalid"), Context())
    assert invalid["statusCode"] == 400
    body = json.loads(invalid["body"])
    assert {e["field"] for e in body["errors"]} == {"projectId", "resolution"}

    get = _load_handler("get_export")
    missing = get.lambda_handler(load_event("get_export"), Context())
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"] == "ExportNotFound"

    env.seed()
    found = get.lambda_handler(load_event("get_export"), Context())
    assert found["statusCode"] == 200
    view = json.loads(found["body"])
    assert view["status"] == "RENDERING"
    assert view["links"]["self"] == (
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/exports/01a21ec5ce135e5ff0ab93749a578ff3"
    )


def test_sample_events_exist_for_every_function() -> None:
    names = {p.stem for p in (REPO / "events").glob("*.json")}
    for function in resources_of_type(TEMPLATE, "AWS::Serverless::Function").values():
        code_dir = Path(function["Properties"]["CodeUri"]).name
        assert code_dir in names, f"events/{code_dir}.json is missing"


def test_an_execution_stopped_by_hand_ends_cancelled_with_a_notification(env: Env) -> None:
    env.seed()
    event = load_event("record_failure_execution_aborted")

    assert record_failure(env.deps, event) == {"status": "CANCELLED", "code": "ExecutionAborted"}
    assert record_failure(env.deps, event)["status"] == "CANCELLED"  # EventBridge may deliver twice

    [note] = env.notifications()
    jsonschema.validate(note["body"], SCHEMA)
    assert note["body"]["type"] == "export.cancelled"
    assert note["attributes"]["status"] == "CANCELLED"


def test_the_execution_safety_net_leaves_finished_exports_alone(env: Env) -> None:
    env.seed(status=ExportStatus.FAILED, error={"code": "E1", "message": "m"}, notified=True)
    event = load_event("record_failure_execution_aborted") | {}
    event["detail"] = event["detail"] | {"status": "FAILED", "error": "ExportFailed", "cause": "x"}

    assert record_failure(env.deps, event)["status"] == "FAILED"
    assert env.notifications() == []
    assert env.deps.store.get("01a21ec5ce135e5ff0ab93749a578ff3").error == {"code": "E1", "message": "m"}


def test_throttling_and_connection_errors_from_aws_become_transient() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from aistudios_export.service import transient_aws_errors

    def raising(exc: Exception) -> Any:
        @transient_aws_errors
        def step() -> None:
            raise exc

        return step

    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
    with pytest.raises(TransientUpstreamError, match="ProvisionedThroughputExceededException"):
        raising(throttled)()
    with pytest.raises(TransientUpstreamError):
        raising(EndpointConnectionError(endpoint_url="https://s3"))()
    denied = ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "PutObject"
    )
    with pytest.raises(ClientError):
        raising(denied)()


def test_api_answers_bad_bodies_and_ids_without_a_500(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    for key, value in env.env.items():
        monkeypatch.setenv(key, value)
    start = _load_handler("start_export")
    base = load_event("start_export")
    cases = {
        "nested": base | {"body": "[" * 5_000 + "]" * 5_000},
        "binary": base | {"body": base64.b64encode(b"\xff\xfe\x00").decode(), "isBase64Encoded": True},
        "huge": base | {"body": json.dumps({"projectId": "a" * 20_000})},
    }
    for name, event in cases.items():
        answer = start.lambda_handler(event, Context())
        assert answer["statusCode"] == 400, name
        assert json.loads(answer["body"])["errors"][0]["field"] == "body", name

    get = _load_handler("get_export")
    bad_id = load_event("get_export")
    bad_id["pathParameters"] = {"exportId": "x" * 5000}
    bad_id["path"] = "/exports/" + "x" * 5000
    answer = get.lambda_handler(bad_id, Context())
    assert answer["statusCode"] == 404


def test_credentials_problems_are_a_502_for_the_operator_not_a_4xx(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aistudios_export import PermanentUpstreamError

    for key, value in env.env.items():
        monkeypatch.setenv(key, value)
    start = _load_handler("start_export")

    class Rejecting:
        def export(self, *args: Any, **kwargs: Any) -> str:
            raise PermanentUpstreamError(
                "AI Studios rejected a fresh token: expired", code="InvalidToken", status=401
            )

    start.deps.overrides["aistudios"] = Rejecting()
    start.deps.__dict__.pop("aistudios", None)
    answer = start.lambda_handler(load_event("start_export"), Context())
    assert answer["statusCode"] == 502
    body = json.loads(answer["body"])
    assert body["error"] == "UpstreamAuthenticationFailed"
    assert "token" not in body["message"]
