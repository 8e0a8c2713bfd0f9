"""Whether the poll's next wait may be ended early by a confirmed webhook ("armed"), and how long
it then is. The poll decides this; the receiver (webhooks/) only ends a wait that was armed.

While this export's webhooks are arriving (`webhooks_arriving`), a confirmed 100 ends the wait, so
the wait need not land just after the finish: it is made long enough to be armed, and armed. When
they stop arriving (a milestone the render passed a poll ago never came: lost, disabled, slow),
the planned waits hold on their own, and are armed only when they are long enough anyway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from ..adapters import Adapters
from ..clock import parse_iso
from ..errors import ExportNotFoundError
from ..models import ExportRecord
from ..waiting import Sample

MILESTONES = (25.0, 50.0, 75.0)
"""Progress levels at which AI Studios posts a webhook before its 100."""
ARM_MIN_SECONDS = 16
"""No wait shorter than this is armed (with a shortest wait of 10 s or more; see `arm_from`)."""
ARM_FACTOR = 2
"""With a shortest wait under 10 s (the local stack), twice it is long enough to be armed."""
STRETCH = 4
"""While webhooks arrive, a wait below `STRETCH_BELOW` is this many times the planned one (raised
to `arm_from(min_wait)` first: at least 64 s with a shortest wait of 10 s)..."""
STRETCH_BELOW = MILESTONES[1]
"""...the halfway milestone. With half the render still to come a wait so long seldom spans the
finish, and one that does is late by its length when the 100's webhook is lost; nearer the end the
wait is not stretched. `make bench-polling` (BENCH_ARGS=--frontier for the variants), with 20% of
webhooks lost: p95 lag 14.4 s against 15.7 s for twice below 75, for 7.78 polls an export against
7.70 with all delivered (a fixed 60 s loop: 7.83); the price is in the tail, where a fast render
just below halfway finishes inside a stretched wait (p99 88 s against 77 s)."""


def arm_from(min_wait: float) -> int:
    """The shortest wait that may be armed. An armed round costs at most 14 history events, a plain
    one 9: armed waits of at least 16 s (14 / 16 = 0.875 events a second), or twice a shortest wait
    under 10 s, never add events faster than the shortest plain rounds the template allows (9 / 10 s),
    so the worst case stays the one template.yaml works out."""
    return min(ARM_MIN_SECONDS, ARM_FACTOR * max(1, math.ceil(min_wait)))


def _level(key: str) -> float | None:
    """The progress a taken webhook event stands for (its key ends with it: `[taskId:]progress`)."""
    try:
        return float(key.rsplit(":", 1)[-1])
    except ValueError:
        return None


def webhooks_arriving(events: Iterable[str], samples: Sequence[Sample]) -> bool:
    """Evidence that this export's webhooks arrive: at least one was confirmed, and every milestone
    the render had passed by the poll before this one has its webhook (one passed only now may
    still be on its way)."""
    levels = {_level(key) for key in events}
    seen_before = max((p for _, p in samples[:-1]), default=0.0)
    return bool(levels - {None}) and all(m in levels for m in MILESTONES if m <= seen_before)


def arm(
    wait: int,
    events: Iterable[str],
    samples: Sequence[Sample],
    *,
    min_wait: float,
    max_wait: float,
    seconds_left: float,
) -> tuple[int, bool]:
    """The planned `wait` of an export with a receiver and no confirmed 100 yet, and whether it is
    armed. While webhooks arrive it is made at least `arm_from(min_wait)`, and `STRETCH` times the
    planned one below `STRETCH_BELOW` (within `max_wait` and the deadline), and armed: a
    confirmed 100 ends it. Otherwise it stays as planned, armed if it is that long anyway."""
    shortest = arm_from(min_wait)
    if webhooks_arriving(events, samples) and shortest <= min(max_wait, seconds_left):
        wait = max(wait, shortest)
        if samples and samples[-1][1] < STRETCH_BELOW:
            wait = max(wait, int(min(max_wait, seconds_left, STRETCH * wait)))
    return wait, wait >= shortest


def webhook_wait(
    record: ExportRecord,
    wait: int,
    *,
    min_wait: float,
    settled: bool,
    read_at: datetime,
    samples: Sequence[Sample] = (),
    max_wait: float = math.inf,
    seconds_left: float = math.inf,
) -> tuple[int, bool]:
    """The poll's next wait, and whether a confirmed webhook may end it early (`arm`).

    Only for exports with a receiver, until a webhook's 100 has been confirmed. A 100 confirmed
    after the poll read the progress means "look again now": one 1 s wait, once (the next poll
    reads after the confirmation).
    """
    if record.webhook_token_hash is None or settled:
        return wait, False
    if record.webhook_confirmed_at is not None:
        return (1, False) if parse_iso(record.webhook_confirmed_at) > read_at else (wait, False)
    return arm(
        wait, record.webhook_events, samples, min_wait=min_wait, max_wait=max_wait, seconds_left=seconds_left
    )


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
