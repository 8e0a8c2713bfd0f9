"""What a real deployment meets: two exports of one project, AI Studios outages and stale progress,
bursts of callers. On a local deployment of its own, with a deadline long enough to outlast faults."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.simulator import Fault
from local.stack import LocalDeployment
from tests.helpers import new_project_id
from tests.integration.conftest import Api, Inbox, deployment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    # the grace shortened on purpose: a stale window may then outlast it (the template's is 60 s)
    yield from deployment(tmp_path_factory, export_deadline_seconds=60, stale_grace_seconds=4)


def _concurrently(count: int, call: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except requests.RequestException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _stored(stack: LocalDeployment, view: dict[str, Any]) -> bytes:
    video = view["video"]
    body: bytes = stack.client("s3").get_object(Bucket=video["bucket"], Key=video["key"])["Body"].read()
    return body


def test_two_concurrent_requests_for_one_project_start_one_export(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()

    answers = _concurrently(2, lambda: api.post_export({"projectId": project_id}))

    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    accepted = next(a for a in answers if a.status_code == 202).json()
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["error"]["code"] == "ProjectBusy"
    assert refused["error"]["activeExportId"] == accepted["exportId"]
    assert refused["error"]["links"]["active"] == accepted["links"]["self"]
    assert stack.simulator.stats()["exports"][project_id] == 1  # one render at AI Studios

    assert api.wait_final(accepted["exportId"])["status"] == "SUCCEEDED"
    again = api.post_export({"projectId": project_id})
    assert again.status_code == 202, again.text  # the project is free once the export ended
    assert api.wait_final(again.json()["exportId"])["status"] == "SUCCEEDED"


def test_an_outage_longer_than_every_retry_does_not_fail_the_export(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    # Longer than the client's attempts (about 4 s) and the state machine's Task retries together.
    stack.simulator.inject(
        Fault("http_status", route="progress", project_id=project_id, status=503, for_seconds=20)
    )
    created = api.post_export({"projectId": project_id})
    assert created.status_code == 202, created.text

    view = api.wait_final(created.json()["exportId"], timeout=60)

    assert view["status"] == "SUCCEEDED", view
    assert stack.simulator.stats()["faults_triggered"] >= 5
    assert _stored(stack, view) == stack.simulator.render_video(project_id).read()
    [note] = inbox.for_export(view["exportId"])
    assert note["body"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("stale_seconds", [2, 12], ids=["within the grace", "past the grace"])
def test_a_stale_100_after_a_new_request_never_delivers_the_previous_render(
    stack: LocalDeployment, api: Api, inbox: Inbox, stale_seconds: float
) -> None:
    """AI Studios reports the previous render (100, its video) for a while after the request: for
    less than the grace, and for three times as long. Either way this render's video is delivered."""
    project_id = new_project_id()
    first = api.wait_final(api.post_export({"projectId": project_id}).json()["exportId"])
    assert first["status"] == "SUCCEEDED"
    previous = stack.simulator.render_video(project_id)

    stack.simulator.inject(Fault("stale_progress", project_id=project_id, stale_seconds=stale_seconds))
    second = api.post_export({"projectId": project_id, "resolution": "720"})
    assert second.status_code == 202, second.text
    view = api.wait_final(second.json()["exportId"])

    assert view["status"] == "SUCCEEDED", view
    current = stack.simulator.render_video(project_id)
    assert current.backend_task_id != previous.backend_task_id
    delivered = _stored(stack, view)
    assert delivered == current.read()  # this export's render
    assert delivered != previous.read()
    assert view["video"]["sha256"] == current.sha256()


def test_a_burst_of_callers_all_get_an_answer(stack: LocalDeployment, api: Api) -> None:
    project_id = new_project_id()
    # the accepted export must outlive the burst: no webhook may end its waits early
    stack.simulator.inject(Fault("webhook_drop", project_id=project_id, times=10))

    answers = _concurrently(100, lambda: api.post_export({"projectId": project_id}))

    failures = [a for a in answers if not isinstance(a, requests.Response)]
    assert failures == [], f"{len(failures)} of 100 callers got no answer: {failures[:3]}"
    codes = sorted(a.status_code for a in answers)
    accepted = [a.json()["exportId"] for a in answers if a.status_code == 202]
    # 503 (+ Retry-After) is the designed answer when AWS or AI Studios cannot keep up: nothing started
    assert set(codes) <= {202, 409, 503}, codes
    assert all(a.headers.get("Retry-After") for a in answers if a.status_code == 503)
    assert accepted, codes
    # One export of the project at a time: usually one 202 and 99 409s; on a machine so loaded that
    # the burst outlives an export, a later 202 may only come once the export before it has ended.
    views = sorted((api.wait_final(export_id) for export_id in accepted), key=lambda v: v["createdAt"])
    for before, after in itertools.pairwise(views):
        assert before["finishedAt"] <= after["createdAt"], (before, after)
    assert stack.simulator.stats()["exports"][project_id] == len(accepted)
    assert views[0]["status"] == "SUCCEEDED"


def test_the_video_link_can_be_bookmarked(stack: LocalDeployment, api: Api) -> None:
    project_id = new_project_id()
    view = api.wait_final(api.post_export({"projectId": project_id}).json()["exportId"])
    assert view["status"] == "SUCCEEDED"
    assert view["video"]["downloadUrlExpiresInSeconds"] <= 900
    link = view["links"]["video"]
    assert link == view["links"]["self"] + "/video"

    for _ in range(2):  # each visit signs a fresh link
        redirect = requests.get(link, allow_redirects=False, timeout=10)
        assert redirect.status_code == 302
        assert redirect.headers["Cache-Control"] == "no-store"
        assert requests.get(redirect.headers["Location"], timeout=10).content == _stored(stack, view)


def test_the_video_of_an_unfinished_or_unknown_export_is_refused(stack: LocalDeployment, api: Api) -> None:
    assert requests.get(f"{api.url}/exports/{'0' * 32}/video", timeout=10).status_code == 404
    stack.simulator.inject(Fault("export_stall", project_id=(project_id := new_project_id()), at_progress=30))
    export_id = api.post_export({"projectId": project_id}).json()["exportId"]
    refused = requests.get(f"{api.url}/exports/{export_id}/video", timeout=10)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "VideoNotReady"


def test_an_execution_stopped_by_hand_ends_cancelled_with_a_notification(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(Fault("export_stall", project_id=project_id, at_progress=30))
    export_id = api.post_export({"projectId": project_id}).json()["exportId"]
    arn = stack.endpoints["state_machine_arn"].replace(":stateMachine:", ":execution:") + f":{export_id}"
    time.sleep(1.5)  # rendering

    stack.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")

    view = api.wait_final(export_id, timeout=20)
    assert view["status"] == "CANCELLED", view
    assert view["error"]["code"] == "ExecutionAborted"
    [note] = inbox.for_export(export_id)
    assert note["body"]["status"] == "CANCELLED"
    again = api.post_export({"projectId": project_id})
    assert again.status_code == 202, again.text  # the lease was released with the final status


def test_delete_cancels_an_export_in_progress(stack: LocalDeployment, api: Api, inbox: Inbox) -> None:
    project_id = new_project_id()
    stack.simulator.inject(Fault("export_stall", project_id=project_id, at_progress=30))
    export_id = api.post_export({"projectId": project_id}).json()["exportId"]
    time.sleep(1)

    cancelled = requests.delete(f"{api.url}/exports/{export_id}", timeout=30)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    [note] = inbox.for_export(export_id)
    assert note["body"]["status"] == "CANCELLED"
    again = requests.delete(f"{api.url}/exports/{export_id}", timeout=30)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ExportAlreadyEnded"
    assert requests.delete(f"{api.url}/exports/{'0' * 32}", timeout=30).status_code == 404
    assert api.post_export({"projectId": project_id}).status_code == 202  # the project is free
