"""Starting an export from a request, optionally made idempotent by the caller's Idempotency-Key."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .adapters import Adapters
from .errors import ConflictError
from .request import ExportRequest, invalid, parse_export_request
from .workflow import start_export

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
IDEMPOTENCY_HOURS = 24


def submit_request(
    adapters: Adapters,
    body: Any,
    *,
    trigger: str,
    idempotency_key: str | None = None,
    lambda_context: Any = None,
) -> dict[str, str]:
    """Validate and start an export; returns {"exportId", "status"}.

    With an idempotency key, a repeated submission (same key, same body) within 24 h returns the
    first answer instead of starting a second render; the same key with another body is refused.
    A submission that failed is not remembered, so it can be retried with the same key.
    """
    request = parse_export_request(body)
    if idempotency_key is None:
        return _start(adapters, request, trigger)
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid("Idempotency-Key", "must be 1 to 128 printable ASCII characters")
    table = adapters.settings.idempotency_table
    if not table:
        raise invalid("Idempotency-Key", "is not supported by this deployment")
    run = _idempotent_runner(table)
    return run(
        submission={"key": idempotency_key, "request": request.model_dump()},
        adapters=adapters,
        trigger=trigger,
        lambda_context=lambda_context,
    )


def _start(adapters: Adapters, request: ExportRequest, trigger: str) -> dict[str, str]:
    record = start_export(adapters, request, trigger=trigger)
    return {"exportId": record.export_id, "status": record.status.value}


@functools.cache
def _idempotent_runner(table_name: str) -> Callable[..., dict[str, str]]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=IDEMPOTENCY_HOURS * 3600,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table_name)

    @idempotent_function(data_keyword_argument="submission", persistence_store=persistence, config=config)  # type: ignore[untyped-decorator]
    def run(submission: dict[str, Any], adapters: Adapters, trigger: str) -> dict[str, str]:
        return _start(adapters, ExportRequest.model_validate(submission["request"]), trigger)

    def call(
        *, submission: dict[str, Any], adapters: Adapters, trigger: str, lambda_context: Any
    ) -> dict[str, str]:
        if lambda_context is not None:
            config.register_lambda_context(lambda_context)
        try:
            result: dict[str, str] = run(submission=submission, adapters=adapters, trigger=trigger)
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
        return result

    return call
