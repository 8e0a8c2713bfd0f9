"""Synthetic videos as the CDN serves them: the payload generated once into an anonymous temporary
file, then sent from it with ``sendfile``, paced per connection.

Generating the payload (SHAKE-128 blocks) costs about 4 s of CPU per GiB; generated again on every
download, it made the simulator, not the client, the bottleneck of ``make bench-delivery`` on a
small machine. The bytes served are exactly ``iter_synthetic_video``'s. One file per size: a video
that ends with a render's identity box differs from the base video only in its ``mdat`` header and
its last bytes, which are sent from memory.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

from .throttle import paced
from .video import VideoSource, _synthetic_header, iter_synthetic_video

#: Bytes per paced ``sendfile`` call (about 10 ms at 25 MB/s).
SEND_STEP = 256 * 1024
_WRITE_CHUNK = 1024 * 1024
_KEEP_SIZES = 4

_files: dict[int, BinaryIO] = {}
_locks: dict[int, threading.Lock] = {}
_guard = threading.Lock()


def payload_file(size: int) -> BinaryIO:
    """The base synthetic video of ``size`` bytes in a temporary file, written on first use (the
    first caller of a size waits for it; others of that size wait for the same file)."""
    with _guard:
        lock = _locks.setdefault(size, threading.Lock())
    with lock:
        with _guard:
            found = _files.get(size)
        if found is not None:
            return found
        spooled = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the process's downloads
        for chunk in iter_synthetic_video(size, chunk_size=_WRITE_CHUNK):
            spooled.write(chunk)
        spooled.flush()
        with _guard:
            if len(_files) >= _KEEP_SIZES:  # forget the oldest; a download still sending keeps it open
                del _files[next(iter(_files))]
            _files[size] = spooled
        return spooled


def pieces(video: VideoSource, start: int, end: int) -> Iterator[bytes | range]:
    """Body bytes ``[start, end)`` as in-memory bytes (the header, a trailer) and ranges of
    ``payload_file(video.size)`` (the payload), the ranges at most ``SEND_STEP`` long."""
    header = _synthetic_header(video.size, len(video.trailer))
    payload_end = video.size - len(video.trailer)
    if len(header) != len(_synthetic_header(video.size)):  # mdat moved to 64 bits: no shared file
        yield from iter_synthetic_video(video.size, start, end - start, trailer=video.trailer)
        return
    if start < len(header):
        yield header[start : min(end, len(header))]
    for offset in range(max(start, len(header)), min(end, payload_end), SEND_STEP):
        yield range(offset, min(offset + SEND_STEP, end, payload_end))
    if end > payload_end:
        yield video.trailer[max(start, payload_end) - payload_end : end - payload_end]


def send_synthetic(
    video: VideoSource,
    start: int,
    end: int,
    connection: socket.socket,
    bytes_per_second: float | None,
    on_bytes: Callable[[int], None],
) -> None:
    """Send body bytes ``[start, end)`` of a synthetic ``video`` on ``connection``, paced to
    ``bytes_per_second`` per connection."""
    source = payload_file(video.size)
    for piece in paced(pieces(video, start, end), bytes_per_second):
        if isinstance(piece, range):
            if connection.sendfile(source, piece.start, len(piece)) != len(piece):
                raise BrokenPipeError("the video file ended early")
        else:
            connection.sendall(piece)
        on_bytes(len(piece))
