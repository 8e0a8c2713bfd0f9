"""Issue acceptance on the local stack, over real HTTP: a request's name and metadata come back from
GET and the listing, in the notification and in each lifecycle event; bad metadata is a 400 naming
the field; a FAILED export retried is a 202 with a new export that runs to its end; a running or
SUCCEEDED one is a 409."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest
import requests

from local.simulator import Fault
from local.stack import LocalDeployment
from tests.helpers import REPO, new_project_id
from tests.integration.conftest import Api, Inbox

pytestmark = pytest.mark.integration
LIFECYCLE = json.loads((REPO / "docs" / "lifecycle-event.schema.json").read_text())
NOTIFICATION = json.loads((REPO / "docs" / "notification.schema.json").read_text())
NAME, METADATA = "Spring launch", {"campaign": "spring-2026", "order-id": "A-17"}


def _events_of(
    stack: LocalDeployment, export_id: str, until: str, timeout: float = 10
) -> list[dict[str, Any]]:
    sqs, url, seen = stack.client("sqs"), stack.endpoints["events_queue_url"], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and until not in [e["detail"].get("status") for e in seen]:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["detail"].get("exportId") == export_id:
                seen.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def _retry(api: Api, export_id: str) -> requests.Response:
    return requests.post(f"{api.url}/exports/{export_id}/retry", timeout=30)


def test_name_and_metadata_come_back_everywhere(stack: LocalDeployment, api: Api, inbox: Inbox) -> None:
    project_id = new_project_id()
    answer = api.post_export({"projectId": project_id, "name": NAME, "metadata": METADATA})
    assert answer.status_code == 202, answer.text
    export_id = answer.json()["exportId"]

    view = api.wait_final(export_id)
    assert (view["status"], view["name"], view["metadata"]) == ("SUCCEEDED", NAME, METADATA)
    listed = requests.get(f"{api.url}/exports", params={"projectId": project_id}, timeout=30).json()
    assert [(e["name"], e["metadata"]) for e in listed["exports"]] == [(NAME, METADATA)]
    [note] = inbox.for_export(export_id)
    jsonschema.validate(note["body"], NOTIFICATION)
    assert (note["body"]["name"], note["body"]["metadata"], note["attributes"]["name"]) == (
        NAME,
        METADATA,
        NAME,
    )
    events = _events_of(stack, export_id, "SUCCEEDED")
    assert [e["detail"]["status"] for e in events][-1] == "SUCCEEDED"
    assert len(events) >= 3  # REQUESTED, RENDERING ..., DELIVERING, SUCCEEDED
    for event in events:
        jsonschema.validate(event, LIFECYCLE)
        assert (event["detail"]["name"], event["detail"]["metadata"]) == (NAME, METADATA)


def test_bad_metadata_is_a_400_naming_the_field(api: Api) -> None:
    answer = api.post_export({"projectId": new_project_id(), "metadata": {"campaign": "caf\u00e9"}})
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "metadata.campaign"


def test_a_failed_export_is_retried_and_a_running_or_succeeded_one_is_not(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(Fault(kind="export_fail", project_id=project_id, at_progress=30, times=1))
    answer = api.post_export({"projectId": project_id, "name": NAME, "metadata": METADATA})
    failed_id = answer.json()["exportId"]
    assert api.wait_final(failed_id)["status"] == "FAILED"

    retried = _retry(api, failed_id)
    assert retried.status_code == 202, retried.text
    retry_id = retried.json()["exportId"]
    assert (retried.json()["retryOf"], retry_id != failed_id) == (failed_id, True)
    running = _retry(api, retry_id)
    assert (running.status_code, running.json()["error"]["code"]) == (409, "ExportNotEnded")

    view = api.wait_final(retry_id)
    assert (view["status"], view["retryOf"], view["name"], view["metadata"]) == (
        "SUCCEEDED",
        failed_id,
        NAME,
        METADATA,
    )
    assert api.get_export(failed_id).json()["retriedBy"] == retry_id
    assert inbox.for_export(retry_id)[0]["body"]["retryOf"] == failed_id
    succeeded = _retry(api, retry_id)
    assert (succeeded.status_code, succeeded.json()["error"]["code"]) == (409, "ExportSucceeded")
