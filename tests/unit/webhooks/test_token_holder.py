"""What whoever holds an export's receiver URL can do: no more than AI Studios would. Levels AI
Studios posts at, each once, room kept for the 100, refusals before AI Studios is asked, nothing
confirmed that the progress API does not read, and only the API's word forwarded (moto in-process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aistudios_export import Progress
from aistudios_export.clock import iso
from aistudios_export.store.exports import MAX_WEBHOOK_EVENTS
from aistudios_export.workflow.poll import poll_export
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID
from tests.unit.webhooks.conftest import DONE, Forwards, Hooks, Modified

pytestmark = pytest.mark.unit

CALLER = "https://hooks.example.com/in"
OLD = "https://cdn.example.com/renders/old.mp4"


def _nothing_taken(hooks: Hooks, forwards: Forwards) -> None:
    record = hooks.record()
    assert record.webhook_events == frozenset()
    assert record.webhook_confirmed_at is None
    assert forwards.sent == []


# -- what the progress API must read -------------------------------------------------------------


@pytest.mark.parametrize("claimed", [75, 100])
def test_a_level_past_what_the_api_reads_is_refused_not_taken_not_forwarded(
    hooks: Hooks, forwards: Forwards, claimed: int
) -> None:
    hooks.seed(user_webhook_url=CALLER, wait_token="an-armed-wait")
    hooks.aistudios.readings = [Progress(30.0, "rendering")]

    answer = hooks.post({"progress": claimed, "backendTaskId": "t"})

    assert (answer.status, answer.body["error"]["code"]) == (409, "WebhookNotConfirmed")
    assert not answer.moved_on
    _nothing_taken(hooks, forwards)


def test_a_level_ai_studios_never_posts_is_refused_without_asking_it(
    hooks: Hooks, forwards: Forwards
) -> None:
    hooks.seed(user_webhook_url=CALLER)
    hooks.aistudios.readings = [Progress(99.0, "rendering")]

    for claimed in (80, 33, 0, 99.5, 24.99):
        answer = hooks.post({"progress": claimed, "backendTaskId": "t"})
        assert answer.status == 400, claimed
        assert answer.body["error"]["field"] == "progress"

    assert hooks.aistudios.progress_reads == 0
    _nothing_taken(hooks, forwards)


def test_a_100_the_api_reads_without_a_download_url_is_refused_and_ends_nothing(
    hooks: Hooks, forwards: Forwards
) -> None:
    hooks.seed(user_webhook_url=CALLER, wait_token="an-armed-wait")
    hooks.aistudios.readings = [Progress(100.0, "complete")]

    answer = hooks.post({"progress": 100, "backendTaskId": "t", "download_url": "https://evil.example/v"})

    assert (answer.status, answer.body["error"]["code"]) == (409, "WebhookNotConfirmed")
    assert not answer.moved_on
    _nothing_taken(hooks, forwards)


def test_a_forged_100_does_not_make_the_previous_renders_video_this_exports(
    hooks: Hooks, forwards: Forwards, modified: Modified
) -> None:
    """The project still reports its previous render (the file it offered before the request): a
    100 posted with the token must not be what makes the poll deliver that video."""
    hooks.seed(user_webhook_url=CALLER, wait_token="an-armed-wait", previous_video=OLD)
    hooks.aistudios.readings = [Progress(100.0, "complete", f"{OLD}?Signature=2")]

    answer = hooks.post({"progress": 100, "backendTaskId": "t"})

    assert answer.status == 409
    _nothing_taken(hooks, forwards)
    assert not poll_export(hooks.adapters, EXPORT_ID, PROJECT_ID, None).download_ready
    assert modified.asked  # the file's date was asked for, and could not tell


def _requested(hooks: Hooks, seconds_ago: float) -> None:
    hooks.adapters.store._table.update_item(
        Key={"exportId": EXPORT_ID},
        UpdateExpression="SET createdAt = :c",
        ExpressionAttributeValues={":c": iso(datetime.now(UTC) - timedelta(seconds=seconds_ago))},
    )


def test_without_a_look_before_the_request_a_100_is_confirmed_on_the_polls_evidence_alone(
    hooks: Hooks, forwards: Forwards, modified: Modified
) -> None:
    """The look at the project before the request failed: a 100 is this render's only when the
    file's date or the grace says so, exactly as the poll would judge it without a webhook."""
    hooks.seed(user_webhook_url=CALLER, previous_video=None)
    hooks.aistudios.readings = [DONE]
    _requested(hooks, seconds_ago=5)

    modified.at = None  # the CDN does not say
    assert hooks.post({"progress": 100}).status == 409
    modified.at = datetime.now(UTC) - timedelta(days=1)  # the previous render's file
    assert hooks.post({"progress": 100}).status == 409
    _nothing_taken(hooks, forwards)

    modified.at = datetime.now(UTC)  # written after the request: this render's
    assert hooks.post({"progress": 100}).status == 202
    assert hooks.record().webhook_confirmed_at is not None


def test_past_the_grace_a_100_is_confirmed_as_the_poll_would_take_it(hooks: Hooks) -> None:
    hooks.seed(previous_video=None)
    hooks.aistudios.readings = [DONE]
    _requested(hooks, seconds_ago=hooks.adapters.settings.stale_grace_seconds + 1)

    assert hooks.post({"progress": 100}).status == 202


def test_a_late_lower_level_needs_this_renders_100_too(hooks: Hooks) -> None:
    hooks.seed(previous_video=OLD)
    hooks.aistudios.readings = [Progress(100.0, "complete", f"{OLD}?Signature=3")]  # the previous render

    assert hooks.post({"progress": 25}).status == 409

    hooks.aistudios.readings = [Progress(100.0, "complete", "https://cdn.example.com/renders/new.mp4")]
    assert hooks.post({"progress": 25}).status == 202


# -- each level once, room kept for the 100, refused before AI Studios is asked -------------------


def test_another_backend_task_id_does_not_make_a_level_new(hooks: Hooks) -> None:
    hooks.seed()
    hooks.aistudios.readings = [Progress(60.0, "rendering")]

    answers = [hooks.post({"progress": 50, "backendTaskId": f"task{i}"}).status for i in range(5)]

    assert answers == [202, 409, 409, 409, 409]
    assert hooks.aistudios.progress_reads == 1
    assert hooks.record().webhook_events == {"50"}


def _full(room: int) -> frozenset[str]:
    """Events a record may hold from before levels were the key (one per task id and progress)."""
    return frozenset(f"task{i}:{i}" for i in range(room))


def test_a_full_record_is_refused_before_ai_studios_is_asked_but_the_100_keeps_its_place(
    hooks: Hooks,
) -> None:
    hooks.seed(webhook_events=_full(MAX_WEBHOOK_EVENTS - 1))
    hooks.aistudios.readings = [DONE]

    refused = hooks.post({"progress": 25})
    assert refused.status == 409
    assert hooks.aistudios.progress_reads == 0

    assert hooks.post({"progress": 100}).status == 202
    record = hooks.record()
    assert "100" in record.webhook_events
    assert len(record.webhook_events) == MAX_WEBHOOK_EVENTS
    assert record.webhook_confirmed_at is not None


def test_the_store_keeps_the_last_place_for_the_100_whoever_calls_it(hooks: Hooks) -> None:
    hooks.seed(webhook_events=_full(MAX_WEBHOOK_EVENTS - 1))
    store = hooks.adapters.store

    assert store.claim_webhook_event(EXPORT_ID, "25", completed=False) is None
    assert store.claim_webhook_event(EXPORT_ID, "100", completed=True) is not None
    assert store.claim_webhook_event(EXPORT_ID, "100x", completed=True) is None  # and then it is full


def test_a_record_with_no_room_at_all_asks_ai_studios_nothing(hooks: Hooks) -> None:
    hooks.seed(webhook_events=_full(MAX_WEBHOOK_EVENTS))
    hooks.aistudios.readings = [DONE]

    assert hooks.post({"progress": 100}).status == 409
    assert hooks.aistudios.progress_reads == 0


# -- what is forwarded ----------------------------------------------------------------------------


def test_the_forward_carries_only_what_the_progress_api_confirmed(hooks: Hooks, forwards: Forwards) -> None:
    hooks.seed(user_webhook_url=CALLER)
    hooks.aistudios.readings = [Progress(100.0, "completed", "https://cdn.example.com/v.mp4?Signature=x")]
    body: dict[str, Any] = {
        "progress": 100,
        "backendTaskId": "forged-task",
        "credit": 9999,
        "download_url": "https://evil.example/v.mp4",
    }

    assert hooks.post(body).status == 202

    [(url, event)] = forwards.sent
    assert url == CALLER
    assert set(event) == {"eventId", "exportId", "projectId", "progress", "state", "confirmedAt"}
    assert (event["exportId"], event["projectId"]) == (EXPORT_ID, PROJECT_ID)
    assert (event["progress"], event["state"]) == (100.0, "completed")
    for unconfirmed in ("forged-task", "9999", "evil.example"):
        assert unconfirmed not in str(event)
