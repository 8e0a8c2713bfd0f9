"""What one export uses, from the same sources as the other benchmarks: polls from a small replay of
the real planner (`aistudios_export.waiting.next_wait`) over the polling benchmark's simulated
renders, state transitions read from the ASL (`polling_bench.costs.transitions_from_asl`), function
memory, part size and the start queue's cap read from template.yaml, and the figures docs/costs.md
and the store's tests measured (named below, with where they come from)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT, keep_samples, next_wait
from benchmarks.polling_bench.costs import INVOCATION_SECONDS, transitions_from_asl
from benchmarks.polling_bench.renders import NOISE_MAX, WOBBLE_MAX, make_renders
from local.stack.template import load_template

DEADLINE_SECONDS = 30 * 60  # the template's default ExportDeadlineMinutes
START_SECONDS = (
    1.0  # a start: record + lease, execution, the project look and the export POST (docs/costs.md)
)
DELIVERY_SECONDS_PER_GIB = 25.0  # Deliver at 1,024 MB for a 1 GiB video (docs/costs.md)
TABLE_WRITES = 25  # exports table writes in an export's life (docs/costs.md)
TABLE_READS = 15
STATUS_INDEX_WRITES = 7  # byStatusKeys (tests/unit/store/test_status_index.py; docs/operations.md)
STATUS_PARTITION_WRITES = 2  # of those, per status partition: a put entering it, a delete leaving it
LIFECYCLE_EVENTS = 5  # Export State Change events (docs/costs.md)
NOTIFICATIONS = 1
S3_PUTS_BESIDES_PARTS = 5  # create and complete the upload, tagging, the thumbnail, slack for a retry
QUEUE_REQUESTS = 3  # SQS send, receive, delete of an Export Requested message
MAX_PARTS = 10_000  # S3's limit: the part size grows past it


@dataclass(frozen=True)
class PerExport:
    """One export, on average, with where the model's numbers come from in `sources`."""

    polls: float
    render_seconds: float  # from the request to the poll that sees 100
    transitions: float
    start_seconds: float
    delivery_seconds: float
    poll_seconds: float
    start_memory_gb: float
    poll_memory_gb: float
    delivery_memory_gb: float
    s3_puts: int
    table_writes: int
    index_writes: int
    table_reads: int
    status_partition_writes: int
    lifecycle_events: int
    notifications: int
    queue_requests: int
    aistudios_requests: float  # API calls: the project look, the export POST, each poll, the download URL
    video_gib: float
    sources: tuple[str, ...]

    @property
    def invocations(self) -> float:
        return 1 + self.polls + 1  # start, polls, delivery

    @property
    def lambda_seconds(self) -> float:
        return self.start_seconds + self.polls * self.poll_seconds + self.delivery_seconds

    @property
    def gb_seconds(self) -> float:
        return (
            self.start_seconds * self.start_memory_gb
            + self.polls * self.poll_seconds * self.poll_memory_gb
            + self.delivery_seconds * self.delivery_memory_gb
        )

    @property
    def lifetime_seconds(self) -> float:
        """An execution open: the render, the poll that sees it done, the delivery."""
        return self.render_seconds + self.delivery_seconds


@cache
def replay(renders: int = 300, seed: int = 20240610) -> tuple[float, float]:
    """Mean polls and mean seconds to the poll that sees 100, over the polling benchmark's renders,
    as the state machine runs the planner (the first wait the shortest, no webhooks)."""
    polls, seen = [], []
    for render in make_renders(renders, seed, NOISE_MAX, WOBBLE_MAX):
        samples: list[tuple[float, float]] = []
        now, wait, count = 0.0, float(DEFAULT_MIN_WAIT), 0
        while True:
            count, now = count + 1, now + wait
            progress = render.progress(now)
            if progress >= 100 or now >= DEADLINE_SECONDS:
                break
            samples = keep_samples([*samples, (now, progress)])
            now += INVOCATION_SECONDS
            wait = next_wait(
                samples,
                min_wait=DEFAULT_MIN_WAIT,
                max_wait=DEFAULT_MAX_WAIT,
                seconds_left=DEADLINE_SECONDS - now,
            )
        polls.append(count)
        seen.append(now)
    return statistics.fmean(polls), statistics.fmean(seen)


def template_settings(template: dict[str, Any] | None = None) -> dict[str, float]:
    """The settings the model reads from template.yaml: memory sizes, part size, the queue's cap,
    the API stage's steady rate."""
    template = template or load_template()
    memory = float(template["Globals"]["Function"]["MemorySize"])
    resources, parameters = template["Resources"], template["Parameters"]
    stage = resources["ExportsApi"]["Properties"]["MethodSettings"][0]
    return {
        "memory_gb": memory / 1024,
        "delivery_memory_gb": float(resources["DeliverExportFunction"]["Properties"]["MemorySize"]) / 1024,
        "part_mib": float(parameters["DeliveryPartSizeMB"]["Default"]),
        "max_concurrent_starts": float(parameters["MaxConcurrentStarts"]["Default"]),
        "api_rate": float(stage["ThrottlingRateLimit"]),
    }


def parts_for(video_gib: float, part_mib: float) -> int:
    """Parts of a multipart upload: the part size grows so that no video needs more than 10,000."""
    size_mib = video_gib * 1024
    return max(1, math.ceil(size_mib / max(part_mib, size_mib / MAX_PARTS)))


def per_export(video_gib: float = 1.0, renders: int = 300) -> PerExport:
    polls, render_seconds = replay(renders)
    steps = transitions_from_asl()
    settings = template_settings()
    return PerExport(
        polls=polls,
        render_seconds=render_seconds,
        transitions=steps.plain * polls + steps.done,
        start_seconds=START_SECONDS,
        delivery_seconds=DELIVERY_SECONDS_PER_GIB * video_gib,
        poll_seconds=INVOCATION_SECONDS,
        start_memory_gb=settings["memory_gb"],
        poll_memory_gb=settings["memory_gb"],
        delivery_memory_gb=settings["delivery_memory_gb"],
        s3_puts=parts_for(video_gib, settings["part_mib"]) + S3_PUTS_BESIDES_PARTS,
        table_writes=TABLE_WRITES,
        index_writes=STATUS_INDEX_WRITES,
        table_reads=TABLE_READS,
        status_partition_writes=STATUS_PARTITION_WRITES,
        lifecycle_events=LIFECYCLE_EVENTS,
        notifications=NOTIFICATIONS,
        queue_requests=QUEUE_REQUESTS,
        aistudios_requests=polls + 3,
        video_gib=video_gib,
        sources=(
            f"polls {polls:.2f}, render {render_seconds:.0f} s: the planner replayed over {renders} simulated renders",
            f"state transitions {steps.plain} a round + {steps.done} to the end ({steps.source})",
            f"memory {settings['memory_gb'] * 1024:.0f} MB (start, poll) and {settings['delivery_memory_gb'] * 1024:.0f} MB"
            f" (delivery), parts of {settings['part_mib']:.0f} MiB: template.yaml",
            "start 1 s, delivery 25 s a GiB, 25 table writes, 5 lifecycle events: docs/costs.md;"
            " 7 status-index writes: tests/unit/store/test_status_index.py",
        ),
    )


def with_video(figures: PerExport, video_gib: float) -> PerExport:
    """The same export with a video of another size (delivery time and parts scale with it)."""
    part_mib = template_settings()["part_mib"]
    return replace(
        figures,
        video_gib=video_gib,
        delivery_seconds=DELIVERY_SECONDS_PER_GIB * video_gib,
        s3_puts=parts_for(video_gib, part_mib) + S3_PUTS_BESIDES_PARTS,
    )
