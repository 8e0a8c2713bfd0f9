"""The webhook receiver's handler fed events/receive_webhook.json, against moto in-process (what
needs AI Studios is in tests/unit/webhooks/test_receiver.py and on a local deployment)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aistudios_export import ExportRecord, ExportStatus
from aistudios_export.webhooks.tokens import token_hash
from tests.api_contract import check_answer, check_error, document
from tests.helpers import load_event
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, Resources
from tests.unit.handlers.test_handlers import Context, _load_handler

pytestmark = pytest.mark.unit

ROUTE = "/webhooks/{exportId}/{token}"
EVENT = load_event("receive_webhook")
TOKEN = EVENT["pathParameters"]["token"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(Name="signing", SecretString="k" * 64)
        resources = Resources(WEBHOOK_SIGNING_SECRET_ID=secret["ARN"])
        for key, value in resources.env.items():
            monkeypatch.setenv(key, value)
        yield resources


def _post(body: Any = None, **event: Any) -> dict[str, Any]:
    handler = _load_handler("receive_webhook")
    sent = {**EVENT, **event}
    if body is not None:
        sent["body"] = body if isinstance(body, str) else json.dumps(body)
    answer: dict[str, Any] = handler.lambda_handler(sent, Context())
    return answer


def _seed(env: Resources, **fields: Any) -> None:
    env.adapters.store.create(
        ExportRecord(EXPORT_ID, PROJECT_ID, "1080", status=ExportStatus.RENDERING, **fields)
    )


def test_an_unknown_export_is_a_404_with_no_body(env: Resources) -> None:
    answer = _post()

    assert answer["statusCode"] == 404
    assert answer["body"] == ""  # not even the error shape: nothing about the export
    assert document()["paths"][ROUTE]["post"]["responses"]["404"]["content"] == {}


def test_a_known_token_with_a_bad_body_is_told_so_in_the_error_shape(env: Resources) -> None:
    _seed(env, webhook_token_hash=token_hash(TOKEN))

    answer = _post("not json")

    assert answer["statusCode"] == 400
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "InvalidWebhook"
    check_error(body)
    check_answer("POST", ROUTE, 400, body)


def test_a_replayed_event_is_refused_before_ai_studios_is_asked(env: Resources) -> None:
    _seed(
        env, webhook_token_hash=token_hash(TOKEN), webhook_events=frozenset({"66a1b2c3d4e5f60718293a4b:100"})
    )

    answer = _post()  # the sample event: progress 100 of that backendTaskId

    assert answer["statusCode"] == 409
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "DuplicateWebhook"
    check_answer("POST", ROUTE, 409, body)
