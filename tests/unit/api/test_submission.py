"""A request submitted through the API, and its Idempotency-Key (Powertools idempotency on moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aistudios_export import RequestValidationError
from aistudios_export.api.submission import submit_request
from aistudios_export.errors import ConflictError, ProjectBusyError
from tests.unit.aws_resources import PROJECT_ID, Resources, idempotency_resources

pytestmark = pytest.mark.unit
BODY = {"projectId": PROJECT_ID}


@pytest.fixture
def env() -> Iterator[Resources]:
    with idempotency_resources() as resources:
        yield resources


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


class _Context:
    """What the Lambda runtime tells the function: the time left before its own timeout."""

    def __init__(self, remaining_seconds: float) -> None:
        self.remaining = remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining * 1000)


def test_a_cold_start_answers_within_api_gateways_29_seconds(
    env: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function's 28 s timeout excludes its init phase (up to 10 s); API Gateway's 29 s count
    from the request's arrival, before it: a cold start's AI Studios call must end by arrival + 29 s
    less what follows it, not by the function's own timeout. Warm, the two clocks start together."""
    import time

    from aistudios_export.api import submission

    reserve = 2 * env.adapters.settings.aws_call_worst_seconds() + 1
    now = time.monotonic()

    cold = submission._answer_by(env.adapters, _Context(28), received_at=time.time() - 10)  # 10 s of init
    warm = submission._answer_by(env.adapters, _Context(28), received_at=time.time())
    sample = submission._answer_by(env.adapters, _Context(28), received_at=1428582896)  # events/*.json

    assert cold is not None
    assert warm is not None
    assert cold == pytest.approx(now - 10 + 29 - reserve, abs=0.5)  # 10 s of init leave the call 19 s, not 28
    assert warm == pytest.approx(time.monotonic() + 28 - reserve, abs=0.5)  # the function's timeout
    assert sample == pytest.approx(cold, abs=0.5)  # waited no longer than an init phase


def test_two_principals_of_one_account_with_one_key_get_two_exports(env: Resources) -> None:
    """The key belongs to the principal API Gateway authenticated, not to its account: two roles of
    one account that happen to pick the same key (a retry library's counter, say) are two callers."""
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

    from aistudios_export.api.views import caller_identity
    from tests.helpers import load_event

    def caller(role: str) -> str:
        event = load_event("start_export")
        event["requestContext"]["identity"] |= {
            "accountId": "123456789012",
            "caller": f"AROAEXAMPLE:{role}",
            "userArn": f"arn:aws:sts::123456789012:assumed-role/{role}/session",
        }
        return caller_identity(APIGatewayProxyEvent(event))

    first = submit_request(env.adapters, BODY, trigger="api", caller=caller("a"), idempotency_key="7")
    other = {"projectId": "0" * 24}
    second = submit_request(env.adapters, other, trigger="api", caller=caller("b"), idempotency_key="7")

    assert first["exportId"] != second["exportId"]
    assert [e["projectId"] for e in env.aistudios.exports] == [PROJECT_ID, "0" * 24]
