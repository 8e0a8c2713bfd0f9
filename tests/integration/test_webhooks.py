"""Webhooks on a local deployment: the simulator posts AI Studios' webhooks to the receiver route of
the local API, moto's executor runs the real definition, and the simulator's inbox plays the caller's
own endpoint (the one plain-http origin the local stack's functions may call)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from aistudios_export.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from local.simulator import Fault
from local.stack import LocalDeployment
from tests.helpers import new_project_id
from tests.integration.conftest import Api, deployment
from tests.integration.test_workflow import execution_of, start, states_entered

pytestmark = pytest.mark.integration

MAX_WAIT = 20
ARMED = "Wait for render or webhook"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    # Waits of up to 20 s, so that a wait a webhook cuts short is plain to see.
    yield from deployment(
        tmp_path_factory,
        render_seconds=6,
        export_deadline_seconds=60,
        poll_min_wait_seconds=1,
        poll_max_wait_seconds=MAX_WAIT,
    )


@pytest.fixture(scope="module")
def api(stack: LocalDeployment) -> Api:
    return Api(stack)


@pytest.fixture(scope="module")
def signing_secret(stack: LocalDeployment) -> str:
    client = stack.client("secretsmanager")
    [name] = [s["Name"] for s in client.list_secrets()["SecretList"] if "webhook-signing" in s["Name"]]
    return str(client.get_secret_value(SecretId=name)["SecretString"])


def inbox_url(stack: LocalDeployment, name: str, query: str = "") -> str:
    return f"{stack.endpoints['aistudios_url']}/_sim/inbox/{name}{query}"


def inbox(stack: LocalDeployment, name: str) -> list[dict[str, Any]]:
    return list(stack.simulator.inbox.read(name)) if stack.simulator else []


def webhooks_to(stack: LocalDeployment, export_id: str) -> list[dict[str, Any]]:
    assert stack.simulator is not None
    return [w for w in stack.simulator.webhooks_sent() if f"/webhooks/{export_id}/" in w["url"]]


def armed_rounds(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Each interruptible wait: when it began, how long it was planned for, how it ended and when."""
    rounds: list[dict[str, Any]] = []
    for event in execution["history"]:
        entered = event.get("stateEnteredEventDetails")
        if entered and entered["name"] == ARMED:
            planned = json.loads(entered["input"])["poll"]["nextWaitSeconds"]
            rounds.append({"entered": event["timestamp"], "planned": planned})
        elif (
            rounds
            and "end" not in rounds[-1]
            and event["type"] in ("TaskSucceeded", "TaskTimedOut", "TaskFailed")
        ):
            rounds[-1].update(end=event["type"], ended=event["timestamp"])
    return rounds


def seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def outage(stack: LocalDeployment, project_id: str) -> None:
    """AI Studios' progress API rate-limits this project for 3 s, asking for a minute's pause: the
    first poll gives up at once and plans the longest wait, and the render (6 s) ends well inside it."""
    assert stack.simulator is not None
    stack.simulator.inject(
        Fault(
            kind="http_status",
            route="progress",
            project_id=project_id,
            status=429,
            retry_after=60,
            for_seconds=3,
        )
    )


def test_a_confirmed_webhook_ends_the_wait_and_the_export_completes_sooner(
    stack: LocalDeployment, api: Api, signing_secret: str
) -> None:
    project_id = new_project_id()
    started = time.monotonic()
    export_id = start(api, project_id, webhookUrl=inbox_url(stack, export_box := secrets.token_hex(6)))
    outage(stack, project_id)  # once the start has looked at the project: its first poll meets it

    view = api.wait_final(export_id, timeout=40)
    took = time.monotonic() - started

    assert view["status"] == "SUCCEEDED", view
    execution = execution_of(stack, export_id)
    [cut, *_] = [r for r in armed_rounds(execution) if r["end"] == "TaskSucceeded"]
    assert cut["planned"] == MAX_WAIT
    saved = cut["planned"] - seconds(cut["entered"], cut["ended"])
    print(f"\nwebhook ended a {cut['planned']} s wait {saved:.1f} s early; the export took {took:.1f} s")
    assert saved > 8, "the webhook should end the 20 s wait about when the 6 s render is done"
    assert took < MAX_WAIT, "polling alone could not have finished before the 20 s wait ran out"
    entered = states_entered(execution)
    assert entered[0] == "Wait for render"
    assert "Check progress" in entered  # the poll still decided: the webhook only woke it
    # the caller's endpoint got the confirmed events, each signed with the stack's secret
    events = inbox(stack, export_box)
    assert [json.loads(e["body"])["progress"] for e in events][-1] == 100
    for event in events:
        body = event["body"].encode()
        assert verify(signing_secret, event["headers"][SIGNATURE_HEADER], body)
        payload = json.loads(body)
        assert payload["exportId"] == export_id
        assert payload["projectId"] == project_id
        assert "download_url" not in payload
        assert "downloadUrl" not in payload
    assert len({e["headers"][EVENT_ID_HEADER] for e in events}) == len(events)


def test_with_every_webhook_lost_the_export_completes_by_polling_alone(
    stack: LocalDeployment, api: Api
) -> None:
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(Fault(kind="webhook_drop", project_id=project_id, times=10))
    started = time.monotonic()
    export_id = start(api, project_id, webhookUrl=inbox_url(stack, box := secrets.token_hex(6)))
    outage(stack, project_id)  # once the start has looked at the project: its first poll meets it

    view = api.wait_final(export_id, timeout=60)
    took = time.monotonic() - started

    assert view["status"] == "SUCCEEDED", view
    assert webhooks_to(stack, export_id) == []  # every one of them was lost on the way
    execution = execution_of(stack, export_id)
    rounds = armed_rounds(execution)
    assert rounds, "the long wait was armed"
    assert {r["end"] for r in rounds} == {"TaskTimedOut"}  # each ran its course
    assert rounds[0]["planned"] == MAX_WAIT
    assert seconds(rounds[0]["entered"], rounds[0]["ended"]) >= MAX_WAIT - 1
    print(f"\nwith webhooks lost the export took {took:.1f} s")
    assert took >= MAX_WAIT
    assert inbox(stack, box) == []


def test_forged_replayed_late_and_unknown_token_webhooks_are_refused(
    stack: LocalDeployment, api: Api
) -> None:
    project_id = new_project_id()
    export_id = start(api, project_id, webhookUrl=inbox_url(stack, box := secrets.token_hex(6)))
    deadline = time.monotonic() + 10
    while not (sent := webhooks_to(stack, export_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sent, "the simulator posts its first milestone webhook to the receiver"
    receiver = sent[0]["url"]
    assert receiver.startswith(api.url + "/webhooks/")

    forged = requests.post(receiver, json={"progress": 100, "backendTaskId": "forged"}, timeout=10)
    assert forged.status_code == 409  # the progress API does not say 100 yet
    assert forged.json()["error"]["code"] == "WebhookNotConfirmed"

    other_token = receiver.rsplit("/", 1)[0] + "/" + secrets.token_urlsafe(32)
    unknown = requests.post(other_token, json={"progress": 25}, timeout=10)
    assert unknown.status_code == 404
    assert unknown.content == b""

    # hostile bodies, through the local API (which passes what is not UTF-8 in base64): a 400 naming
    # the field with the token, the same empty 404 without it, never a 5xx
    for body, field in ((b"\xff\xfe{}", "body"), (b'{"progress": 50, "credit": NaN}', "credit"),
                        (b'{"progress": 50, "credit": ' + b"9" * 400 + b"}", "credit")):  # fmt: skip
        bad = requests.post(receiver, data=body, timeout=10)
        assert bad.status_code == 400, bad.text
        assert (bad.json()["error"]["code"], bad.json()["error"]["field"]) == ("InvalidWebhook", field)
        assert requests.post(other_token, data=body, timeout=10).status_code == 404
    nobody = requests.post(f"{api.url}/webhooks/{'f' * 32}/{secrets.token_urlsafe(32)}", json={}, timeout=10)
    assert nobody.status_code == 404

    view = api.wait_final(export_id, timeout=40)
    assert view["status"] == "SUCCEEDED", view

    genuine = [w for w in webhooks_to(stack, export_id) if w["status"] == 202]
    assert {w["payload"]["progress"] for w in genuine} >= {25, 100}
    # the caller got each confirmed event once: never the forged one
    forwarded = [json.loads(e["body"]) for e in inbox(stack, box)]
    assert sorted(f["progress"] for f in forwarded) == sorted(w["payload"]["progress"] for w in genuine)
    for event in forwarded:  # only what the progress API confirmed: nothing from the bodies
        assert set(event) == {"eventId", "exportId", "projectId", "progress", "state", "confirmedAt"}

    # a replay of a genuine webhook, now that the export has ended: its token has expired
    replay = requests.post(genuine[0]["url"], json=genuine[0]["payload"], timeout=10)
    assert replay.status_code == 404
    assert len(inbox(stack, box)) == len(forwarded)


def test_a_replay_while_the_export_runs_is_refused_and_not_forwarded_twice(
    stack: LocalDeployment, api: Api
) -> None:
    project_id = new_project_id()
    export_id = start(api, project_id, webhookUrl=inbox_url(stack, box := secrets.token_hex(6)))
    deadline = time.monotonic() + 10
    while not (taken := [w for w in webhooks_to(stack, export_id) if w["status"] == 202]):
        assert time.monotonic() < deadline, webhooks_to(stack, export_id)
        time.sleep(0.1)

    replay = requests.post(taken[0]["url"], json=taken[0]["payload"], timeout=10)

    assert replay.status_code == 409
    assert api.wait_final(export_id, timeout=40)["status"] == "SUCCEEDED"
    progresses = [json.loads(e["body"])["progress"] for e in inbox(stack, box)]
    assert progresses.count(taken[0]["payload"]["progress"]) == 1


def test_a_failing_caller_endpoint_gets_bounded_attempts_and_never_affects_the_export(
    stack: LocalDeployment, api: Api
) -> None:
    project_id = new_project_id()
    export_id = start(
        api, project_id, webhookUrl=inbox_url(stack, box := secrets.token_hex(6), "?status=500")
    )

    view = api.wait_final(export_id, timeout=40)
    deadline = time.monotonic() + 15  # the receiver answers the 100 once its attempts are over
    while 100 not in {w["payload"]["progress"] for w in webhooks_to(stack, export_id)}:
        assert time.monotonic() < deadline, webhooks_to(stack, export_id)
        time.sleep(0.1)

    assert view["status"] == "SUCCEEDED", view
    attempts = inbox(stack, box)
    assert attempts, "the receiver tried the caller's endpoint"
    per_event: dict[str, int] = {}
    for attempt in attempts:
        per_event[attempt["headers"][EVENT_ID_HEADER]] = (
            per_event.get(attempt["headers"][EVENT_ID_HEADER], 0) + 1
        )
    assert set(per_event.values()) == {3}, per_event
