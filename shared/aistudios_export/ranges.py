"""Reading a video's bytes: how to cut it into parts, fetching one range with resume, the MP4 check.

A dropped connection re-requests only the bytes still missing (bounded attempts); every range is
checked against the length it must have."""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable

import crc32c
import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from .errors import DeliveryVerificationError, PermanentUpstreamError, TransientUpstreamError

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10_000
READ_CHUNK = 256 * 1024
"""Bytes read from a connection at a time."""
RANGE_ATTEMPTS = 4
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


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


def fetch_range(
    get: Callable[..., requests.Response],
    url: str,
    start: int,
    end: int,
    *,
    attempts: int = RANGE_ATTEMPTS,
    on_bytes: Callable[[int], None] | None = None,
) -> bytes:
    """Bytes [start, end) of `url`, resuming after a dropped connection from the first missing byte."""
    want = end - start
    buffer = bytearray(want)
    view = memoryview(buffer)
    got = 0
    for _ in range(attempts):
        try:
            with get(url, headers={"Range": f"bytes={start + got}-{end - 1}"}) as response:
                if response.status_code != 206:
                    raise (
                        refusal(response.status_code)
                        if response.status_code >= 300
                        else (
                            DeliveryVerificationError("the host ignored the byte range", code="RangeIgnored")
                        )
                    )
                _check_content_range(response.headers.get("Content-Range", ""), start + got, end - 1)
                for chunk in response.iter_content(chunk_size=READ_CHUNK):
                    if got + len(chunk) > want:
                        raise DeliveryVerificationError(
                            "a range came back longer than asked", code="SizeMismatch"
                        )
                    view[got : got + len(chunk)] = chunk
                    got += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            Urllib3Error,
        ):
            pass  # resume below from the first missing byte
        if got == want:
            view.release()
            return bytes(buffer)  # immutable for the upload: the mutable buffer is dropped right after
    raise TransientUpstreamError(
        f"bytes {start}-{end - 1}: {got} of {want} received after {attempts} attempts", code="RangeIncomplete"
    )


def _check_content_range(header: str, first: int, last: int) -> None:
    match = _CONTENT_RANGE.match(header.strip())
    if not match or (int(match[1]), int(match[2])) != (first, last):
        raise DeliveryVerificationError(
            f"asked for bytes {first}-{last}, got {header or 'no Content-Range'}", code="SizeMismatch"
        )


def check_mp4(head: bytes) -> None:
    """An MP4 starts with its ftyp box; an HTML or JSON error page is refused before any completion."""
    if len(head) >= 8 and head[4:8] != b"ftyp":
        raise PermanentUpstreamError("the download is not an MP4 file", code="NotAVideo")


def read_upto(response: requests.Response, size: int) -> bytearray:
    """The first `size` bytes of a streamed body, or as many as arrived before the connection dropped."""
    buffer = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=READ_CHUNK):
            buffer += chunk
            if len(buffer) >= size:
                break
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout):
        pass
    return buffer[:size] if len(buffer) > size else buffer


class ObjectDigest:
    """The whole object's SHA-256 (ours, for the record and notifications) and CRC32C (the
    full-object checksum S3 verifies on completion), fed the bytes in order."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._crc32c = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._sha256.update(data)
        self._crc32c = crc32c.crc32c(data, self._crc32c)

    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def crc32c(self) -> str:
        return base64.b64encode(self._crc32c.to_bytes(4, "big")).decode()


def part_crc32c(data: bytes | bytearray) -> str:
    """A part's CRC32C, base64, as S3 expects it in ChecksumCRC32C."""
    return base64.b64encode(crc32c.crc32c(data).to_bytes(4, "big")).decode()


def crc32c_combine(crc1: int, crc2: int, length2: int) -> int:
    """CRC32C of A+B from CRC32C(A), CRC32C(B) and len(B) (zlib's GF(2) method, Castagnoli
    polynomial): the full-object checksum of parts uploaded by different attempts."""
    operator = [0x82F63B78] + [1 << n for n in range(31)]  # appends one zero bit
    for _ in range(3):
        operator = _gf2_square(operator)  # ... then 2, 4, 8 zero bits: one zero byte
    while length2 > 0:
        if length2 & 1:
            crc1 = _gf2_times(operator, crc1)
        length2 >>= 1
        if length2:
            operator = _gf2_square(operator)
    return crc1 ^ crc2


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def content_length(response: requests.Response) -> int | None:
    """The body's announced length, unless it is compressed in transit (then it says nothing)."""
    raw = response.headers.get("Content-Length")
    if raw is None or response.headers.get("Content-Encoding"):
        return None
    try:
        return int(raw)
    except ValueError:
        return None
