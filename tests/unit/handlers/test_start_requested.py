"""The request queue consumer's handler fed SQS batches: the sample event, and a batch where one
request must wait (reported alone in batchItemFailures, so the others are deleted)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import load_event
from tests.unit.aws_resources import PROJECT_ID, Resources
from tests.unit.handlers.test_handlers import Context, _load_handler

pytestmark = pytest.mark.unit


def test_the_sample_batch_reads_the_file_and_starts_the_event(env: Resources) -> None:
    handler = _load_handler("start_requested")
    handler.adapters = env.adapters  # the recording AI Studios client
    env.adapters.s3.put_object(
        Bucket="videos", Key="requests/nightly.json", Body=json.dumps(load_event("request_file")).encode()
    )
    event = load_event("start_requested")
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body["source"] == "aws.s3":
            body["detail"]["bucket"]["name"] = "videos"
        record["body"] = json.dumps(body)
    assert handler.lambda_handler(event, Context()) == {"batchItemFailures": []}
    result = json.loads(
        env.adapters.s3.get_object(Bucket="videos", Key="results/nightly.json.result.json")["Body"].read()
    )
    assert [e["status"] for e in result["entries"]] == ["QUEUED", "QUEUED"]
    assert [e["projectId"] for e in env.aistudios.exports] == [PROJECT_ID]


def test_a_request_that_must_wait_is_the_only_failure_reported(env: Resources) -> None:
    handler = _load_handler("start_requested")
    handler.adapters = env.adapters
    event = load_event("start_requested")
    template = event["Records"][1]
    records = []
    for i, project in enumerate([PROJECT_ID, PROJECT_ID, "65fa6b07dca2e367461a2926"]):
        body = json.loads(template["body"]) | {"id": f"event-{i}", "detail": {"projectId": project}}
        records.append(template | {"messageId": f"m{i}", "body": json.dumps(body)})
    env.sqs.send_message(QueueUrl=env.request_queue_url, MessageBody="placeholder")
    receipt = env.sqs.receive_message(QueueUrl=env.request_queue_url)["Messages"][0]["ReceiptHandle"]
    for record in records:
        record["receiptHandle"] = receipt
    answer = handler.lambda_handler({"Records": records}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert sorted(e["projectId"] for e in env.aistudios.exports) == sorted(
        [PROJECT_ID, "65fa6b07dca2e367461a2926"]
    )


def test_a_batch_whose_every_request_waits_is_an_answer_not_an_error(env: Resources) -> None:
    handler = _load_handler("start_requested")
    handler.adapters = env.adapters
    template = load_event("start_requested")["Records"][1]
    env.sqs.send_message(QueueUrl=env.request_queue_url, MessageBody="placeholder")
    receipt = env.sqs.receive_message(QueueUrl=env.request_queue_url)["Messages"][0]["ReceiptHandle"]
    first = json.loads(template["body"]) | {"id": "holder", "detail": {"projectId": PROJECT_ID}}
    handler.lambda_handler({"Records": [template | {"messageId": "a", "body": json.dumps(first)}]}, Context())
    waiting = json.loads(template["body"]) | {"id": "waiter", "detail": {"projectId": PROJECT_ID}}
    batch = {
        "Records": [template | {"messageId": "b", "body": json.dumps(waiting), "receiptHandle": receipt}]
    }
    assert handler.lambda_handler(batch, Context()) == {"batchItemFailures": [{"itemIdentifier": "b"}]}
