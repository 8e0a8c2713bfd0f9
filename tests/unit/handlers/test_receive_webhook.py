"""The webhook receiver's handler fed events/receive_webhook.json, against moto in-process (what
needs AI Studios is in tests/unit/webhooks/test_receiver.py and on a local deployment)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from aistudios_export import ExportRecord, ExportStatus, Progress
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
    _seed(env, webhook_token_hash=token_hash(TOKEN), webhook_events=frozenset({"100"}))

    answer = _post()  # the sample event: progress 100, a level taken before

    assert answer["statusCode"] == 409
    body = json.loads(answer["body"])
    assert body["error"]["code"] == "DuplicateWebhook"
    check_answer("POST", ROUTE, 409, body)


# -- any bytes, on the unauthenticated route -------------------------------------------------------

WRONG_TOKEN = "w" * 43


def _with_token(token: str) -> dict[str, Any]:
    path = f"/webhooks/{EXPORT_ID}/{token}"
    context = EVENT["requestContext"] | {"path": f"/v1{path}"}
    return {
        "path": path,
        "pathParameters": {"exportId": EXPORT_ID, "token": token},
        "requestContext": context,
    }


def _raw(env: Resources, body: bytes, *, token: str = TOKEN, as_text: bool = False) -> dict[str, Any]:
    """What API Gateway (base64, for a body it takes for binary) or the local API (base64 when the body
    is not UTF-8) hands the function, answered with the recording AI Studios client."""
    handler = _load_handler("receive_webhook")
    handler.adapters = env.adapters
    event = {**EVENT, **_with_token(token)}
    if as_text:
        event |= {"body": body.decode(), "isBase64Encoded": False}
    else:
        event |= {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    answer: dict[str, Any] = handler.lambda_handler(event, Context())
    return answer


def test_a_body_that_is_not_utf8_is_a_400_naming_the_body_not_a_500(env: Resources) -> None:
    _seed(env, webhook_token_hash=token_hash(TOKEN))

    answer = _raw(env, b"\xff\xfe{}")

    assert answer["statusCode"] == 400
    body = json.loads(answer["body"])
    assert (body["error"]["code"], body["error"]["field"]) == ("InvalidWebhook", "body")
    check_answer("POST", ROUTE, 400, body)


def test_with_a_wrong_token_any_body_is_the_same_404(env: Resources) -> None:
    _seed(env, webhook_token_hash=token_hash(TOKEN))

    for body in (b"\xff\xfe{}", b'{"credit": NaN}', b"x" * (10 * 1024 * 1024)):
        answer = _raw(env, body, token=WRONG_TOKEN)
        assert (answer["statusCode"], answer["body"]) == (404, "")


def test_a_non_finite_or_400_digit_credit_is_a_400_naming_it(env: Resources) -> None:
    _seed(env, webhook_token_hash=token_hash(TOKEN))

    for credit in ("NaN", "Infinity", "9" * 400):
        text = f'{{"progress": 50, "backendTaskId": "t", "credit": {credit}}}'
        answer = _raw(env, text.encode(), as_text=True)
        assert answer["statusCode"] == 400, credit
        body = json.loads(answer["body"])
        assert body["error"]["field"] == "credit"
        check_answer("POST", ROUTE, 400, body)


# hypothesis: what the route may be sent, from any client on the internet
_NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 400, "0." + "0" * 60 + "1"]),
    st.integers(0, 10**80).map(str),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_LEVELS = st.sampled_from(["25", "50", "75", "100", "25.0", "100.00", "1e2"])  # those AI Studios posts at
_PROGRESS = _LEVELS | _LEVELS | st.integers(0, 100).map(str) | st.floats(0, 100).map(repr) | _NUMBERS
_WEBHOOKS = st.builds(
    lambda progress, task, credit, extra: (
        f'{{"progress": {progress}, "backendTaskId": {json.dumps(task)}'
        + ("" if credit is None else f', "credit": {credit}')
        + ("" if extra is None else f', "extra": {json.dumps(extra)}')
        + "}"
    ).encode(),
    _PROGRESS,
    st.sampled_from(["t", "task-1", "", "a/b"]) | st.text(max_size=8),
    st.none() | st.floats(0, 10).map(repr) | _NUMBERS,
    st.none() | st.none() | _JSON,
)
_BODIES = st.one_of(
    st.binary(max_size=300),
    _JSON.map(lambda value: json.dumps(value).encode()),
    _WEBHOOKS,
    _WEBHOOKS,  # twice: most bodies should get as far as AI Studios' confirmation
    st.binary(max_size=40).map(lambda junk: b"\xef\xbb\xbf" + junk),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES, right_token=st.sampled_from([True, True, False]), as_text=st.booleans())
def test_fuzz_any_body_any_token_is_answered_below_500_as_documented(
    env: Resources, body: bytes, right_token: bool, as_text: bool
) -> None:
    if env.adapters.store.find(EXPORT_ID) is None:  # once: the examples share the test's moto
        env.aistudios.readings = [Progress(100.0, "complete", "https://cdn.example.com/v.mp4")]
        _seed(
            env, webhook_token_hash=token_hash(TOKEN), previous_video=""
        )  # no video before: a 100 is this one
    try:
        text = as_text and body.decode("utf-8") is not None
    except UnicodeDecodeError:
        text = False  # the local API sends what is not UTF-8 in base64

    answer = _raw(env, body, token=TOKEN if right_token else WRONG_TOKEN, as_text=text)

    status = answer["statusCode"]
    event(f"status {status}")
    assert status < 500, answer["body"]
    if status == 404:
        assert answer["body"] == ""
        return
    check_answer("POST", ROUTE, status, json.loads(answer["body"]))
