"""How large a video a delivery takes on, and how many connections it may open within its memory.

A video larger than the configured limit (MaxVideoBytes) is refused as soon as its size is known
(before any byte is fetched), or cut at the limit when the source does not say (one stream): without
a bound a lying or broken source is streamed until the function times out, five times over.

Each connection holds up to two parts at once (one being fetched, one being uploaded), so a copy
needs about 2 x workers x part size, plus what the process itself takes. The part size grows with
the video (S3 allows 10,000 parts), so the plan is made per video: as many workers as fit, at most
the configured number, and a refusal when not even one does (a multi-TB video in a 1 GB function),
before any byte is fetched. Lambda tells the function its memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE)."""

from __future__ import annotations

from ..errors import PermanentUpstreamError

MIB = 1024 * 1024
GIB = 1024 * MIB
BASE_MEMORY = 80 * MIB
"""The interpreter, the SDK, the layer and the connections' own buffers: about 70 MiB measured
(`make bench-delivery`'s peak RSS less its part buffers), and some slack."""
DEFAULT_MAX_VIDEO_BYTES = 10 * GIB
"""template.yaml's MaxVideoBytes default, which says why."""


def too_large(size: int, limit: int, *, announced: bool = True) -> PermanentUpstreamError:
    """The refusal of a video over `limit` bytes (`announced`: by its Content-Length or Content-Range;
    else counted as it streamed)."""
    said = f"the source announces {size} bytes" if announced else f"the download passed {limit} bytes"
    return PermanentUpstreamError(
        f"{said}, over the {limit}-byte limit (MaxVideoBytes)", code="VideoTooLarge"
    )


def workers_within(memory: int | None, part_size: int, preferred: int) -> int:
    """The workers to use for parts of `part_size` bytes in `memory` bytes (None: no limit known)."""
    if memory is None:
        return max(1, preferred)
    fits = (memory - BASE_MEMORY) // (2 * part_size)
    if fits < 1:
        raise PermanentUpstreamError(
            f"parts of {part_size // MIB} MiB do not fit in {memory // MIB} MiB of memory",
            code="VideoTooLarge",
        )
    return int(min(max(1, preferred), fits))


def planned_memory(workers: int, part_size: int) -> int:
    return BASE_MEMORY + 2 * workers * part_size
