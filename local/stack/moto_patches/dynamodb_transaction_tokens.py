"""A TransactWriteItems repeated with its ClientRequestToken is answered, not applied again.

DynamoDB makes TransactWriteItems idempotent by its ClientRequestToken for 10 minutes: a repeat of
a transaction that succeeded answers success without writing again (and a repeat whose items differ
is refused with IdempotentParameterMismatchException). boto3 fills the token in itself and keeps it
across its retries, so a transaction whose answer was lost to a read timeout is retried harmlessly.
moto ignores the token: the retry runs the transaction again, and its conditions (a project lease
`attribute_not_exists`, say) now fail against the first attempt's own writes, so a start that
succeeded ends in TransactionCanceledException, locally only, and only when moto is slow.

The patch remembers each successful transaction's token and items for 10 minutes and answers a
repeat as DynamoDB does."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

IDEMPOTENCY_SECONDS = 600


def apply() -> None:
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_local_stack_tokens", False):
        return
    original = DynamoHandler.transact_write_items
    done: dict[str, tuple[float, str, Any]] = {}  # token -> (when, the items, the answer)
    lock = threading.Lock()

    class IdempotentParameterMismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__(
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            )

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        items = json.dumps(self.body.get("TransactItems"), sort_keys=True)
        with lock:
            now = time.monotonic()
            for stale in [t for t, (when, _, _) in done.items() if now - when > IDEMPOTENCY_SECONDS]:
                del done[stale]
            if token in done:
                _, seen, answer = done[token]
                if seen != items:
                    raise IdempotentParameterMismatch()
                return answer
            answer = original(self)
            done[token] = (now, items, answer)
            return answer

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoHandler._local_stack_tokens = True  # type: ignore[attr-defined]
