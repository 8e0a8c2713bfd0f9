"""The request queue consumer's handler fed SQS batches: the sample event, and a batch where one
request must wait (reported alone in batchItemFailures, so the others are deleted)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aistudios_export.aws.request_bucket import result_key
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


def _handler(env: Resources) -> Any:
    handler = _load_handler("start_requested")
    handler.adapters = env.adapters
    return handler


def _records(bodies: list[str]) -> dict[str, Any]:
    template = load_event("start_requested")["Records"][0]
    return {"Records": [template | {"messageId": f"m{i}", "body": b} for i, b in enumerate(bodies)]}


def _file_created(key: str, event_id: str) -> str:
    body = json.loads(load_event("start_requested")["Records"][0]["body"])
    body["id"] = event_id
    body["detail"]["bucket"]["name"] = "videos"
    body["detail"]["object"] |= {"key": key, "etag": event_id}
    return json.dumps(body)


def _received(env: Resources) -> dict[str, Any]:
    """What the queue holds now, as the event source would hand it over (real receipt handles)."""
    template = load_event("start_requested")["Records"][0]
    records = []
    while batch := env.sqs.receive_message(QueueUrl=env.request_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        records += [
            template | {"messageId": m["MessageId"], "body": m["Body"], "receiptHandle": m["ReceiptHandle"]}
            for m in batch
        ]
    return {"Records": records}


def _forget(env: Resources) -> None:
    """Every export and lease gone, so that no project is busy in the next example."""
    keys = [k["AttributeName"] for k in env.table.key_schema]
    with env.table.batch_writer() as batch:
        for item in env.items():
            batch.delete_item(Key={k: item[k] for k in keys})
    env.aistudios.exports.clear()


def test_an_empty_file_and_a_folder_object_are_answered_not_retried(env: Resources) -> None:
    handler = _handler(env)
    for key in ("requests/empty.json", "requests/folder/"):
        env.adapters.s3.put_object(Bucket="videos", Key=key, Body=b"")

    answer = handler.lambda_handler(
        _records([_file_created("requests/empty.json", "e1"), _file_created("requests/folder/", "e2")]),
        Context(),
    )

    assert answer == {"batchItemFailures": []}
    result = json.loads(
        env.adapters.s3.get_object(Bucket="videos", Key="results/empty.json.result.json")["Body"].read()
    )
    assert result["error"] == {"code": "InvalidRequestFile", "message": "the file is empty"}
    keys = {o["Key"] for o in env.adapters.s3.list_objects_v2(Bucket="videos")["Contents"]}
    assert keys == {"requests/empty.json", "requests/folder/", "results/empty.json.result.json"}


# hypothesis: what anyone allowed to put under requests/, or on the bus, may send
_IDS = itertools.count()
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
# a request-like entry; its projectId is made valid (and unique in its file) where it is None
_ENTRIES = st.fixed_dictionaries(
    {"projectId": st.none() | _JSON},
    optional={
        "resolution": st.sampled_from(["4k", "1080p", "720", 480, "8k"]) | _JSON,
        "workspaceId": st.text(max_size=140) | _JSON,
        "webhookUrl": st.sampled_from(["https://hooks.example.com/in", "http://10.0.0.1/x"]) | _JSON,
        "colour": _JSON,
    },
)


_VALID = st.fixed_dictionaries(
    {"projectId": st.none()},
    optional={
        "resolution": st.sampled_from(["4k", "2160p", "1080", "720p", 480]),
        "workspaceId": st.text(min_size=1, max_size=128),  # any Unicode a caller may name it with
        "webhookUrl": st.just("https://hooks.example.com/in?k=1"),
    },
)


def _requests(entries: list[Any]) -> list[Any]:
    return [
        e | {"projectId": f"{i:024x}"} if isinstance(e, dict) and e.get("projectId", 0) is None else e
        for i, e in enumerate(entries)
    ]


_FILES = st.one_of(
    st.binary(max_size=400),
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.lists(_VALID | _ENTRIES | _JSON, max_size=5).map(lambda e: json.dumps(_requests(e)).encode()),
    st.lists(_ENTRIES, min_size=1, max_size=3).map(
        lambda e: b"\xef\xbb\xbf" + json.dumps(_requests(e)).encode()
    ),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf{}", b'{"projectId": NaN}']),
    st.integers(1, 600).map(lambda digits: b"[" + b"1" * digits + b"]"),
    st.integers(-2, 2).map(lambda over: b"[" + b" " * (256 * 1024 - 2 + over) + b"]"),  # the size limit
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_FILES)
def test_fuzz_any_request_file_gets_a_result_and_no_message_is_retried(
    env: Resources, content: bytes
) -> None:
    handler, n = _handler(env), next(_IDS)
    key = f"requests/fuzz-{n}.json"
    env.adapters.s3.put_object(Bucket="videos", Key=key, Body=content)

    assert handler.lambda_handler(_records([_file_created(key, f"file-{n}")]), Context()) == {
        "batchItemFailures": []
    }
    result = json.loads(env.adapters.s3.get_object(Bucket="videos", Key=result_key(key))["Body"].read())
    assert ("error" in result) is (result["entries"] == [])
    event(
        "file refused" if "error" in result else f"{result['queued']} queued, {result['rejected']} rejected"
    )
    queued = _received(env)
    assert len(queued["Records"]) == result.get("queued", 0)
    if queued["Records"]:
        assert handler.lambda_handler(queued, Context()) == {"batchItemFailures": []}
    assert len(env.aistudios.exports) == len(queued["Records"])  # each queued entry started
    _forget(env)


_DETAILS = st.one_of(
    _JSON.map(json.dumps),
    (_VALID | _ENTRIES).map(lambda e: json.dumps(_requests([e])[0])),
    st.sampled_from(["NaN", "-Infinity", "1e400", "9" * 5000, "[" * 40 + "]" * 40, '"\\udc00"']).map(
        lambda bad: f'{{"projectId": "{PROJECT_ID}", "x": {bad}}}'
    ),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(detail=_DETAILS)
def test_fuzz_any_export_requested_detail_starts_or_is_rejected_and_is_never_retried(
    env: Resources, detail: str
) -> None:
    handler, n = _handler(env), next(_IDS)
    envelope = json.loads(load_event("start_requested")["Records"][1]["body"]) | {"id": f"event-{n}"}
    body = json.dumps(envelope | {"detail": "DETAIL"}).replace('"DETAIL"', detail)

    assert handler.lambda_handler(_records([body]), Context()) == {"batchItemFailures": []}
    rejected = [e for e in env.bus_events() if e["detail-type"] == "Export Request Rejected"]
    assert len(env.aistudios.exports) + len(rejected) == 1  # started, or told why not: never lost
    event("rejected" if rejected else "started")
    _forget(env)
