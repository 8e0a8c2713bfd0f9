"""Reading a video's bytes: how to cut it into parts, fetching one range with resume, the MP4 check.

A dropped connection re-requests only the bytes still missing (bounded attempts); every range is
checked against the length it must have. Bytes go from the socket straight into the part's buffer,
and part buffers are reused (PartBuffers): a fresh 8 MiB buffer costs more in page faults than
reading into it does."""

from __future__ import annotations

import http.client
import math
import re
import threading
from collections.abc import Callable

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from ..errors import DeliveryVerificationError, PermanentUpstreamError, TransientUpstreamError
from .memory import too_large

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10_000
READ_CHUNK = MIB
"""Bytes read from a connection at a time (and counted, so a failed sibling stops the read)."""
RANGE_ATTEMPTS = 4
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_DROPPED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    Urllib3Error,
    http.client.HTTPException,
    OSError,  # read straight from the socket: a reset or a timeout, not wrapped by requests
)


def part_size_for(length: int, preferred: int) -> int:
    """The preferred part size, grown (in whole MiB) so that `length` needs at most 10,000 parts."""
    size = max(preferred, MIN_PART_SIZE, math.ceil(length / MAX_PARTS))
    return math.ceil(size / MIB) * MIB


def plan_ranges(length: int, part_size: int) -> list[tuple[int, int]]:
    """[start, end) of every part, in order."""
    return [(start, min(start + part_size, length)) for start in range(0, length, part_size)]


def refusal(status: int) -> Exception:
    """The error an HTTP status from the download host stands for."""
    if status == 429 or status >= 500:
        return TransientUpstreamError(f"download host answered HTTP {status}", code=f"HTTP{status}")
    code = {403: "DownloadForbidden", 404: "DownloadNotFound", 410: "DownloadExpired"}.get(
        status, f"HTTP{status}"
    )
    return PermanentUpstreamError(f"download host answered HTTP {status}", code=code, status=status)


class PartBuffers:
    """Buffers of one part size, handed back once a part is uploaded and hashed and reused for a
    later part; other sizes (the last part) are allocated as needed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> bytearray:
        with self._lock:
            if size == self.size and self._free:
                return self._free.pop()
        return bytearray(size)

    def give(self, buffer: bytearray) -> None:
        if len(buffer) == self.size:
            with self._lock:
                self._free.append(buffer)


def read_into(
    response: requests.Response, view: memoryview, on_bytes: Callable[[int], None] | None = None
) -> int:
    """Fill `view` from a streamed body; how many bytes arrived (fewer when the body ended or the
    connection dropped first: the caller resumes from there)."""
    readinto = _body_reader(response)
    got = 0
    try:
        while got < len(view):
            count = readinto(view[got : got + READ_CHUNK])
            if not count:
                break
            got += count
            if on_bytes is not None:
                on_bytes(count)
    except _DROPPED:
        pass
    return got


def _body_reader(response: requests.Response) -> Callable[[memoryview], int]:
    """readinto of the body: the http.client response under urllib3 itself when the body is plain
    (no copy between the socket and the buffer), else the raw stream's, else requests' (decoded)."""
    raw = response.raw
    plain = not response.headers.get("Content-Encoding")
    fp = getattr(raw, "_fp", None)
    if plain and isinstance(fp, http.client.HTTPResponse):
        return fp.readinto
    if plain and callable(getattr(raw, "readinto", None)) and not hasattr(raw, "_fp"):
        return raw.readinto
    chunks = response.iter_content(chunk_size=READ_CHUNK)
    pending = memoryview(b"")

    def decoded(view: memoryview) -> int:
        nonlocal pending
        if not pending:
            pending = memoryview(next(chunks, b""))
        count = min(len(view), len(pending))
        view[:count], pending = pending[:count], pending[count:]
        return count

    return decoded


def _reuse_connection(response: requests.Response) -> None:
    """Hand a fully read connection back to the pool (read past requests, it would be closed)."""
    fp = getattr(response.raw, "_fp", None)
    if isinstance(fp, http.client.HTTPResponse) and fp.isclosed():
        release = getattr(response.raw, "release_conn", None)
        if release is not None:
            release()


def fetch_range(
    get: Callable[..., requests.Response],
    url: str,
    start: int,
    end: int,
    *,
    into: bytearray | None = None,
    have: int = 0,
    attempts: int = RANGE_ATTEMPTS,
    on_bytes: Callable[[int], None] | None = None,
    total: int | None = None,
    limit: int | None = None,
) -> bytearray:
    """Bytes [start, end) of `url` in `into` (or a new buffer), of which the first `have` are there
    already, resuming after a dropped connection from the first missing byte. `total`: the video's
    length as planned, which every answer's Content-Range must repeat; one over `limit` is refused
    before its body is read."""
    want = end - start
    buffer = bytearray(want) if into is None else into
    if len(buffer) != want:
        raise ValueError(f"a buffer of {len(buffer)} bytes for a range of {want}")
    got = have
    with memoryview(buffer) as view:
        for _ in range(attempts):
            if got == want:
                break
            try:
                with get(url, headers={"Range": f"bytes={start + got}-{end - 1}"}) as response:
                    _check_range_answer(response, start + got, end - 1, total, limit)
                    got += read_into(response, view[got:], on_bytes)
                    if got == want:
                        if read_into(response, memoryview(bytearray(1))):
                            raise DeliveryVerificationError(
                                "a range came back longer than asked", code="SizeMismatch"
                            )
                        _reuse_connection(response)
            except _DROPPED:
                pass  # resume from the first missing byte
    if got != want:
        raise TransientUpstreamError(
            f"bytes {start}-{end - 1}: {got} of {want} received after {attempts} attempts",
            code="RangeIncomplete",
        )
    return buffer


def _check_range_answer(
    response: requests.Response, first: int, last: int, total: int | None, limit: int | None
) -> None:
    if response.status_code != 206:
        if response.status_code >= 300:
            raise refusal(response.status_code)
        raise DeliveryVerificationError("the host ignored the byte range", code="RangeIgnored")
    header = response.headers.get("Content-Range", "")
    match = _CONTENT_RANGE.match(header.strip())
    if not match or (int(match[1]), int(match[2])) != (first, last):
        raise DeliveryVerificationError(
            f"asked for bytes {first}-{last}, got {header or 'no Content-Range'}", code="SizeMismatch"
        )
    if match[3] == "*" or total is None:
        return
    if limit is not None and int(match[3]) > limit:
        raise too_large(int(match[3]), limit)
    if int(match[3]) != total:
        raise DeliveryVerificationError(
            f"the source now says the video has {match[3]} bytes, not {total}", code="SizeMismatch"
        )


MP4_HEAD = 8
"""Bytes that show an MP4: a box's 32-bit size, then its type, which for the first box is ftyp."""


def check_mp4(head: bytes | bytearray) -> None:
    """An MP4 starts with its ftyp box; an HTML or JSON error page is refused before any completion,
    and so is a body too short to hold the box's header. `head`: the body's first MP4_HEAD bytes (all
    of them, however the body arrived in chunks), or the whole body when it is shorter."""
    if len(head) < MP4_HEAD or head[4:MP4_HEAD] != b"ftyp":
        raise PermanentUpstreamError("the download is not an MP4 file", code="NotAVideo")


def content_length(response: requests.Response) -> int | None:
    """The body's announced length, unless it is compressed in transit (then it says nothing)."""
    raw = response.headers.get("Content-Length")
    if raw is None or response.headers.get("Content-Encoding"):
        return None
    try:
        return int(raw)
    except ValueError:
        return None
