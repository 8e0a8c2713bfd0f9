"""The printed model: what one export uses, then for each volume a table of limits (need, limit,
share used, what to raise), the request queue, the first limit reached and the cost per month."""

from __future__ import annotations

from .costs import MonthlyCost
from .figures import PerExport
from .limits import Assessed
from .queue import QueueState

START_WITHIN = 5.0  # seconds: the start latency MaxConcurrentStarts is sized for


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def print_figures(one: PerExport) -> None:
    print(f"One export (a {one.video_gib:.2f} GiB video), on average:")
    print(
        f"  {one.polls:.2f} polls, {one.transitions:.1f} state transitions, {one.lambda_seconds:.1f} Lambda seconds"
        f" ({one.gb_seconds:.2f} GB-s), {one.s3_puts} S3 PUTs, {one.table_writes} table writes"
        f" ({one.index_writes} in the status index), {one.aistudios_requests:.1f} AI Studios API calls,"
        f" open {one.lifetime_seconds / 60:.1f} min"
    )
    for source in one.sources:
        print(f"  - {source}")


def print_volume(
    volume: float,
    rows: list[Assessed],
    queue: QueueState,
    first: Assessed,
    cost: MonthlyCost,
    starts_needed: int,
) -> None:
    print(f"\n== {volume:,.0f} exports an hour ({volume / 3600:.2f} a second) ==")
    print(f"{'limit':<58} {'need':>12} {'limit':>12} {'used':>7}  raise")
    for row in rows:
        limit = "unknown" if row.value is None else _number(row.value)
        use = "-" if row.use is None else f"{row.use:.0%}"
        flag = " <- over" if row.use is not None and row.use >= 1 else ""
        print(
            f"{row.limit.what:<58} {_number(row.need):>12} {limit:>12} {use:>7}  {row.limit.raise_by}{flag}"
        )
    state = "over capacity: the backlog grows" if queue.overloaded else "within capacity"
    print(
        f"request queue: {state}; depth {_number(queue.depth)} (after an hour), start latency"
        f" {_number(queue.start_latency)} s; MaxConcurrentStarts for a mean start within {START_WITHIN:.0f} s:"
        f" {starts_needed}"
    )
    use = first.use or 0.0
    verdict = "reached" if use >= 1 else f"at {use:.0%}"
    print(f"first limit reached: {first.limit.what} ({verdict}; raise: {first.limit.raise_by})")
    print(
        f"cost per month: ${cost.total:,.2f} (${cost.variable:,.2f} for {cost.exports:,.0f} exports,"
        f" ${cost.per_export_total:.5f} each, X-Ray ${cost.xray:,.2f} of it; fixed ${cost.fixed:,.2f});"
        f" storing a month of videos: ${cost.storage:,.0f} a month more"
    )
