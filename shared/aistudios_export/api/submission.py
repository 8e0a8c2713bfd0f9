"""Starting an export from a request, optionally made idempotent by the caller's Idempotency-Key."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..adapters import Adapters
from ..clock import answer_deadline
from ..errors import ConflictError, invalid
from ..models import IDEMPOTENCY_KEY
from ..settings import Settings
from ..workflow.start import start_export

if TYPE_CHECKING:
    from ..request import ExportRequest

IDEMPOTENCY_HOURS = 24
API_GATEWAY_LIMIT_SECONDS = 29.0
INIT_LIMIT_SECONDS = 10.0  # Lambda's init phase, the longest a request waits for its function


def submit_request(
    adapters: Adapters,
    body: Any,
    *,
    trigger: str,
    caller: str = "anonymous",
    idempotency_key: str | None = None,
    lambda_context: Any = None,
    webhook_receiver: str | None = None,
    received_at: float | None = None,
) -> dict[str, str]:
    """Validate and start an export; returns {"exportId", "status"}.

    With an idempotency key, a repeated submission (same caller, same key, same body) within 24 h
    returns the first answer instead of starting a second render; the same key with another body is
    refused. A submission that failed is not remembered, so it can be retried with the same key.
    `webhook_receiver`: the API's own `/webhooks` URL, for AI Studios' webhooks (see webhooks/receiver.py).
    `received_at`: when API Gateway received the request (epoch seconds), which its 29 s count from.
    """
    from ..request import parse_export_request  # pydantic, on the first request (see intake/consumer.py)

    request = parse_export_request(body)
    answer_by = _answer_by(adapters, lambda_context, received_at)
    return once(
        adapters,
        functools.partial(_start, adapters, request, trigger, answer_by, webhook_receiver),
        {"caller": caller, "key": idempotency_key, "request": request.model_dump()},
        lambda_context,
    )


def once(
    adapters: Adapters,
    start: Callable[[], dict[str, str]],
    submission: dict[str, Any],
    lambda_context: Any = None,
) -> dict[str, str]:
    """`start()`, at most once per (caller, key) in 24 h when `submission` has an Idempotency-Key;
    its "request" is what the key's later uses must repeat (POST /exports' body, or a retry's export)."""
    key = submission["key"]
    if key is None:
        return start()
    if not IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key", "must be 1 to 128 printable ASCII characters")
    if not adapters.settings.idempotency_table:
        raise invalid("Idempotency-Key", "is not supported by this deployment")
    run = _idempotent_runner(adapters.settings)
    return run(submission=submission, start=start, lambda_context=lambda_context)


def _answer_by(adapters: Adapters, lambda_context: Any, received_at: float | None = None) -> float | None:
    """When the AI Studios call must be over. What may follow it: two AWS calls at their worst
    (abandoning the export, or saving the idempotency record) and a second of slack. And the
    earlier of the function's timeout and API Gateway's 29 s, which count from the request's arrival:
    on a cold start that is before the init phase (up to 10 s), which the function's timeout does not
    count; in an environment initialized ahead of demand (provisioned concurrency, the local stack's
    warmed workers) it is now, however long ago the init ran (counted from the init, such a first
    request was answered 503). A request cannot have waited for its function longer than an init
    phase: an older arrival time (a sample event's) counts as that."""
    reserve = 2 * adapters.settings.aws_call_worst_seconds() + 1
    by_function = answer_deadline(lambda_context, reserve)
    if by_function is None:
        return None
    waited = 0.0 if received_at is None else min(max(0.0, time.time() - received_at), INIT_LIMIT_SECONDS)
    return min(by_function, time.monotonic() - waited + API_GATEWAY_LIMIT_SECONDS - reserve)


def _start(
    adapters: Adapters,
    request: ExportRequest,
    trigger: str,
    answer_by: float | None,
    webhook_receiver: str | None = None,
) -> dict[str, str]:
    record = start_export(
        adapters, request, trigger=trigger, answer_by=answer_by, webhook_receiver=webhook_receiver
    )
    return {"exportId": record.export_id, "status": record.status.value}


@functools.cache
def _idempotent_runner(settings: Settings) -> Callable[..., dict[str, str]]:
    """A start that Powertools' idempotency utility runs at most once per (caller, key) in 24 h."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        # The key is the caller's own: two principals sending the same key never share an answer.
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=IDEMPOTENCY_HOURS * 3600,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto_config=settings.aws_config()
    )

    @idempotent_function(data_keyword_argument="submission", persistence_store=persistence, config=config)  # type: ignore[untyped-decorator]
    def run(submission: dict[str, Any], start: Callable[[], dict[str, str]]) -> dict[str, str]:
        return start()  # the submission is the key and what it must repeat; `start` does the work

    def call(*, lambda_context: Any, **arguments: Any) -> dict[str, str]:
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)
        with _idempotency_conflicts():
            result: dict[str, str] = run(**arguments)
        return result

    return call


@contextlib.contextmanager
def _idempotency_conflicts() -> Iterator[None]:
    """Powertools' idempotency errors, as the API's conflicts."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    try:
        yield
    except IdempotencyValidationError:
        raise ConflictError(
            "this Idempotency-Key was already used with a different request body",
            code="IdempotencyKeyReused",
            status=422,
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed",
            code="RequestInProgress",
            retry_after=2,
        ) from None
