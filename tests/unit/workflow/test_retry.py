"""Retrying an export that ended without its video (moto in-process): a new export of the same
request, linked both ways, refused while the export goes on, once it SUCCEEDED or while its project
is busy, idempotent with an Idempotency-Key, and answered through the API handler."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import pytest

from aistudios_export import ExportStatus, VideoLocation, parse_export_request
from aistudios_export.api.retry import submit_retry
from aistudios_export.errors import ConflictError, ExportNotFoundError, ProjectBusyError
from aistudios_export.workflow.endings import cancel_export
from aistudios_export.workflow.retry import retry_export
from aistudios_export.workflow.start import start_export
from tests.api_contract import check_answer
from tests.helpers import REPO, load_event
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources, idempotency_resources
from tests.unit.handlers.test_handlers import Context, _load_handler

pytestmark = pytest.mark.unit
NOTIFICATION = json.loads((REPO / "docs" / "notification.schema.json").read_text())
LIFECYCLE = json.loads((REPO / "docs" / "lifecycle-event.schema.json").read_text())
FAILED = {"status": ExportStatus.FAILED, "error": {"code": "AIStudiosExportFailed", "message": "m"}}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with idempotency_resources(monkeypatch) as resources:
        yield resources


def test_a_retry_sends_the_same_request_again_and_links_both_ways(env: Resources) -> None:
    body = {
        "projectId": PROJECT_ID,
        "workspaceId": "ws-1",
        "resolution": "720",
        "webhookUrl": "https://hooks.example.com/in",
        "name": "Spring launch",
        "metadata": {"campaign": "spring-2026"},
    }
    first = start_export(env.adapters, parse_export_request(body), trigger="s3")
    cancel_export(env.adapters, first.export_id)
    env.bus_events()
    env.notifications()

    retry = retry_export(env.adapters, first.export_id)

    assert retry.export_id != first.export_id
    assert env.aistudios.exports[1] == env.aistudios.exports[0]  # the same POST to AI Studios
    assert env.aistudios.exports[1]["webhook_url"] == "https://hooks.example.com/in"
    stored = env.adapters.store.get(retry.export_id)
    assert (stored.retry_of, stored.trigger, stored.status) == (
        first.export_id,
        "api",
        ExportStatus.REQUESTED,
    )
    assert (stored.workspace_id, stored.resolution, stored.name, stored.metadata) == (
        "ws-1",
        "720",
        "Spring launch",
        {"campaign": "spring-2026"},
    )
    assert env.adapters.store.get(first.export_id).retried_by == retry.export_id
    [event] = env.bus_events()
    jsonschema.validate(event, LIFECYCLE)
    assert event["detail"]["retryOf"] == first.export_id
    cancel_export(env.adapters, retry.export_id)
    [note] = env.notifications()
    jsonschema.validate(note["body"], NOTIFICATION)
    assert note["body"]["retryOf"] == first.export_id


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (ExportStatus.REQUESTED, "ExportNotEnded"),
        (ExportStatus.RENDERING, "ExportNotEnded"),
        (ExportStatus.DELIVERING, "ExportNotEnded"),
        (ExportStatus.SUCCEEDED, "ExportSucceeded"),
    ],
)
def test_an_export_going_on_or_succeeded_is_not_retried(
    env: Resources, status: ExportStatus, code: str
) -> None:
    video = (
        VideoLocation("videos", "exports/p/e.mp4", 10, "a" * 64) if status is ExportStatus.SUCCEEDED else None
    )
    env.seed(status=status, video=video)
    with pytest.raises(ConflictError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert (caught.value.code, caught.value.status) == (code, 409)
    assert env.aistudios.exports == []


@pytest.mark.parametrize("status", [ExportStatus.FAILED, ExportStatus.TIMED_OUT, ExportStatus.CANCELLED])
def test_each_ending_without_a_video_is_retried_once(env: Resources, status: ExportStatus) -> None:
    env.seed(status=status, error={"code": "E", "message": "m"})
    retry = retry_export(env.adapters, EXPORT_ID)
    assert retry.retry_of == EXPORT_ID
    cancel_export(env.adapters, retry.export_id)
    with pytest.raises(ConflictError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert caught.value.code == "ExportAlreadyRetried"
    assert retry.export_id in caught.value.message
    assert retry_export(env.adapters, retry.export_id).retry_of == retry.export_id  # the retry's retry


def test_a_busy_project_is_a_409_naming_the_active_export(env: Resources) -> None:
    env.seed(**FAILED)
    active = start_export(env.adapters, parse_export_request({"projectId": PROJECT_ID}))
    with pytest.raises(ProjectBusyError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert caught.value.active_export_id == active.export_id
    assert env.adapters.store.get(EXPORT_ID).retried_by is None
    with pytest.raises(ExportNotFoundError):
        retry_export(env.adapters, "f" * 32)


def test_an_idempotency_key_gives_the_first_answer_again(env: Resources) -> None:
    env.seed(**FAILED)
    first = submit_retry(env.adapters, EXPORT_ID, caller="arn:a", idempotency_key="r1")
    again = submit_retry(env.adapters, EXPORT_ID, caller="arn:a", idempotency_key="r1")
    assert again == first
    assert first["retryOf"] == EXPORT_ID
    assert len(env.aistudios.exports) == 1
    with pytest.raises(ConflictError) as caught:  # without the key: the export was retried already
        submit_retry(env.adapters, EXPORT_ID, caller="arn:a")
    assert caught.value.code == "ExportAlreadyRetried"


def test_the_api_answers_202_with_the_new_export_and_the_views_link_both(env: Resources) -> None:
    env.seed(**FAILED)
    start = _load_handler("start_export")
    start.adapters = env.adapters  # AI Studios recorded
    answer = start.lambda_handler(load_event("retry_export"), Context())
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 202, body
    check_answer("POST", "/exports/{exportId}/retry", 202, body)
    assert body["retryOf"] == EXPORT_ID
    assert answer["multiValueHeaders"]["Location"] == [body["links"]["self"]]
    assert body["links"]["self"].endswith(f"/exports/{body['exportId']}")

    again = start.lambda_handler(load_event("retry_export"), Context())
    assert (again["statusCode"], json.loads(again["body"])["error"]["code"]) == (409, "ExportAlreadyRetried")
    check_answer("POST", "/exports/{exportId}/retry", 409, json.loads(again["body"]))

    get = _load_handler("get_export")
    old = json.loads(get.lambda_handler(load_event("get_export"), Context())["body"])
    check_answer("GET", "/exports/{exportId}", 200, old)
    assert (old["retriedBy"], old["retryOf"]) == (body["exportId"], None)
    assert old["links"]["retriedBy"] == old["links"]["self"].replace(EXPORT_ID, body["exportId"])

    missing = load_event("retry_export")
    missing["pathParameters"]["exportId"] = "f" * 32
    missing["path"] = f"/exports/{'f' * 32}/retry"
    answer = start.lambda_handler(missing, Context())
    assert (answer["statusCode"], json.loads(answer["body"])["error"]["code"]) == (404, "ExportNotFound")


def test_a_queued_request_that_never_started_is_retried_with_its_webhook_url(env: Resources) -> None:
    from aistudios_export.intake.consumer import fail_request

    body = {"projectId": PROJECT_ID, "webhookUrl": "https://hooks.example.com/in", "name": "Spring launch"}
    fail_request(env.adapters, EXPORT_ID, parse_export_request(body), "s3", "ProjectBusy", "gave up")

    retry = retry_export(env.adapters, EXPORT_ID)

    assert env.aistudios.exports[-1]["webhook_url"] == "https://hooks.example.com/in"
    assert env.adapters.store.get(retry.export_id).name == "Spring launch"
