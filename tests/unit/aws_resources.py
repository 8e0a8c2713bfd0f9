"""AWS resources on in-process moto, shaped from template.yaml, and the adapters that use them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from aistudios_export import Adapters, ExportRecord, ExportStatus, Progress, Settings, TransientUpstreamError
from aistudios_export.aistudios.answers import ProjectInfo
from aistudios_export.api.submission import _idempotent_runner
from local.stack.template import Resolver, load_template, resources_of_type

TEMPLATE = load_template()
EXPORT_ID = "01a21ec5ce135e5ff0ab93749a578ff3"
PROJECT_ID = "65fa6b07dca2e367461a2925"


class RecordingAIStudios:
    """Stands in for the HTTP client; unit tests check what our code stores and publishes.

    `export_error` is raised by the next export call; `readings` are what progress() returns (or
    raises), in order, the last one repeating."""

    def __init__(self) -> None:
        self.exports: list[dict[str, Any]] = []
        self.export_error: Exception | None = None
        self.readings: list[Progress | Exception] = [Progress(10.0, "rendering")]
        # what the project shows when a start looks before its request: by default, unreadable
        self.before: Progress | Exception = TransientUpstreamError("not asked", code="NotAsked")
        self.looks = 0

    def export(self, project_id: str, **kwargs: Any) -> str:
        kwargs.pop("budget_seconds", None)
        self.exports.append({"projectId": project_id, **kwargs})
        if self.export_error is not None:
            error, self.export_error = self.export_error, None
            raise error
        return project_id

    def project(self, project_id: str) -> ProjectInfo:
        return ProjectInfo(None)

    def progress(self, project_id: str, budget_seconds: float | None = None) -> Progress:
        if budget_seconds is not None:  # the start's look at the project before its request
            self.looks += 1
            if isinstance(self.before, Exception):
                raise self.before
            return self.before
        reading = self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]
        if isinstance(reading, Exception):
            raise reading
        return reading


class Resources:
    """The exports table, the topic with a queue subscribed, and adapters wired to them."""

    def __init__(self, **env: str) -> None:
        table = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")["ExportsTable"]["Properties"]
        # with the template's default parameters
        table_props = Resolver(TEMPLATE, {}, {}).resolve(
            {
                k: table[k]
                for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
            }
        )
        self.table = boto3.resource("dynamodb").create_table(
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
        self.sfn = boto3.client("stepfunctions")
        self.state_machine_arn = self.sfn.create_state_machine(
            name="export",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/export",
        )["stateMachineArn"]
        # the request queue, and the stack's bus with every event it carries captured on a queue
        self.request_queue_url = self.sqs.create_queue(QueueName="requests")["QueueUrl"]
        self.events_queue_url = self.sqs.create_queue(QueueName="events")["QueueUrl"]
        events = boto3.client("events")
        events.create_event_bus(Name="exports")
        events.put_rule(
            Name="all", EventBusName="exports", EventPattern=json.dumps({"source": [{"prefix": ""}]})
        )
        events_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.events_queue_url, AttributeNames=["QueueArn"]
        )
        events.put_targets(
            Rule="all",
            EventBusName="exports",
            Targets=[{"Id": "q", "Arn": events_arn["Attributes"]["QueueArn"]}],
        )
        self.env = {
            "EXPORTS_TABLE": "exports",
            "REQUEST_QUEUE_URL": self.request_queue_url,
            "EVENT_BUS_NAME": "exports",
            "NOTIFICATION_TOPIC_ARN": self.topic_arn,
            "VIDEO_BUCKET": "videos",
            "STATE_MACHINE_ARN": self.state_machine_arn,
            "POLL_MIN_WAIT_SECONDS": "5",
            **env,
        }
        self.adapters = Adapters(Settings.from_env(self.env), aistudios=self.aistudios, table=self.table)  # type: ignore[arg-type]

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

    def bus_events(self) -> list[dict[str, Any]]:
        """Every event put on the stack's bus since the last call."""
        out: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def executions(self) -> list[str]:
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [e["name"] for e in listed]

    def items(self) -> list[dict[str, Any]]:
        return list(self.table.scan()["Items"])

    def seed(self, status: ExportStatus = ExportStatus.RENDERING, **fields: Any) -> ExportRecord:
        record = ExportRecord(
            export_id=EXPORT_ID,
            project_id=PROJECT_ID,
            resolution="1080",
            status=status,
            deadline_at="2026-11-27T21:20:00Z",
            **fields,
        )
        self.adapters.store.create(record)
        return record


@contextmanager
def idempotency_resources(monkeypatch: Any = None) -> Iterator[Resources]:
    """Resources (in moto, which the caller has not started) with an idempotency table laid out as
    Powertools' persistence expects, and the idempotent runner's cache cleared on both sides; with
    `monkeypatch`, their settings also in the environment, as a handler reads them."""
    from moto import mock_aws

    _idempotent_runner.cache_clear()
    with mock_aws():
        boto3.resource("dynamodb").create_table(
            TableName="idempotency",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        resources = Resources(IDEMPOTENCY_TABLE="idempotency")
        if monkeypatch is not None:
            for key, value in resources.env.items():
                monkeypatch.setenv(key, value)
        yield resources
    _idempotent_runner.cache_clear()
