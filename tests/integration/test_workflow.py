"""The real statemachine/export.asl.json, executed by moto's Step Functions engine against the
simulator, driven through the local API as a user would."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from local.simulator import Fault
from local.stack import LocalDeployment
from tests.api_contract import check_answer, check_error
from tests.helpers import REPO, new_project_id
from tests.integration.conftest import Api, Inbox

pytestmark = pytest.mark.integration

SCHEMA = json.loads((REPO / "docs" / "notification.schema.json").read_text())
SAMPLE = (REPO / "local" / "assets" / "sample.mp4").read_bytes()


def assert_valid_notification(note: dict[str, Any], status: str, project_id: str) -> dict[str, Any]:
    body = note["body"]
    jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert body["status"] == status
    assert note["attributes"] == {
        "status": status,
        "projectId": project_id,
        "resolution": body["resolution"],
        "dedupKey": f"{body['exportId']}:{status}",
    }
    return body


def execution_of(stack: LocalDeployment, export_id: str, timeout: float = 20) -> dict[str, Any]:
    """The execution once it has ended (the notification is published before its last states run)."""
    sfn = stack.client("stepfunctions")
    arn = stack.endpoints["state_machine_arn"].replace(":stateMachine:", ":execution:") + f":{export_id}"
    deadline = time.monotonic() + timeout
    execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    while execution["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
        execution = sfn.describe_execution(executionArn=arn)
    execution["history"] = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return execution


def states_entered(execution: dict[str, Any]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in execution["history"] if "stateEnteredEventDetails" in e
    ]


def start(api: Api, project_id: str, **extra: Any) -> str:
    response = api.post_export({"projectId": project_id, **extra})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "REQUESTED"
    assert body["links"]["self"].endswith(f"/exports/{body['exportId']}")
    return str(body["exportId"])


def test_export_is_delivered_to_s3_and_notified(stack: LocalDeployment, api: Api, inbox: Inbox) -> None:
    project_id = new_project_id()
    export_id = start(api, project_id, resolution="720")

    view = api.wait_final(export_id)

    assert view["status"] == "SUCCEEDED", view
    assert view["progress"] == 100
    video = view["video"]
    assert video["key"] == f"exports/{project_id}/{export_id}.mp4"
    obj = stack.client("s3").get_object(Bucket=video["bucket"], Key=video["key"])
    stored = obj["Body"].read()
    served = stack.simulator.render_video(project_id)
    assert stored == served.read()  # this render's video, byte for byte
    assert stored.startswith(SAMPLE)  # the sample, with the render's identity appended
    assert obj["ContentType"] == "video/mp4"
    assert obj["ContentDisposition"].startswith(
        f'attachment; filename="Simulated project {project_id[-6:]}.mp4"'
    )
    assert obj["ServerSideEncryption"] == "AES256"
    thumbnail = stack.client("s3").get_object(
        Bucket=video["bucket"], Key=f"exports/{project_id}/{export_id}.png"
    )
    assert thumbnail["ContentType"] == "image/png"
    assert thumbnail["Body"].read().startswith(b"\x89PNG")
    assert obj["Metadata"] == {"export-id": export_id, "project-id": project_id, "resolution": "720"}
    assert video["size"] == served.size
    assert video["sha256"] == hashlib.sha256(stored).hexdigest() == served.sha256()
    tags = stack.client("s3").get_object_tagging(Bucket=video["bucket"], Key=video["key"])["TagSet"]
    assert {"Key": "sha256", "Value": video["sha256"]} in tags
    # the presigned link in the status view serves the same bytes
    import requests

    assert requests.get(video["downloadUrl"], timeout=10).content == stored

    notes = inbox.for_export(export_id)
    assert len(notes) == 1
    body = assert_valid_notification(notes[0], "SUCCEEDED", project_id)
    assert body["video"]["uri"] == f"s3://{video['bucket']}/{video['key']}"
    assert body["video"]["sha256"] == video["sha256"]

    execution = execution_of(stack, export_id)
    assert execution["status"] == "SUCCEEDED"
    history = json.dumps(execution["history"], default=str)
    assert "Signature=" not in history, "signed download URLs must stay out of the execution history"
    assert "/cdn/" not in history
    entered = states_entered(execution)
    assert entered[0] == "Wait for render"
    assert "Deliver video" in entered
    assert "Record failure" not in entered
    assert stack.simulator.stats()["exports"][project_id] == 1


def test_ai_studios_render_failure_ends_failed_with_notification(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(Fault(kind="export_fail", project_id=project_id, at_progress=30))
    export_id = start(api, project_id)

    view = api.wait_final(export_id)

    assert view["status"] == "FAILED"
    assert view["error"]["code"] == "AIStudiosExportFailed"
    assert "failed" in view["error"]["message"]
    assert "video" not in view
    body = assert_valid_notification(inbox.for_export(export_id)[0], "FAILED", project_id)
    assert body["error"]["code"] == "AIStudiosExportFailed"
    execution = execution_of(stack, export_id)
    assert execution["status"] == "FAILED"
    assert "Render failed" in states_entered(execution)
    assert "Deliver video" not in states_entered(execution)


def test_export_past_its_deadline_times_out_with_notification(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(Fault(kind="export_stall", project_id=project_id, at_progress=42))
    export_id = start(api, project_id)

    view = api.wait_final(export_id, timeout=40)

    assert view["status"] == "TIMED_OUT"
    assert view["error"]["code"] == "ExportTimedOut"
    notes = inbox.for_export(export_id)
    assert len(notes) == 1
    assert_valid_notification(notes[0], "TIMED_OUT", project_id)
    execution = execution_of(stack, export_id)
    assert execution["status"] == "FAILED"
    assert "Deadline passed" in states_entered(execution)
    assert any(
        e.get("executionFailedEventDetails", {}).get("error") == "ExportTimedOut"
        for e in execution["history"]
    )


def test_transient_poll_errors_wait_for_ai_studios_instead_of_failing(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    # the webhook receiver asks the progress API too: no webhooks here, so the polls meet every 503
    stack.simulator.inject(Fault(kind="webhook_drop", project_id=project_id, times=10))
    export_id = start(api, project_id)
    # Once the start has looked at the project: more 503s than the client's own attempts (4), so
    # the poll answers "unavailable, wait the longest wait" and the next poll finds AI Studios back.
    stack.simulator.inject(
        Fault(kind="http_status", route="progress", project_id=project_id, status=503, times=6)
    )

    view = api.wait_final(export_id, timeout=60)

    assert view["status"] == "SUCCEEDED", view
    assert stack.simulator.stats()["faults_triggered"] >= 6
    history = execution_of(stack, export_id)["history"]
    polls = [
        json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]
        for e in history
        if e["type"] == "TaskSucceeded" and "nextWaitSeconds" in e["taskSucceededEventDetails"]["output"]
    ]
    assert any(p["state"] == "unavailable" for p in polls), "a poll should have met the outage"
    waited = [p["nextWaitSeconds"] for p in polls if p["state"] == "unavailable"]
    assert waited == [stack.options.poll_max_wait_seconds] * len(waited)
    assert not [e for e in history if e["type"] == "TaskFailed"]
    assert_valid_notification(inbox.for_export(export_id)[0], "SUCCEEDED", project_id)


def test_token_expiring_mid_export_is_refreshed(stack: LocalDeployment, api: Api, inbox: Inbox) -> None:
    project_id = new_project_id()
    issued_before = stack.simulator.stats()["tokens_issued"]
    stack.simulator.inject(Fault(kind="expire_tokens", route="progress", project_id=project_id, times=1))
    export_id = start(api, project_id)

    view = api.wait_final(export_id)

    assert view["status"] == "SUCCEEDED", view
    assert stack.simulator.stats()["tokens_issued"] > issued_before
    assert_valid_notification(inbox.for_export(export_id)[0], "SUCCEEDED", project_id)


def test_truncated_download_is_retried_and_verified(stack: LocalDeployment, api: Api, inbox: Inbox) -> None:
    project_id = new_project_id()
    stack.simulator.inject(
        Fault(kind="download_truncate", route="download", project_id=project_id, after_bytes=1000, times=1)
    )
    export_id = start(api, project_id)

    view = api.wait_final(export_id, timeout=60)

    assert view["status"] == "SUCCEEDED", view
    stored = (
        stack.client("s3").get_object(Bucket=view["video"]["bucket"], Key=view["video"]["key"])["Body"].read()
    )
    assert stored == stack.simulator.render_video(project_id).read()
    uploads = stack.client("s3").list_multipart_uploads(Bucket=view["video"]["bucket"]).get("Uploads", [])
    assert not [u for u in uploads if project_id in u["Key"]], "the failed attempt's upload must be aborted"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(kind="download_403", route="download", times=None), "DownloadForbidden"),
        (Fault(kind="download_redirect", route="download", times=None), "UnsafeUrl"),
    ],
)
def test_download_refusals_end_failed(
    stack: LocalDeployment, api: Api, inbox: Inbox, fault: Fault, code: str
) -> None:
    project_id = new_project_id()
    fault.project_id = project_id
    stack.simulator.inject(fault)
    export_id = start(api, project_id)

    view = api.wait_final(export_id, timeout=60)

    assert view["status"] == "FAILED"
    assert view["error"]["code"] == code
    assert_valid_notification(inbox.for_export(export_id)[0], "FAILED", project_id)
    listing = stack.client("s3").list_objects_v2(
        Bucket=stack.endpoints["bucket"], Prefix=f"exports/{project_id}/"
    )
    assert listing.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"projectId": "not-an-object-id"}, "projectId"),
        ({"projectId": "65fa6b07dca2e367461a2925", "resolution": "8k"}, "resolution"),
        ({"projectId": "65fa6b07dca2e367461a2925", "webhookUrl": "http://example.com/hook"}, "webhookUrl"),
        ({"projectId": "65fa6b07dca2e367461a2925", "colour": "blue"}, "colour"),
        ({}, "projectId"),
        ("{not json", "body"),
        ("[1, 2]", "body"),
        ("", "body"),
    ],
)
def test_bad_post_bodies_get_400_naming_the_field(
    stack: LocalDeployment, api: Api, body: Any, field: str
) -> None:
    before = sum(stack.simulator.stats()["exports"].values())

    response = api.post_export(body)

    assert response.status_code == 400
    payload = response.json()
    assert payload["error"]["code"] == "ValidationError"
    assert field in [e["field"] for e in payload["error"]["details"]]
    assert field in payload["error"]["message"]
    check_answer("POST", "/exports", 400, payload)
    assert "Traceback" not in response.text
    assert sum(stack.simulator.stats()["exports"].values()) == before, "nothing may reach AI Studios"


def records_for(stack: LocalDeployment, project_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.client("dynamodb").query(
        TableName=stack.endpoints["table"],
        IndexName="byProject",
        KeyConditionExpression="projectId = :p",
        ExpressionAttributeValues={":p": {"S": project_id}},
    )["Items"]
    return items


@pytest.mark.parametrize(
    ("fault", "status", "code", "message"),
    [
        (
            Fault(
                kind="http_status", route="export", status=404, code="ProjectNotFound", msg="no such project"
            ),
            404,
            "ProjectNotFound",
            "no such project",
        ),
        (
            Fault(kind="envelope_error", route="export", code="E4001", msg="project is not exportable"),
            422,
            "E4001",
            "project is not exportable",
        ),
    ],
)
def test_permanent_upstream_errors_are_4xx_with_the_upstream_code(
    stack: LocalDeployment, api: Api, fault: Fault, status: int, code: str, message: str
) -> None:
    project_id = new_project_id()
    fault.project_id = project_id
    stack.simulator.inject(fault)

    response = api.post_export({"projectId": project_id})

    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": message}}
    assert records_for(stack, project_id) == [], "nothing is stored or started for a refused export"


def test_an_export_post_with_an_unknown_outcome_is_tracked_not_orphaned(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(
        Fault(kind="http_status", route="export", project_id=project_id, status=502, times=1)
    )
    export_requests_before = stack.simulator.stats()["requests"].get("export", 0)

    response = api.post_export({"projectId": project_id})

    # A 502 may mean the render was started: the export is kept and its execution finds out.
    assert response.status_code == 202, response.text
    # the POST was not blindly repeated
    assert stack.simulator.stats()["requests"]["export"] == export_requests_before + 1
    [record] = records_for(stack, project_id)
    export_id = record["exportId"]["S"]
    # here nothing rendered: the first poll finds the project idle and asks once more
    view = api.wait_final(export_id, timeout=30)
    assert view["status"] == "SUCCEEDED", view
    assert stack.simulator.stats()["requests"]["export"] == export_requests_before + 2
    assert stack.simulator.stats()["exports"][project_id] == 1
    assert_valid_notification(inbox.for_export(export_id)[0], "SUCCEEDED", project_id)


def test_an_export_ai_studios_certainly_refused_is_a_503_and_leaves_nothing(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    stack.simulator.inject(
        Fault(kind="http_status", route="export", project_id=project_id, status=429, retry_after=0, times=10)
    )

    response = api.post_export({"projectId": project_id})

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert records_for(stack, project_id) == []
    stack.simulator.clear_faults()
    assert api.post_export({"projectId": project_id}).status_code == 202  # the project is free


def test_a_503_on_the_export_post_is_a_503_to_the_caller_whose_retry_delivers_one_render(
    stack: LocalDeployment, api: Api
) -> None:
    """A 503 says AI Studios did not take the request: the client tries again at once, and when
    every attempt meets one the export is withdrawn and the caller told to retry, never FAILED."""
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(
        Fault(kind="http_status", route="export", project_id=project_id, status=503, times=4)
    )

    refused = api.post_export({"projectId": project_id})
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert records_for(stack, project_id) == []

    stack.simulator.inject(
        Fault(kind="http_status", route="export", project_id=project_id, status=503, times=2)
    )
    export_id = start(api, project_id)  # the retry: two more 503s, taken within the call
    assert api.wait_final(export_id)["status"] == "SUCCEEDED"
    assert stack.simulator.stats()["exports"][project_id] == 1


def test_an_export_post_without_a_verdict_is_asked_again_when_ai_studios_has_none(
    stack: LocalDeployment, api: Api
) -> None:
    """A 500 may or may not have started a render: the export is kept (202); its first poll finds
    the project idle, so the execution sends the POST once more and the export is delivered."""
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(
        Fault(kind="http_status", route="export", project_id=project_id, status=500, times=1)
    )

    export_id = start(api, project_id)
    view = api.wait_final(export_id)
    assert view["status"] == "SUCCEEDED", view
    stats = stack.simulator.stats()
    assert (stats["requests"]["export"] >= 2, stats["exports"][project_id]) == (True, 1)
    [record] = records_for(stack, project_id)
    assert record["startAmbiguous"] == {"BOOL": True}
    assert "resubmittedAt" in record


def test_a_post_reset_after_it_was_sent_keeps_the_export_and_posts_once(
    stack: LocalDeployment, api: Api
) -> None:
    """A connection reset after the request left: AI Studios may have started a render, so the API
    answers 202 with the export kept after exactly one POST, and says why in the start's log."""
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(Fault(kind="reset", route="export", project_id=project_id, times=1))
    before = stack.simulator.stats()["requests"].get("export", 0)

    export_id = start(api, project_id)

    assert stack.simulator.stats()["requests"]["export"] == before + 1  # never sent twice
    [record] = records_for(stack, project_id)
    assert record["startAmbiguous"] == {"BOOL": True}
    assert stack.options.log_dir is not None
    started = "".join(p.read_text() for p in stack.options.log_dir.glob("*start-export*.log"))
    assert "it was sent: AI Studios may have acted on it" in started
    assert api.wait_final(export_id)["status"] == "SUCCEEDED"  # asked once more by its execution


def test_a_100_first_seen_after_a_failed_look_is_dated_by_the_cdn_not_the_grace(
    stack: LocalDeployment, api: Api
) -> None:
    """The progress API is down when the export is requested (the start cannot look at the project)
    and until the render is over, so no poll sees it under way: the video's Last-Modified, after
    the request, proves the 100 is this render's long before the 60 s grace (and the 10 s deadline)."""
    project_id = new_project_id()
    assert stack.simulator is not None
    stack.simulator.inject(
        # 7 s: past the 2.5 s render even when a loaded machine makes the start's failed look slow
        # (with 4 s, a start that took 2 s more let a poll see the render under way)
        Fault(kind="http_status", route="progress", project_id=project_id, status=503, for_seconds=7)
    )
    stack.simulator.inject(Fault(kind="webhook_drop", project_id=project_id, times=10))  # no other proof
    export_id = start(api, project_id)
    view = api.wait_final(export_id, timeout=30)
    assert view["status"] == "SUCCEEDED", view
    [record] = records_for(stack, project_id)
    assert "previousVideo" not in record  # the look failed
    assert record["renderSeen"] == {"BOOL": False}  # no poll saw it under way


def test_unknown_export_is_404(api: Api) -> None:
    response = api.get_export("0" * 32)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ExportNotFound"


def test_unknown_route_is_api_gateway_s_403(api: Api) -> None:
    import requests

    missing = requests.get(f"{api.url}/nope", timeout=5)
    wrong = requests.delete(f"{api.url}/exports", timeout=5)
    for answer in (missing, wrong):
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, "MISSING_AUTHENTICATION_TOKEN")
        check_error(answer.json())


def test_exports_are_listed_by_project(stack: LocalDeployment, api: Api) -> None:
    import requests

    project_id = new_project_id()
    first = start(api, project_id)
    api.wait_final(first)
    second = start(api, project_id)  # one export of a project at a time
    api.wait_final(second)

    listing = requests.get(f"{api.url}/exports", params={"projectId": project_id}, timeout=10)

    assert listing.status_code == 200
    assert [e["exportId"] for e in listing.json()["exports"]] == [second, first]
    check_answer("GET", "/exports", 200, listing.json())
    refused = requests.get(f"{api.url}/exports", params={"projectId": "nope"}, timeout=10)
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "projectId")


def test_functions_run_isolated_with_their_own_environment(stack: LocalDeployment) -> None:
    envs = {spec.spec.logical_id: spec.spec.process_env() for spec in stack.supervisor.pools.values()}
    assert "STATE_MACHINE_ARN" in envs["StartExportFunction"]
    assert "STATE_MACHINE_ARN" not in envs["PollExportFunction"]
    assert "VIDEO_BUCKET" in envs["DeliverExportFunction"]
    assert "AISTUDIOS_SECRET_ID" not in envs["RecordFailureFunction"]
    assert "AISTUDIOS_SECRET_ID" not in envs["GetExportFunction"]
    assert all(env["POWERTOOLS_SERVICE_NAME"] == "aistudios-export" for env in envs.values())


def test_log_files_never_contain_secrets(stack: LocalDeployment) -> None:
    assert stack.options.log_dir is not None
    text = "".join(p.read_text() for p in Path(stack.options.log_dir).glob("*.log"))
    assert text, "functions should have logged"
    assert stack.options.aistudios_user_key not in text
    assert "Signature=" not in text


def test_a_repeated_submission_with_an_idempotency_key_starts_one_export(
    stack: LocalDeployment, api: Api, inbox: Inbox
) -> None:
    project_id = new_project_id()
    key = {"Idempotency-Key": f"order-{project_id}"}

    first = api.post_export({"projectId": project_id}, key)
    again = api.post_export({"projectId": project_id}, key)
    other_body = api.post_export({"projectId": project_id, "resolution": "4k"}, key)

    assert first.status_code == again.status_code == 202
    assert again.json()["exportId"] == first.json()["exportId"]
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "IdempotencyKeyReused"
    assert stack.simulator.stats()["exports"][project_id] == 1, "AI Studios must be asked once"
    assert len(records_for(stack, project_id)) == 1
    assert api.wait_final(first.json()["exportId"])["status"] == "SUCCEEDED"
    assert len(inbox.for_export(first.json()["exportId"])) == 1


def test_a_malformed_idempotency_key_is_a_400(api: Api) -> None:
    response = api.post_export({"projectId": new_project_id()}, {"Idempotency-Key": "x" * 200})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Idempotency-Key"
