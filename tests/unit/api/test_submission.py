"""A request submitted through the API, and its Idempotency-Key (Powertools idempotency on moto)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aistudios_export import RequestValidationError
from aistudios_export.api.submission import _idempotent_runner, submit_request
from aistudios_export.errors import ConflictError, ProjectBusyError
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit
BODY = {"projectId": PROJECT_ID}


@pytest.fixture
def env() -> Iterator[Resources]:
    _idempotent_runner.cache_clear()
    with mock_aws():
        boto3.resource("dynamodb").create_table(
            TableName="idempotency",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Resources(IDEMPOTENCY_TABLE="idempotency")
    _idempotent_runner.cache_clear()


def test_a_repeat_with_the_same_key_returns_the_first_answer(env: Resources) -> None:
    first = submit_request(env.adapters, BODY, trigger="api", caller="arn:a", idempotency_key="k1")
    again = submit_request(env.adapters, BODY, trigger="api", caller="arn:a", idempotency_key="k1")

    assert again == first
    assert len(env.aistudios.exports) == 1


def test_a_key_belongs_to_its_caller(env: Resources) -> None:
    first = submit_request(env.adapters, BODY, trigger="api", caller="arn:a", idempotency_key="shared")

    # Another principal with the same key is a new request: here, for a project already busy.
    with pytest.raises(ProjectBusyError) as caught:
        submit_request(env.adapters, BODY, trigger="api", caller="arn:b", idempotency_key="shared")
    assert caught.value.active_export_id == first["exportId"]


def test_the_same_key_with_another_body_is_refused(env: Resources) -> None:
    submit_request(env.adapters, BODY, trigger="api", caller="arn:a", idempotency_key="k2")
    with pytest.raises(ConflictError) as caught:
        submit_request(
            env.adapters, BODY | {"resolution": "720"}, trigger="api", caller="arn:a", idempotency_key="k2"
        )
    assert (caught.value.code, caught.value.status) == ("IdempotencyKeyReused", 422)


def test_a_malformed_key_names_the_header(env: Resources) -> None:
    with pytest.raises(RequestValidationError) as caught:
        submit_request(env.adapters, BODY, trigger="api", idempotency_key="bad key with spaces")
    assert caught.value.errors[0]["field"] == "Idempotency-Key"
