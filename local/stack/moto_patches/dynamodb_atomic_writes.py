"""DynamoDB applies each write, a transaction included, atomically.

moto does not when callers write at once: a transaction checks its conditions and writes without
isolation, and when one fails it restores whole tables from a copy taken before, undoing other
callers' writes made in between (webhook receivers and armed waits write to the exports table while
starts contend for a project's lease).

The patch takes one lock around moto's write operations (PutItem, UpdateItem, DeleteItem,
TransactWriteItems), which makes each atomic, as on AWS."""

from __future__ import annotations

import threading
from typing import Any


def apply() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_local_stack_locked", False):
        return
    lock = threading.RLock()  # a transaction's own puts and updates take it again
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._local_stack_locked = True  # type: ignore[attr-defined]
