"""The single-stream copy, for a source that serves no ranges or announces no length: the body cut
into parts as it arrives, one part in memory at a time, nothing on disk.

The MP4 check reads the body's first bytes however they are chunked (a first chunk of one byte
once let an error page through), before any part is uploaded; a stream past the size limit is cut
there rather than copied until the function times out."""

from __future__ import annotations

from collections.abc import Callable

import requests

from .checksums import ObjectDigest
from .memory import too_large
from .ranges import MP4_HEAD, check_mp4

STREAM_CHUNK = 1024 * 1024


def copy_stream(
    response: requests.Response, part: int, limit: int, put: Callable[[bytes], object]
) -> tuple[int, ObjectDigest]:
    """Every byte of `response` handed to `put` in parts of `part` bytes (the last one shorter, and at
    least one part); the bytes copied and their digests."""
    digest = ObjectDigest()
    buffer, head = bytearray(), bytearray()
    total = parts = 0
    for chunk in response.iter_content(chunk_size=STREAM_CHUNK):
        if len(head) < MP4_HEAD:
            head += chunk[: MP4_HEAD - len(head)]
            if len(head) == MP4_HEAD:
                check_mp4(head)
        total += len(chunk)
        if total > limit:
            raise too_large(total, limit, announced=False)
        digest.update(chunk)
        buffer += chunk
        if len(buffer) >= part:
            put(bytes(buffer))
            buffer, parts = bytearray(), parts + 1
    if total and len(head) < MP4_HEAD:
        check_mp4(head)  # shorter than an MP4's first box header: refused
    if buffer or not parts:
        put(bytes(buffer))
    return total, digest
