"""Whether the poll's next wait may be ended early by a confirmed webhook ("armed"), and how long
it then is. The poll decides this; the receiver (webhooks/) only ends a wait that was armed."""

from __future__ import annotations

import math
from datetime import datetime

from ..adapters import Adapters
from ..clock import parse_iso
from ..errors import ExportNotFoundError
from ..models import ExportRecord

ARM_FACTOR = 2  # a planned wait at least this many times the shortest may be ended early


def webhook_wait(
    record: ExportRecord, wait: int, *, min_wait: float, settled: bool, read_at: datetime
) -> tuple[int, bool]:
    """The poll's next wait, and whether a confirmed webhook may end it early.

    Armed only for exports with a receiver, until a webhook's 100 has been confirmed, and only for
    waits of at least ARM_FACTOR times the shortest: an armed round costs at most 14 history events
    instead of 9, so over twice the time it never adds up to more than the shortest rounds do (the
    arithmetic is in template.yaml). A 100 confirmed after the poll read the progress means "look
    again now": one 1 s wait, once (the next poll reads after the confirmation).
    """
    if record.webhook_token_hash is None or settled:
        return wait, False
    if record.webhook_confirmed_at is not None:
        return (1, False) if parse_iso(record.webhook_confirmed_at) > read_at else (wait, False)
    return wait, wait >= ARM_FACTOR * max(1, math.ceil(min_wait))


def outage_wait(adapters: Adapters, export_id: str, wait: int, *, read_at: datetime) -> tuple[int, bool]:
    """An AI Studios outage makes the poll wait the longest wait: just when a webhook, confirmed
    once AI Studios is back, saves the most. (A withdrawn export has no record: nothing to arm.)"""
    try:
        record = adapters.store.get(export_id)
    except ExportNotFoundError:
        return wait, False
    return webhook_wait(
        record, wait, min_wait=adapters.settings.poll_min_wait_seconds, settled=False, read_at=read_at
    )
