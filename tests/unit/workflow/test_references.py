"""A caller's references (name and metadata) on every way in and every way out: stored, shown by the
API, carried by each lifecycle event and the notification, which subscribers can filter on; bad ones
rejected naming the field (against moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from moto import mock_aws

from aistudios_export import parse_export_request
from aistudios_export.api.views import export_view
from aistudios_export.aws.request_bucket import result_key
from aistudios_export.intake.consumer import QueueMessage, handle
from aistudios_export.workflow.endings import cancel_export
from aistudios_export.workflow.start import start_export
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit
LIFECYCLE = json.loads((REPO / "docs" / "lifecycle-event.schema.json").read_text())
NOTIFICATION = json.loads((REPO / "docs" / "notification.schema.json").read_text())
NAME = "Spring launch v2"
METADATA = {"campaign": "spring-2026", "order-id": "A 17/3"}


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        resources = Resources()
        resources.adapters.s3.create_bucket(Bucket="videos")
        yield resources


def _subscribed(env: Resources, name: str, policy: dict[str, Any], scope: str) -> str:
    """A queue subscribed to the topic with a filter policy."""
    url = env.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = env.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    env.sns.subscribe(
        TopicArn=env.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": scope},
    )
    return str(url)


def _received(env: Resources, url: str) -> list[dict[str, Any]]:
    messages = env.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def test_references_are_stored_shown_and_carried_by_every_event_and_the_notification(env: Resources) -> None:
    request = parse_export_request({"projectId": PROJECT_ID, "name": NAME, "metadata": METADATA})

    record = start_export(env.adapters, request)
    stored = env.adapters.store.get(record.export_id)
    assert (stored.name, stored.metadata) == (NAME, METADATA)
    view = export_view(env.adapters, stored, "https://api/exports/x")
    assert (view["name"], view["metadata"]) == (NAME, METADATA)

    cancel_export(env.adapters, record.export_id)
    events = env.bus_events()
    assert [e["detail"]["status"] for e in events] == ["REQUESTED", "CANCELLED"]
    for event in events:
        jsonschema.validate(event, LIFECYCLE)
        assert (event["detail"]["name"], event["detail"]["metadata"]) == (NAME, METADATA)
    [note] = env.notifications()
    jsonschema.validate(note["body"], NOTIFICATION)
    assert (note["body"]["name"], note["body"]["metadata"]) == (NAME, METADATA)
    assert note["attributes"]["name"] == NAME


def test_an_export_without_references_shows_none_and_publishes_none(env: Resources) -> None:
    record = start_export(env.adapters, parse_export_request({"projectId": PROJECT_ID}))
    view = export_view(env.adapters, env.adapters.store.get(record.export_id), "https://api/exports/x")
    assert (view["name"], view["metadata"]) == (None, {})

    cancel_export(env.adapters, record.export_id)
    [event, _] = env.bus_events()
    assert "name" not in event["detail"]
    assert "metadata" not in event["detail"]
    [note] = env.notifications()
    jsonschema.validate(note["body"], NOTIFICATION)
    assert "name" not in note["attributes"]
    assert "metadata" not in note["body"]


def test_subscribers_filter_on_metadata_in_the_body_and_on_the_name_attribute(env: Resources) -> None:
    spring = _subscribed(env, "spring", {"metadata": {"campaign": ["spring-2026"]}}, "MessageBody")
    named = _subscribed(env, "named", {"name": [NAME]}, "MessageAttributes")
    other = _subscribed(env, "other", {"metadata": {"campaign": ["autumn"]}}, "MessageBody")

    for fields in ({"name": NAME, "metadata": METADATA}, {}):
        request = parse_export_request({"projectId": PROJECT_ID, **fields})
        cancel_export(env.adapters, start_export(env.adapters, request).export_id)

    assert [(m["name"], m["metadata"]) for m in _received(env, spring)] == [(NAME, METADATA)]
    assert [m["name"] for m in _received(env, named)] == [NAME]
    assert _received(env, other) == []


def test_a_request_file_and_an_event_carry_references_and_bad_ones_are_rejected_naming_the_field(
    env: Resources,
) -> None:
    entries = [
        {"projectId": PROJECT_ID, "name": NAME, "metadata": METADATA},
        {"projectId": PROJECT_ID, "metadata": {"Campaign": "x"}},
    ]
    env.adapters.s3.put_object(Bucket="videos", Key="requests/batch.json", Body=json.dumps(entries).encode())
    event = load_event("request_file_created")
    event["detail"]["bucket"]["name"] = "videos"
    event["detail"]["object"]["key"] = "requests/batch.json"
    handle(env.adapters, QueueMessage(json.dumps(event), receive_count=1))

    body = env.adapters.s3.get_object(Bucket="videos", Key=result_key("requests/batch.json"))["Body"].read()
    results = json.loads(body)["entries"]
    assert [r["status"] for r in results] == ["QUEUED", "REJECTED"]
    assert results[1]["error"]["field"] == "metadata.Campaign"
    [queued] = [m["Body"] for m in env.sqs.receive_message(QueueUrl=env.request_queue_url)["Messages"]]
    handle(env.adapters, QueueMessage(queued, receive_count=1))
    stored = env.adapters.store.get(results[0]["exportId"])
    assert (stored.trigger, stored.name, stored.metadata) == ("s3", NAME, METADATA)

    bad = load_event("export_requested") | {"detail": {"projectId": PROJECT_ID, "metadata": {"a": "\u00e9"}}}
    handle(env.adapters, QueueMessage(json.dumps(bad), receive_count=1))
    rejected = [e for e in env.bus_events() if e["detail-type"] == "Export Request Rejected"]
    assert [e["detail"]["error"]["field"] for e in rejected] == ["metadata.a"]
    jsonschema.validate(rejected[0], LIFECYCLE)
