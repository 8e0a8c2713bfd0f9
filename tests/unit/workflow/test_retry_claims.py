"""Who retries an export (moto in-process): the retry is claimed on the export before it starts, so
a second retry meanwhile is refused; a start that is refused gives the claim back (the export can be
retried again, with the same Idempotency-Key too); a claim whose retry never started goes stale; a
stored request that no longer validates is a 409 naming its field."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aistudios_export import ExportRecord, ExportStatus, PermanentUpstreamError, TransientUpstreamError
from aistudios_export.api.retry import submit_retry
from aistudios_export.errors import ConflictError
from aistudios_export.models import new_export_id
from aistudios_export.workflow.endings import cancel_export
from aistudios_export.workflow.retry import STALE_CLAIM_SECONDS, retry_export
from tests.api_contract import check_answer
from tests.helpers import load_event
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources, idempotency_resources
from tests.unit.handlers.test_handlers import Context, _load_handler

pytestmark = pytest.mark.unit
FAILED = {"status": ExportStatus.FAILED, "error": {"code": "AIStudiosExportFailed", "message": "m"}}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with idempotency_resources(monkeypatch) as resources:
        yield resources


def during_the_export_post(env: Resources, monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> None:
    """Run `act` once, while the next start waits for AI Studios' answer to its export POST."""
    post = env.aistudios.export

    def export(project_id: str, **kwargs: Any) -> str:
        monkeypatch.setattr(env.aistudios, "export", post)
        act()
        return post(project_id, **kwargs)

    monkeypatch.setattr(env.aistudios, "export", export)


def retries_of(env: Resources, export_id: str) -> list[str]:
    return [item["exportId"] for item in env.items() if item.get("retryOf") == export_id]


def attempt(outcomes: list[Any], start: Callable[[], Any]) -> None:
    try:
        outcomes.append(start())
    except Exception as exc:  # noqa: BLE001 - what the second caller would have been answered
        outcomes.append(exc)


def test_a_second_retry_while_the_first_starts_is_refused_even_if_the_first_ends_at_once(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.seed(**FAILED)
    second: list[Any] = []

    def first_ends_then_second_retry() -> None:
        [first] = retries_of(env, EXPORT_ID)
        cancel_export(env.adapters, first)  # it ends at once: its project is free again
        attempt(second, lambda: retry_export(env.adapters, EXPORT_ID))

    during_the_export_post(env, monkeypatch, first_ends_then_second_retry)
    first = retry_export(env.adapters, EXPORT_ID)

    [refused] = second
    assert isinstance(refused, ConflictError), refused
    assert (refused.code, refused.status) == ("ExportAlreadyRetried", 409)
    assert first.export_id in refused.message
    assert retries_of(env, EXPORT_ID) == [first.export_id]  # one retry, and the export names it
    assert env.adapters.store.get(EXPORT_ID).retried_by == first.export_id
    assert len(env.aistudios.exports) == 1


def test_a_refused_start_gives_the_claim_back(env: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    env.seed(**FAILED)
    second: list[Any] = []
    during_the_export_post(
        env, monkeypatch, lambda: attempt(second, lambda: retry_export(env.adapters, EXPORT_ID))
    )
    env.aistudios.export_error = PermanentUpstreamError("bad project", code="InvalidProject", status=422)

    with pytest.raises(PermanentUpstreamError):
        retry_export(env.adapters, EXPORT_ID)

    [refused] = second  # while the first was starting, it held the claim
    assert isinstance(refused, ConflictError), refused
    assert refused.code == "ExportAlreadyRetried"
    assert env.adapters.store.get(EXPORT_ID).retried_by is None
    assert retries_of(env, EXPORT_ID) == []
    retry = retry_export(env.adapters, EXPORT_ID)  # the export can be retried again
    assert env.adapters.store.get(EXPORT_ID).retried_by == retry.export_id
    assert retries_of(env, EXPORT_ID) == [retry.export_id]


def test_an_idempotency_key_whose_retry_was_refused_can_be_used_again(env: Resources) -> None:
    env.seed(**FAILED)
    env.aistudios.export_error = PermanentUpstreamError("bad project", code="InvalidProject", status=422)
    with pytest.raises(PermanentUpstreamError):
        submit_retry(env.adapters, EXPORT_ID, caller="arn:a", idempotency_key="r1")

    first = submit_retry(env.adapters, EXPORT_ID, caller="arn:a", idempotency_key="r1")
    again = submit_retry(env.adapters, EXPORT_ID, caller="arn:a", idempotency_key="r1")

    assert again == first
    assert env.adapters.store.get(EXPORT_ID).retried_by == first["exportId"]
    assert retries_of(env, EXPORT_ID) == [first["exportId"]]


def fail_updates_naming(env: Resources, attribute: str) -> Callable[[], None]:
    """DynamoDB refuses (throttles) every UpdateItem touching `attribute`; returns the undo."""
    events = env.table.meta.client.meta.events

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if attribute in params.get("UpdateExpression", ""):
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")

    events.register("before-parameter-build.dynamodb.UpdateItem", refuse)
    return lambda: events.unregister("before-parameter-build.dynamodb.UpdateItem", refuse)


def test_a_claim_that_cannot_be_written_starts_nothing_and_is_a_503(env: Resources) -> None:
    env.seed(**FAILED)
    undo = fail_updates_naming(env, "retriedBy")
    with pytest.raises(TransientUpstreamError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert caught.value.retry_after  # the API answers 503 with Retry-After
    assert (env.aistudios.exports, retries_of(env, EXPORT_ID), env.executions()) == ([], [], [])
    undo()
    retry = retry_export(env.adapters, EXPORT_ID)
    assert env.adapters.store.get(EXPORT_ID).retried_by == retry.export_id


def test_a_claim_whose_retry_never_started_goes_stale(env: Resources) -> None:
    env.seed(**FAILED)
    env.aistudios.export_error = PermanentUpstreamError("bad project", code="InvalidProject", status=422)
    undo = fail_updates_naming(env, "REMOVE retriedBy")  # the claim cannot be given back
    with pytest.raises(PermanentUpstreamError):
        retry_export(env.adapters, EXPORT_ID)
    undo()
    lost = env.adapters.store.get(EXPORT_ID).retried_by
    assert lost is not None
    with pytest.raises(ConflictError) as caught:  # it may still be starting
        retry_export(env.adapters, EXPORT_ID)
    assert caught.value.code == "ExportAlreadyRetried"

    made_long_ago = f"{int((time.time() - STALE_CLAIM_SECONDS - 1) * 1000):012x}" + lost[12:]
    env.table.update_item(
        Key={"exportId": EXPORT_ID},
        UpdateExpression="SET retriedBy = :old",
        ExpressionAttributeValues={":old": made_long_ago},
    )
    retry = retry_export(env.adapters, EXPORT_ID)
    assert env.adapters.store.get(EXPORT_ID).retried_by == retry.export_id
    assert retries_of(env, EXPORT_ID) == [retry.export_id]


def test_a_stale_looking_claim_whose_retry_is_stored_stands(env: Resources) -> None:
    old_retry = f"{int((time.time() - STALE_CLAIM_SECONDS - 1) * 1000):012x}" + new_export_id()[12:]
    env.seed(**FAILED, retried_by=old_retry)
    env.adapters.store.create(
        ExportRecord(
            export_id=old_retry,
            project_id=PROJECT_ID,
            resolution="1080",
            status=ExportStatus.CANCELLED,
            retry_of=EXPORT_ID,
        )
    )
    with pytest.raises(ConflictError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert (caught.value.code, old_retry in caught.value.message) == ("ExportAlreadyRetried", True)


def test_a_stored_request_that_no_longer_validates_is_a_409_naming_the_field(env: Resources) -> None:
    env.seed(**FAILED, metadata={"export-id": "x"})  # since reserved for the stack's own object metadata
    with pytest.raises(ConflictError) as caught:
        retry_export(env.adapters, EXPORT_ID)
    assert (caught.value.code, caught.value.status, caught.value.field) == (
        "ExportNotRetryable",
        409,
        "metadata.export-id",
    )
    assert env.adapters.store.get(EXPORT_ID).retried_by is None
    assert env.aistudios.exports == []

    start = _load_handler("start_export")
    start.adapters = env.adapters
    answer = start.lambda_handler(load_event("retry_export"), Context())
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 409, body
    check_answer("POST", "/exports/{exportId}/retry", 409, body)
    assert (body["error"]["code"], body["error"]["field"]) == ("ExportNotRetryable", "metadata.export-id")
